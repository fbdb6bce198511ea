// straitd's gRPC port (15012): certificate signing and the discovery streams (api/strait/mesh/v1).
//
// TLS with straitd's own certificate, issued by its CA for kControlPlaneServerName at start. A
// client certificate is optional at the handshake (a new proxy has none yet) but verified when
// present: signing with a join token needs none; renewal and discovery need one.
//
// The serving key and certificate, and the roots client certificates are verified against, are
// read from files in the data directory (straitd-serving.pem: key and chain, mode 0600 like
// ca.key; ca.crt) and re-read every second: gRPC 1.51 offers no other way to change a
// running server's credentials, and a root rotation must change both without a restart.
#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <expected>
#include <memory>
#include <string>

#include "ca/certificate_authority.h"
#include "control/mesh_hub.h"
#include "proxy/config.h"
#include "store/join_tokens.h"

namespace grpc {
class Server;
}

namespace strait::control {

class MeshServer {
 public:
  // `io` is straitd's main thread: join tokens and the CA are used there only.
  MeshServer(asio::io_context& io, MeshHub& hub, const ca::CertificateAuthority& ca,
             store::JoinTokenStore& join_tokens, std::chrono::seconds cert_ttl,
             std::string data_dir);
  ~MeshServer();
  MeshServer(const MeshServer&) = delete;
  MeshServer& operator=(const MeshServer&) = delete;

  // Starts serving on `address` (port 0 picks one); returns the bound address.
  [[nodiscard]] std::expected<proxy::HostPort, std::string> start(const proxy::HostPort& address);
  // Ends every stream (proxies reconnect elsewhere or later) and stops: certificate calls still
  // waiting for the main thread are answered UNAVAILABLE, streams are cancelled after 1 s.
  void shutdown();
  // A new serving key and certificate from the CA's current signer, written where the server
  // reads them (in use within a second). Called at start and when a rotation changes the signer.
  [[nodiscard]] std::expected<void, std::string> reissue_serving_certificate();

 private:
  class CertificateService;
  class DiscoveryService;
  asio::io_context& io_;
  MeshHub& hub_;
  const ca::CertificateAuthority& ca_;
  store::JoinTokenStore& join_tokens_;
  std::chrono::seconds cert_ttl_;
  std::string data_dir_;
  std::unique_ptr<CertificateService> certificates_;
  std::unique_ptr<DiscoveryService> discovery_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace strait::control
