// Fuzzes the JWT verifier and the JWKS parser on any bytes: the input as a token against a fixed
// P-256 key set, and as a key set. Nothing may crash, and no token verifies (the fuzzer cannot
// sign for the key).
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/jwt.h"

using namespace strait::proxy;

namespace {

const JwksKeys& fixed_keys() {
  static const JwksKeys keys = *JwksKeys::parse(
      R"({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k",
                    "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
                    "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]})");
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  JwtRequirements requirements;
  requirements.issuer = "https://issuer.example";
  if (verify_jwt(input, fixed_keys(), requirements, std::chrono::system_clock::now())) std::abort();
  (void)JwksKeys::parse(input);
  (void)base64url_decode(input);
  return 0;
}
