#include "control/mesh_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <spdlog/spdlog.h>

#include <asio/post.hpp>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>

#include "common/file.h"
#include "strait/mesh/v1/mesh.grpc.pb.h"
#include "tls/control_plane_name.h"
#include "tls/key_and_csr.h"
#include "tls/spiffe_id.h"

namespace strait::control {
namespace {

// The caller's SPIFFE ID when it presented a certificate that verified against our CA; "" when it
// presented none.
std::string peer_identity(const grpc::ServerContextBase& context) {
  auto auth = context.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return {};
  for (const char* property : {GRPC_PEER_SPIFFE_ID_PROPERTY_NAME, GRPC_X509_SAN_PROPERTY_NAME}) {
    for (const auto& value : auth->FindPropertyValues(property)) {
      std::string text(value.data(), value.size());
      if (text.starts_with("spiffe://")) return text;
    }
  }
  return {};
}

}  // namespace

class MeshServer::CertificateService final : public mesh::v1::Certificates::CallbackService {
 public:
  explicit CertificateService(MeshServer& owner) : owner_(owner) {}

  grpc::ServerUnaryReactor* Sign(grpc::CallbackServerContext* context, const mesh::v1::SignRequest* request,
                                 mesh::v1::SignResponse* response) override {
    auto* reactor = context->DefaultReactor();
    std::string peer = peer_identity(*context);
    std::string address = context->peer();
    std::uint64_t id = 0;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "straitd is stopping"));
        return reactor;
      }
      id = ++next_id_;
      pending_.emplace(id, reactor);
    }
    // Join tokens and the CA belong to the main thread; the call is finished from there, unless
    // straitd stops first (finish_pending).
    asio::post(owner_.io_, [this, id, request, response, peer = std::move(peer), address = std::move(address)] {
      {
        std::lock_guard lock(mutex_);
        if (!pending_.contains(id)) return;  // already finished by finish_pending()
      }
      grpc::Status status = sign(*request, peer, address, *response);
      grpc::ServerUnaryReactor* reactor = nullptr;
      {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(id);
        if (it == pending_.end()) return;
        reactor = it->second;
        pending_.erase(it);
      }
      reactor->Finish(std::move(status));
    });
    return reactor;
  }

  // Finishes the calls still waiting for the main thread (which may never run them again), so that
  // the server's shutdown does not wait for them; refuses new ones.
  void finish_pending() {
    std::map<std::uint64_t, grpc::ServerUnaryReactor*> pending;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      pending.swap(pending_);
    }
    for (auto& [id, reactor] : pending) reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "straitd is stopping"));
  }

 private:
  grpc::Status sign(const mesh::v1::SignRequest& request, const std::string& peer, const std::string& address,
                    mesh::v1::SignResponse& response) {
    auto refuse = [&](grpc::StatusCode code, const std::string& why) {
      spdlog::warn("certificate refused for {}{}: {}", address, peer.empty() ? "" : " (" + peer + ")", why);
      owner_.hub_.count_certificate(false);
      return grpc::Status(code, why);
    };
    std::optional<tls::SpiffeId> identity;
    if (!request.join_token().empty()) {
      auto token = owner_.join_tokens_.redeem(request.join_token());
      if (!token) return refuse(grpc::StatusCode::UNAUTHENTICATED, "join token refused: " + token.error());
      identity = tls::SpiffeId{owner_.ca_.trust_domain(), token->ns, token->service_account};
    } else if (!peer.empty()) {
      identity = tls::parse_spiffe_id(peer);
      if (!identity || identity->trust_domain != owner_.ca_.trust_domain())
        return refuse(grpc::StatusCode::PERMISSION_DENIED, "certificate " + peer + " is not of this mesh");
    } else {
      return refuse(grpc::StatusCode::UNAUTHENTICATED,
                    "send a join token (first certificate) or present your current certificate (renewal)");
    }
    if (identity->ns == tls::kControlPlaneNamespace && identity->service_account == tls::kControlPlaneServiceAccount)
      return refuse(grpc::StatusCode::PERMISSION_DENIED, "the control plane's identity is not issued to proxies");
    if (auto asked = ca::CertificateAuthority::requested_spiffe_id(request.csr_pem()); asked && *asked != identity->uri()) {
      return refuse(grpc::StatusCode::PERMISSION_DENIED,
                    "the CSR asks for " + *asked + " but the caller may only have " + identity->uri());
    }
    auto issued = owner_.ca_.sign(request.csr_pem(), *identity, owner_.cert_ttl_);
    if (!issued) return refuse(grpc::StatusCode::INVALID_ARGUMENT, issued.error());
    response.set_certificate_chain_pem(issued->chain_pem);
    response.set_trust_bundle_pem(owner_.ca_.trust_bundle());
    response.set_spiffe_id(identity->uri());
    response.set_not_after_unix(std::chrono::duration_cast<std::chrono::seconds>(
                                    issued->not_after.time_since_epoch()).count());
    owner_.hub_.count_certificate(true);
    spdlog::info("certificate issued to {} for {} (serial {}, {})", address, identity->uri(), issued->serial_hex,
                 request.join_token().empty() ? "renewal" : "join token");
    return grpc::Status::OK;
  }

  MeshServer& owner_;
  std::mutex mutex_;
  bool stopping_ = false;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, grpc::ServerUnaryReactor*> pending_;
};

