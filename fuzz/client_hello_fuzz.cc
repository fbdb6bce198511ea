// libFuzzer target for the ClientHello SNI reader (tls/client_hello.h): the first bytes of an
// application's connection, as a sidecar sees them before routing TLS passthrough traffic. Any
// input gives a status, never a crash or a read past the input; a name it gives is lower-case
// ASCII of DNS characters without a trailing dot; a record cut short reads as incomplete.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tls/client_hello.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto sni = strait::tls::read_client_hello_sni(bytes);
  for (const char c : sni.server_name) {
    const bool allowed =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    if (!allowed) {
      std::fprintf(stderr, "client_hello_fuzz: unexpected byte 0x%02x in the name\n",
                   static_cast<unsigned char>(c));
      std::abort();
    }
  }
  if (!sni.server_name.empty() &&
      (sni.status != strait::tls::ClientHelloSni::Status::kDone || sni.server_name.back() == '.'))
    std::abort();
  // Every prefix of a complete first record reads as incomplete, never as something else.
  if (sni.status == strait::tls::ClientHelloSni::Status::kDone) {
    const std::size_t record = 5 + ((static_cast<std::size_t>(data[3]) << 8) | data[4]);
    const auto cut = strait::tls::read_client_hello_sni(bytes.substr(0, record - 1));
    if (cut.status != strait::tls::ClientHelloSni::Status::kNeedMore) std::abort();
  }
  return 0;
}
