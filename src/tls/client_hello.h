// The server name (SNI) of a TLS ClientHello, read from the first bytes of a connection without
// terminating TLS: how a sidecar routes TLS passthrough traffic by VirtualService tls[] sniHosts.
// Hand-written because OpenSSL parses a ClientHello only inside a handshake it runs itself; the
// parser reads the first TLS record only (a ClientHello fits one record in practice) and never
// reads past what it is given.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace strait::tls {

struct ClientHelloSni {
  enum class Status : std::uint8_t {
    kNeedMore,  // the first record is not complete yet: read more and ask again
    kNotTls,    // the bytes are not a TLS handshake record carrying a ClientHello
    kDone,      // the ClientHello was read; `server_name` is its host name ("" : none)
  };
  Status status = Status::kNeedMore;
  std::string server_name;  // lower case, without a trailing dot
};

// `bytes` are the connection's first bytes, as many as have arrived.
[[nodiscard]] ClientHelloSni read_client_hello_sni(std::string_view bytes);

}  // namespace strait::tls