namespace {

// One proxy's discovery stream. Reads run one at a time (the next is started after the previous is
// handled); writes are queued by the hub through send(), at most one in flight and one waiting.
class DiscoveryStream final : public grpc::ServerBidiReactor<mesh::v1::DiscoveryRequest, mesh::v1::DiscoveryResponse> {
 public:
  DiscoveryStream(grpc::CallbackServerContext* context, MeshHub& hub)
      : hub_(hub), identity_(peer_identity(*context)), sink_(std::make_shared<Sink>(this)) {
    if (identity_.empty()) {
      spdlog::warn("discovery stream from {} refused: no client certificate", context->peer());
      sink_->finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                 "the discovery stream needs the proxy's certificate (mTLS)"));
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      sink_->finish(grpc::Status::OK);
      return;
    }
    if (!attached_) {
      auto id = hub_.attach(sink_, request_.node(), identity_);
      if (!id) {
        spdlog::warn("discovery stream refused: {}", id.error());
        sink_->finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, id.error()));
        return;
      }
      attached_ = true;
    }
    if (request_.has_traffic()) {  // a report, not an answer to a push
      hub_.report_traffic(sink_.get(), request_.traffic());
      StartRead(&request_);
      return;
    }
    if (request_.has_tap()) {  // a tapped proxy's requests, likewise
      hub_.report_tap(sink_.get(), request_.tap());
      StartRead(&request_);
      return;
    }
    hub_.answer(sink_.get(), request_);
    if (request_.leaving()) {
      sink_->finish(grpc::Status::OK);  // the proxy is draining: end the stream from here
      return;
    }
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override { sink_->write_done(ok); }

  void OnDone() override {
    hub_.detach(sink_.get());
    sink_->ended();
    delete this;
  }

 private:
  class Sink final : public StreamSink {
   public:
    explicit Sink(DiscoveryStream* stream) : stream_(stream) {}
    void send(mesh::v1::DiscoveryResponse response) override {
      enqueue(std::move(response), waiting_);
    }
    bool send_tap(std::uint32_t seconds) override {
      mesh::v1::DiscoveryResponse control;
      control.mutable_tap()->set_seconds(seconds);
      return enqueue(std::move(control), waiting_tap_);
    }
    void close(const std::string& reason) override {
      finish(grpc::Status(grpc::StatusCode::ABORTED, reason));
    }
    void finish(grpc::Status status) {
      std::lock_guard lock(mutex_);
      if (stream_ == nullptr || finished_) return;
      finished_ = true;
      stream_->Finish(std::move(status));
    }
    void write_done(bool ok) {
      std::lock_guard lock(mutex_);
      writing_ = false;
      if (!ok || finished_ || stream_ == nullptr) return;
      // A waiting push goes first; a tap control after it.
      auto& next = waiting_ ? waiting_ : waiting_tap_;
      if (!next) return;
      writing_ = true;
      in_flight_ = std::move(*next);
      next.reset();
      stream_->StartWrite(&in_flight_);
    }
    void ended() {
      std::lock_guard lock(mutex_);
      stream_ = nullptr;
    }

   private:
    // Writes `message` now, or puts it in `slot` (replacing what waits there) while a write is in
    // flight; false when the stream has ended.
    bool enqueue(mesh::v1::DiscoveryResponse message,
                 std::optional<mesh::v1::DiscoveryResponse>& slot) {
      std::lock_guard lock(mutex_);
      if (stream_ == nullptr || finished_) return false;
      if (writing_) {
        slot = std::move(message);
        return true;
      }
      writing_ = true;
      in_flight_ = std::move(message);
      stream_->StartWrite(&in_flight_);
      return true;
    }

    std::mutex mutex_;
    DiscoveryStream* stream_;
    bool finished_ = false;
    bool writing_ = false;
    mesh::v1::DiscoveryResponse in_flight_;
    std::optional<mesh::v1::DiscoveryResponse> waiting_;
    std::optional<mesh::v1::DiscoveryResponse> waiting_tap_;
  };

  MeshHub& hub_;
  std::string identity_;
  std::shared_ptr<Sink> sink_;
  mesh::v1::DiscoveryRequest request_;
  bool attached_ = false;
};

}  // namespace

