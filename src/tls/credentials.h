// Workload TLS credentials (certificate chain, private key, trust bundle) and the OpenSSL contexts
// built from them. Contexts are immutable once built: rotation builds new ones and publishes them in
// a new config snapshot, so connections in flight keep the context they started with.
#pragma once

#include <chrono>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tls/spiffe_id.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_st X509;

namespace asio::ssl {
class context;
}

namespace strait::tls {

struct Credentials {
  std::string certificate_chain_pem;  // leaf first, then intermediates
  std::string private_key_pem;
  std::string trust_bundle_pem;       // one or more root certificates
};

// What the proxy knows about its own certificate, for /config_dump and stats.
struct CertificateInfo {
  std::string spiffe_id;
  std::chrono::system_clock::time_point not_after;
  std::string serial_hex;
  std::string issuer_key_id;  // authority key identifier, hex: which CA signed it
};

// ALPN protocol ids used between sidecars. "strait-tcp" carries an opaque TCP stream whose target is
// named by the SNI (see ARCHITECTURE.md, "the wire between sidecars").
inline constexpr std::string_view kAlpnHttp11 = "http/1.1";
inline constexpr std::string_view kAlpnH2 = "h2";
inline constexpr std::string_view kAlpnTcp = "strait-tcp";

struct TlsContexts {
  std::shared_ptr<asio::ssl::context> server;  // inbound: requires a client certificate
  std::shared_ptr<asio::ssl::context> client;  // outbound: presents our certificate
  CertificateInfo certificate;
};

// Builds TLS 1.3-only server and client contexts from PEM credentials. Fails with a one-line
// reason (unreadable PEM, key not matching the certificate, no SPIFFE URI SAN, empty bundle).
[[nodiscard]] std::expected<TlsContexts, std::string> build_contexts(const Credentials& creds);

// The authority key identifier (hex) of the first certificate of a PEM chain ("" without one):
// the subject key identifier of the CA that signed it.
[[nodiscard]] std::string issuer_key_id_of(const std::string& chain_pem);

// The first spiffe:// URI SAN of a certificate, if any.
[[nodiscard]] std::optional<std::string> spiffe_uri_of(X509* certificate);

// The verified peer's SPIFFE ID on an established connection, if the chain verified and it has one.
[[nodiscard]] std::optional<std::string> verified_peer_spiffe_id(SSL* ssl);

// The ALPN protocol the handshake selected ("" if none).
[[nodiscard]] std::string_view negotiated_alpn(SSL* ssl);

// Configures a client connection before its handshake: SNI and the ALPN protocol offered.
[[nodiscard]] bool prepare_client(SSL* ssl, const std::string& sni, std::string_view alpn);

}  // namespace strait::tls
