#include "proxy/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace strait::proxy {
namespace {

using nlohmann::json;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};

std::shared_ptr<EVP_PKEY> from_params(const char* type, OSSL_PARAM* params) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
      EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
    key = nullptr;
  EVP_PKEY_CTX_free(ctx);
  return key != nullptr ? std::shared_ptr<EVP_PKEY>(key, PkeyFree{}) : nullptr;
}

std::expected<std::shared_ptr<EVP_PKEY>, std::string> rsa_key(const json& jwk) {
  if (!jwk.contains("n") || !jwk.contains("e") || !jwk["n"].is_string() || !jwk["e"].is_string())
    return std::unexpected("an RSA key needs \"n\" and \"e\"");
  auto n = base64url_decode(jwk["n"].get<std::string>());
  auto e = base64url_decode(jwk["e"].get<std::string>());
  if (!n || !e) return std::unexpected("an RSA key's \"n\" or \"e\" is not base64url");
  if (n->size() < 256) return std::unexpected("an RSA key must have at least 2048 bits");
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                           static_cast<int>(n->size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                           static_cast<int>(e->size()), nullptr);
  OSSL_PARAM_BLD* build = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  if (bn_n != nullptr && bn_e != nullptr && build != nullptr &&
      OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1)
    params = OSSL_PARAM_BLD_to_param(build);
  auto key = params != nullptr ? from_params("RSA", params) : nullptr;
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(build);
  BN_free(bn_n);
  BN_free(bn_e);
  if (!key) return std::unexpected("an RSA key OpenSSL refuses");
  return key;
}

std::expected<std::shared_ptr<EVP_PKEY>, std::string> ec_key(const json& jwk) {
  if (!jwk.contains("x") || !jwk.contains("y") || !jwk["x"].is_string() || !jwk["y"].is_string())
    return std::unexpected("an EC key needs \"x\" and \"y\"");
  auto x = base64url_decode(jwk["x"].get<std::string>());
  auto y = base64url_decode(jwk["y"].get<std::string>());
  if (!x || !y || x->size() != 32 || y->size() != 32)
    return std::unexpected("a P-256 key's \"x\" and \"y\" must be 32 bytes of base64url");
  std::string point = "\x04" + *x + *y;  // uncompressed (SEC 1 2.3.3)
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  auto key = from_params("EC", params);
  if (!key) return std::unexpected("an EC key that is not a point of P-256");
  return key;
}

bool verify_signature(const JwksKeys::Key& key, std::string_view signed_part,
                      const std::string& signature) {
  std::string der;
  if (key.ec) {
    // JWS carries r || s (32 bytes each); OpenSSL verifies a DER ECDSA-Sig-Value.
    if (signature.size() != 64) return false;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr);
    BIGNUM* s =
        BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr);
    if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
      BN_free(r);
      BN_free(s);
      ECDSA_SIG_free(sig);
      return false;
    }
    unsigned char* out = nullptr;
    const int length = i2d_ECDSA_SIG(sig, &out);
    ECDSA_SIG_free(sig);
    if (length <= 0) return false;
    der.assign(reinterpret_cast<const char*>(out), static_cast<std::size_t>(length));
    OPENSSL_free(out);
  }
  const std::string& bytes = key.ec ? der : signature;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      ctx != nullptr &&
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.key.get()) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                       reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::vector<std::string> strings_of(const json& value) {
  std::vector<std::string> out;
  if (value.is_string()) out.push_back(value.get<std::string>());
  if (value.is_array()) {
    for (const auto& v : value) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

}  // namespace

std::expected<std::string, std::string> base64url_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);  // tolerated padding
  if (text.size() % 4 == 1) return std::unexpected("not base64url (a stray character)");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    const int v = value(c);
    if (v < 0) return std::unexpected("not base64url");
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