class MeshServer::DiscoveryService final : public mesh::v1::Discovery::CallbackService {
 public:
  explicit DiscoveryService(MeshHub& hub) : hub_(hub) {}
  grpc::ServerBidiReactor<mesh::v1::DiscoveryRequest, mesh::v1::DiscoveryResponse>* StreamConfig(
      grpc::CallbackServerContext* context) override {
    return new DiscoveryStream(context, hub_);
  }

 private:
  MeshHub& hub_;
};

MeshServer::MeshServer(asio::io_context& io, MeshHub& hub, const ca::CertificateAuthority& ca,
                       store::JoinTokenStore& join_tokens, std::chrono::seconds cert_ttl,
                       std::string data_dir)
    : io_(io),
      hub_(hub),
      ca_(ca),
      join_tokens_(join_tokens),
      cert_ttl_(cert_ttl),
      data_dir_(std::move(data_dir)) {}

MeshServer::~MeshServer() { shutdown(); }

namespace {

// Key and certificate chain in one file (mode 0600), given to gRPC as both: one rename replaces
// the pair, so a reload never reads a key with another key's certificate. (PEM readers skip the
// blocks of the other kind.)
constexpr std::string_view kServingFile = "straitd-serving.pem";
constexpr unsigned kCredentialsRefreshSeconds = 1;

}  // namespace

std::expected<void, std::string> MeshServer::reissue_serving_certificate() {
  // A fresh key at every start and every signer change; its certificate lasts a year.
  const tls::SpiffeId self{ca_.trust_domain(), std::string(tls::kControlPlaneNamespace),
                           std::string(tls::kControlPlaneServiceAccount)};
  auto key = tls::make_key_and_csr(self.uri());
  if (!key) return std::unexpected(key.error());
  auto issued = ca_.sign(key->csr_pem, self, std::chrono::hours(24 * 365),
                         {std::string(tls::kControlPlaneServerName)});
  if (!issued) return std::unexpected("serving certificate: " + issued.error());
  const std::filesystem::path dir(data_dir_);
  return write_file_atomically((dir / kServingFile).string(),
                               issued->chain_pem + key->private_key_pem, 0600);
}

std::expected<proxy::HostPort, std::string> MeshServer::start(const proxy::HostPort& address) {
  if (auto ok = reissue_serving_certificate(); !ok) return std::unexpected(ok.error());
  const std::filesystem::path dir(data_dir_);
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      (dir / kServingFile).string(), (dir / kServingFile).string(), ca_.bundle_path(),
      kCredentialsRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  certificates_ = std::make_unique<CertificateService>(*this);
  discovery_ = std::make_unique<DiscoveryService>(hub_);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address.to_string(), grpc::experimental::TlsServerCredentials(options),
                           &port);
  builder.RegisterService(certificates_.get());
  builder.RegisterService(discovery_.get());
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  // Detect dead proxies even when idle: their endpoints must leave the mesh.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) return std::unexpected("cannot listen on " + address.to_string());
  return proxy::HostPort{address.host, static_cast<std::uint16_t>(port)};
}

void MeshServer::shutdown() {
  if (!server_) return;
  certificates_->finish_pending();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_.reset();
}

}  // namespace strait::control