std::expected<JwksKeys, std::string> JwksKeys::parse(std::string_view jwks_json) {
  const json jwks = json::parse(jwks_json, nullptr, false);
  if (jwks.is_discarded() || !jwks.is_object() || !jwks.contains("keys") ||
      !jwks["keys"].is_array())
    return std::unexpected("not a JSON Web Key Set (an object with a \"keys\" array)");
  JwksKeys out;
  std::string skipped;
  for (const auto& jwk : jwks["keys"]) {
    if (!jwk.is_object() || !jwk.contains("kty") || !jwk["kty"].is_string()) continue;
    const std::string kty = jwk["kty"].get<std::string>();
    const std::string alg =
        jwk.contains("alg") && jwk["alg"].is_string() ? jwk["alg"].get<std::string>() : "";
    Key key;
    if (jwk.contains("kid") && jwk["kid"].is_string()) key.kid = jwk["kid"].get<std::string>();
    std::expected<std::shared_ptr<EVP_PKEY>, std::string> made = std::unexpected("");
    if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
      made = rsa_key(jwk);
    } else if (kty == "EC" && (alg.empty() || alg == "ES256") && jwk.value("crv", "") == "P-256") {
      key.ec = true;
      made = ec_key(jwk);
    } else {
      skipped = "a " + kty + " key" + (alg.empty() ? "" : " for " + alg) +
                " (only RS256 and ES256 keys are used)";
      continue;
    }
    if (!made) {
      skipped = made.error();
      continue;
    }
    key.key = std::move(*made);
    out.keys_.push_back(std::move(key));
  }
  if (out.keys_.empty())
    return std::unexpected("no usable key" + (skipped.empty() ? std::string() : ": " + skipped));
  return out;
}

std::expected<VerifiedJwt, std::string> verify_jwt(std::string_view token, const JwksKeys& keys,
                                                   const JwtRequirements& requirements,
                                                   std::chrono::system_clock::time_point now) {
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return std::unexpected("not a compact JWS (three base64url parts)");
  const auto header_bytes = base64url_decode(token.substr(0, first));
  const auto payload_bytes = base64url_decode(token.substr(first + 1, second - first - 1));
  const auto signature = base64url_decode(token.substr(second + 1));
  if (!header_bytes || !payload_bytes || !signature)
    return std::unexpected("a part is not base64url");
  const json header = json::parse(*header_bytes, nullptr, false);
  if (header.is_discarded() || !header.is_object() || !header.contains("alg") ||
      !header["alg"].is_string())
    return std::unexpected("the header is not a JSON object with an \"alg\"");
  const std::string alg = header["alg"].get<std::string>();
  if (alg != "RS256" && alg != "ES256")
    return std::unexpected("alg " + alg + " is not accepted (RS256, ES256)");
  const bool ec = alg == "ES256";
  const std::string kid =
      header.contains("kid") && header["kid"].is_string() ? header["kid"].get<std::string>() : "";
  const std::string_view signed_part = token.substr(0, second);
  bool candidate = false;
  bool verified = false;
  for (const auto& key : keys.keys()) {
    if (key.ec != ec || (!kid.empty() && !key.kid.empty() && key.kid != kid)) continue;
    candidate = true;
    if (verify_signature(key, signed_part, *signature)) {
      verified = true;
      break;
    }
  }
  if (!candidate)
    return std::unexpected("no key of the JWKS for " + alg + (kid.empty() ? "" : " kid " + kid));
  if (!verified) return std::unexpected("the signature does not verify");
  const json payload = json::parse(*payload_bytes, nullptr, false);
  if (payload.is_discarded() || !payload.is_object())
    return std::unexpected("the payload is not a JSON object");
  VerifiedJwt out;
  out.issuer = payload.contains("iss") && payload["iss"].is_string()
                   ? payload["iss"].get<std::string>()
                   : "";
  if (out.issuer != requirements.issuer)
    return std::unexpected("issuer '" + out.issuer + "' is not '" + requirements.issuer + "'");
  out.subject = payload.contains("sub") && payload["sub"].is_string()
                    ? payload["sub"].get<std::string>()
                    : "";
  if (payload.contains("aud")) out.audiences = strings_of(payload["aud"]);
  if (!requirements.audiences.empty() &&
      std::ranges::none_of(out.audiences, [&](const std::string& a) {
        return std::ranges::find(requirements.audiences, a) != requirements.audiences.end();
      }))
    return std::unexpected("no accepted audience in the token");
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto skew = requirements.clock_skew.count();
  if (payload.contains("exp")) {
    if (!payload["exp"].is_number()) return std::unexpected("exp is not a number");
    if (payload["exp"].get<double>() + static_cast<double>(skew) <= static_cast<double>(seconds))
      return std::unexpected("the token has expired");
  }
  if (payload.contains("nbf")) {
    if (!payload["nbf"].is_number()) return std::unexpected("nbf is not a number");
    if (payload["nbf"].get<double>() - static_cast<double>(skew) > static_cast<double>(seconds))
      return std::unexpected("the token is not valid yet");
  }
  if (payload.contains("azp") && payload["azp"].is_string())
    out.presenter = payload["azp"].get<std::string>();
  for (const auto& [name, value] : payload.items()) {
    auto values = strings_of(value);
    if (!values.empty() || value.is_array()) out.claims.emplace_back(name, std::move(values));
  }
  return out;
}

}  // namespace strait::proxy
