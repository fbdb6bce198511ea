#include "agent/control_plane_client.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <future>
#include <optional>
#include <random>

#include "agent/mesh_view.h"
#include "agent/tap_report.h"
#include "agent/traffic_report.h"
#include "proxy/proxy_server.h"
#include "proxy/request_tap.h"
#include "strait/mesh/v1/mesh.grpc.pb.h"
#include "tls/control_plane_name.h"
#include "tls/key_and_csr.h"
#include "tls/spiffe_id.h"

namespace strait::agent {
namespace {

using Clock = std::chrono::system_clock;
using Stream = grpc::ClientReaderWriter<mesh::v1::DiscoveryRequest, mesh::v1::DiscoveryResponse>;

constexpr auto kInitialBackoff = std::chrono::milliseconds(250);
constexpr auto kMaxBackoff = std::chrono::milliseconds(4000);
constexpr auto kSignDeadline = std::chrono::seconds(10);
// How often the proxy tells straitd its request totals (the live traffic view's resolution is 10
// s).
constexpr auto kTrafficReportInterval = std::chrono::seconds(5);
// How often a tapped proxy sends the requests it saw (straitctl tap's latency), and the most one
// message carries.
constexpr auto kTapReportInterval = std::chrono::milliseconds(250);
constexpr std::size_t kMaxTapBatch = 1024;
// The longest tap a TapControl may ask for: a tap nobody renews ends within this.
constexpr std::uint32_t kMaxTapSeconds = 300;

// Doubles up to kMaxBackoff; each wait is the current step +-25%, so that proxies that lost straitd
// together do not return together.
class Backoff {
 public:
  std::chrono::milliseconds next() {
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    const auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(step_.count()) * jitter(rng_)));
    step_ = std::min(step_ * 2, kMaxBackoff);
    return wait;
  }
  void reset() { step_ = kInitialBackoff; }

 private:
  std::chrono::milliseconds step_ = kInitialBackoff;
  std::mt19937_64 rng_{std::random_device{}()};
};

std::shared_ptr<grpc::Channel> make_channel(const std::string& address, const std::string& roots,
                                            const tls::Credentials* identity) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = roots;
  if (identity != nullptr) {
    ssl.pem_private_key = identity->private_key_pem;
    ssl.pem_cert_chain = identity->certificate_chain_pem;
  }
  grpc::ChannelArguments args;
  // straitd is verified by its name in our CA's certificate, whatever address we dial.
  args.SetSslTargetNameOverride(std::string(tls::kControlPlaneServerName));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Keep pinging an idle stream (gRPC stops after two pings without data by default), so that a
  // straitd that vanished without closing is noticed.
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 4'000);
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

struct Issued {
  tls::Credentials credentials;
  std::string spiffe_id;
  std::int64_t not_after = 0;
};

struct SignFailure {
  std::string message;
  bool permanent = false;  // refused (do not retry the same request), not unreachable
};

// `cancel_slot` (guarded by `mutex`) holds the call's context while it runs, so that a stop
// request can cancel it.
std::expected<Issued, SignFailure> request_certificate(const std::string& address, const std::string& roots,
                                                       const tls::Credentials* current, const std::string& join_token,
                                                       const std::string& spiffe_uri, std::mutex& mutex,
                                                       grpc::ClientContext*& cancel_slot, const bool& stopping) {
  auto key = tls::make_key_and_csr(spiffe_uri);
  if (!key) return std::unexpected(SignFailure{key.error(), true});
  auto stub = mesh::v1::Certificates::NewStub(make_channel(address, roots, current));
  grpc::ClientContext context;
  context.set_deadline(Clock::now() + kSignDeadline);
  struct Slot {
    std::mutex& mutex;
    grpc::ClientContext*& slot;
    ~Slot() {
      std::lock_guard lock(mutex);
      slot = nullptr;
    }
  };
  {
    std::lock_guard lock(mutex);
    if (stopping) return std::unexpected(SignFailure{"stopped", true});
    cancel_slot = &context;
  }
  Slot clear{mutex, cancel_slot};
  mesh::v1::SignRequest request;
  request.set_csr_pem(key->csr_pem);
  request.set_join_token(join_token);
  mesh::v1::SignResponse response;
  const grpc::Status status = stub->Sign(&context, request, &response);
  if (!status.ok()) {
    const bool permanent = status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                           status.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
                           status.error_code() == grpc::StatusCode::INVALID_ARGUMENT;
    return std::unexpected(SignFailure{status.error_message().empty() ? "code " + std::to_string(status.error_code())
                                                                      : status.error_message(),
                                       permanent});
  }
  Issued issued;
  issued.credentials.certificate_chain_pem = response.certificate_chain_pem();
  issued.credentials.private_key_pem = std::move(key->private_key_pem);
  issued.credentials.trust_bundle_pem = response.trust_bundle_pem();
  issued.spiffe_id = response.spiffe_id();
  issued.not_after = response.not_after_unix();
  return issued;
}

}  // namespace

struct ControlPlaneClient::State {
  ControlPlaneOptions options;
  proxy::ProxyServer* server = nullptr;
  std::string inbound_address;

  std::mutex mutex;  // guards everything below
  std::condition_variable wake;
  bool stopping = false;
  tls::Credentials credentials;
  std::string issuer_key_id;  // of `credentials`: which CA signed them
  std::int64_t not_after = 0;
  Clock::time_point received_at;
  // The roots straitd's certificate is verified with: --ca-bundle, then the trust bundle of each
  // view applied (so that a root rotation reaches the control-plane connection too).
  std::string control_plane_roots;
  bool renew_now = false;  // the view names another signer: renew before the half-life
  grpc::ClientContext* stream_context = nullptr;
  grpc::ClientContext* sign_context = nullptr;
  Stream* stream = nullptr;  // set once the hello is written; cleared when the stream ends
  std::mutex write_mutex;    // one writer at a time on the stream

  // Waits `duration` unless stopping; returns false when stopping.
  bool sleep_for(std::chrono::milliseconds duration) {
    std::unique_lock lock(mutex);
    return !wake.wait_for(lock, duration, [&] { return stopping; });
  }
  void write(const mesh::v1::DiscoveryRequest& request) {
    std::lock_guard writer(write_mutex);
    Stream* s = nullptr;
    {
      std::lock_guard lock(mutex);
      s = stream;
    }
    if (s != nullptr) s->Write(request);
  }
};

ControlPlaneClient::ControlPlaneClient(ControlPlaneOptions options) : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  state_->control_plane_roots = state_->options.ca_bundle_pem;
}

ControlPlaneClient::~ControlPlaneClient() {
  request_stop();
  if (discovery_thread_.joinable()) discovery_thread_.join();
  if (identity_thread_.joinable()) identity_thread_.join();
  if (report_thread_.joinable()) report_thread_.join();
}

void ControlPlaneClient::request_stop() {
  // Runs on the proxy's main thread at drain: it must not block. The identity thread says goodbye
  // to straitd and ends the stream (farewell()).
  std::lock_guard lock(state_->mutex);
  if (state_->stopping) return;
  state_->stopping = true;
  if (state_->sign_context != nullptr) state_->sign_context->TryCancel();
  state_->wake.notify_all();
}

void ControlPlaneClient::farewell() {
  auto& s = *state_;
  // Tell straitd that this proxy is leaving, so that the other proxies stop sending here at once;
  // straitd answers by ending the stream. Whatever happens, the stream is cancelled after 500 ms.
  {
    std::lock_guard writer(s.write_mutex);
    Stream* stream = nullptr;
    {
      std::lock_guard lock(s.mutex);
      stream = s.stream;
    }
    if (stream != nullptr) {
      mesh::v1::DiscoveryRequest leaving;
      leaving.set_leaving(true);
      if (stream->Write(leaving)) stream->WritesDone();
    }
  }
  std::unique_lock lock(s.mutex);
  s.wake.wait_for(lock, std::chrono::milliseconds(500), [&] { return s.stream_context == nullptr; });
  if (s.stream_context != nullptr) s.stream_context->TryCancel();
}

std::expected<tls::Credentials, std::string> ControlPlaneClient::first_certificate(std::chrono::seconds give_up_after) {
  auto& s = *state_;
  const auto deadline = std::chrono::steady_clock::now() + give_up_after;
  const std::string want = s.options.base.workload.spiffe_id();
  Backoff backoff;
  while (true) {
    auto issued =
        request_certificate(s.options.address, s.options.ca_bundle_pem, nullptr,
                            s.options.join_token, want, s.mutex, s.sign_context, s.stopping);
    if (issued) {
      if (issued->spiffe_id != want) {
        return std::unexpected("the join token is for " + issued->spiffe_id + ", but this proxy was started as " +
                               want + " (--namespace/--service-account)");
      }
      std::lock_guard lock(s.mutex);
      s.credentials = issued->credentials;
      s.issuer_key_id = tls::issuer_key_id_of(issued->credentials.certificate_chain_pem);
      s.not_after = issued->not_after;
      s.received_at = Clock::now();
      spdlog::info("certificate obtained from {}: {}", s.options.address, issued->spiffe_id);
      return issued->credentials;
    }
    if (issued.error().permanent) return std::unexpected("straitd refused the certificate: " + issued.error().message);
    if (std::chrono::steady_clock::now() >= deadline)
      return std::unexpected("cannot reach straitd at " + s.options.address + ": " + issued.error().message);
    const auto wait = backoff.next();
    spdlog::warn("straitd at {} unavailable ({}); retrying in {} ms", s.options.address, issued.error().message,
                 wait.count());
    if (!s.sleep_for(wait)) return std::unexpected("stopped");
  }
}

void ControlPlaneClient::start(proxy::ProxyServer& server) {
  state_->server = &server;
  state_->inbound_address = state_->options.advertise_address.empty() ? server.bound().inbound.to_string()
                                                                      : state_->options.advertise_address;
  discovery_thread_ = std::thread([this] { discovery_loop(); });
  identity_thread_ = std::thread([this] { identity_loop(); });
  report_thread_ = std::thread([this] { report_loop(); });
}

void ControlPlaneClient::discovery_loop() {
  auto& s = *state_;
  const auto& base = s.options.base;
  Backoff backoff;
  std::string applied_version;
  bool synced_once = false;
  while (true) {
    tls::Credentials credentials;
    std::int64_t not_after = 0;
    std::string issuer_key_id;
    std::string roots;
    {
      std::lock_guard lock(s.mutex);
      if (s.stopping) return;
      credentials = s.credentials;
      not_after = s.not_after;
      issuer_key_id = s.issuer_key_id;
      roots = s.control_plane_roots;
    }
    auto stub = mesh::v1::Discovery::NewStub(make_channel(s.options.address, roots, &credentials));
    grpc::ClientContext context;
    {
      // Published before the call exists: a cancel issued meanwhile is honoured when it starts.
      std::lock_guard lock(s.mutex);
      if (s.stopping) return;
      s.stream_context = &context;
    }
    std::unique_ptr<Stream> stream = stub->StreamConfig(&context);
    mesh::v1::DiscoveryRequest hello;
    auto* node = hello.mutable_node();
    node->set_workload(base.workload.name);
    node->set_namespace_(base.workload.ns);
    node->set_service_account(base.workload.service_account);
    node->mutable_labels()->insert(base.workload.labels.begin(), base.workload.labels.end());
    for (const auto& inbound : base.inbound_services) {
      auto* port = node->add_ports();
      port->set_service(inbound.name);
      port->set_port(inbound.port);
      port->set_protocol(std::string(proxy::name_of(inbound.protocol)));
      port->set_target_port(inbound.target_port);
    }
    node->set_inbound_address(s.inbound_address);
    node->set_proxy_version(STRAIT_VERSION);
    node->add_capabilities("tap");
    hello.set_version_info(applied_version);
    hello.set_certificate_not_after_unix(not_after);
    hello.set_certificate_issuer_key_id(issuer_key_id);
    if (stream->Write(hello)) {
      std::lock_guard lock(s.mutex);
      s.stream = stream.get();  // now others may write (status updates, leaving)
    }

    mesh::v1::DiscoveryResponse response;
    while (stream->Read(&response)) {
      backoff.reset();
      if (response.has_tap()) {  // a tap control, not a view: nothing to apply or answer
        const auto seconds = std::min(response.tap().seconds(), kMaxTapSeconds);
        s.server->tap()->tap_for(std::chrono::seconds(seconds));
        spdlog::debug("straitd taps this proxy for {} s", seconds);
        continue;
      }
      auto view = config_from_view(base, response);
      std::expected<void, std::string> verdict;
      if (!view) {
        verdict = std::unexpected(view.error());
      } else {
        // The config and the trust bundle it carries are applied in one step on the main thread,
        // so that a refused view changes neither.
        std::string bundle = view->trust_bundle_pem;
        const std::string signer = view->signer_key_id;
        auto future = s.server->post_config(std::move(view->config), view->trust_bundle_pem);
        // The main thread answers unless it has stopped (then so are we).
        bool stopping = false;
        while (!stopping && future.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
          std::lock_guard lock(s.mutex);
          stopping = s.stopping;
        }
        if (stopping) break;
        verdict = future.get();
        if (verdict) {
          std::lock_guard lock(s.mutex);
          if (!bundle.empty()) s.control_plane_roots = std::move(bundle);
          // A root rotation's reissue: the CA signs with another certificate than ours came from.
          if (!signer.empty() && signer != s.issuer_key_id && !s.renew_now) {
            spdlog::info("straitd signs with a new CA certificate ({}): renewing now", signer);
            s.renew_now = true;
            s.wake.notify_all();
          }
        }
      }
      mesh::v1::DiscoveryRequest answer;
      answer.set_response_nonce(response.nonce());
      {
        std::lock_guard lock(s.mutex);
        answer.set_certificate_not_after_unix(s.not_after);
        answer.set_certificate_issuer_key_id(s.issuer_key_id);
      }
      if (verdict) {
        applied_version = response.version_info();
        if (!synced_once) spdlog::info("first config from straitd applied: version {}", applied_version);
        else spdlog::debug("config {} applied", applied_version);
        synced_once = true;
      } else {
        answer.set_error_detail(verdict.error());
        spdlog::error("config {} refused, keeping {}: {}", response.version_info(),
                      applied_version.empty() ? "none" : applied_version, verdict.error());
      }
      answer.set_version_info(applied_version);
      s.write(answer);
    }
    {
      std::lock_guard writer(s.write_mutex);
      std::lock_guard lock(s.mutex);
      s.stream = nullptr;
      s.stream_context = nullptr;
      if (s.stopping) context.TryCancel();
      s.wake.notify_all();  // farewell() waits for the stream to end
    }
    // A tap belongs to the stream that asked for it.
    s.server->tap()->tap_for(std::chrono::seconds(0));
    const grpc::Status status = stream->Finish();
    {
      std::lock_guard lock(s.mutex);
      if (s.stopping) return;
    }
    const auto wait = backoff.next();
    spdlog::warn("control plane stream ended ({}); serving with config {} and reconnecting in {} ms",
                 status.error_message().empty() ? "closed" : status.error_message(),
                 applied_version.empty() ? "none" : applied_version, wait.count());
    if (!s.sleep_for(wait)) return;
  }
}

void ControlPlaneClient::report_loop() {
  auto& s = *state_;
  constexpr auto kTicksPerTrafficReport = kTrafficReportInterval / kTapReportInterval;
  std::vector<proxy::AccessLogRecord> tapped;
  for (std::int64_t tick = 1; s.sleep_for(kTapReportInterval); ++tick) {
    bool connected = false;
    {
      std::lock_guard lock(s.mutex);
      connected = s.stream != nullptr;
    }
    tapped.clear();
    const std::uint64_t dropped = s.server->tap()->drain(tapped, kMaxTapBatch);
    if (connected && (!tapped.empty() || dropped > 0)) {
      mesh::v1::DiscoveryRequest request;
      *request.mutable_tap() = tap_batch_from(tapped, dropped);
      s.write(request);
    }
    // Reconnecting: the next stream gets the totals (they are cumulative).
    if (!connected || tick % kTicksPerTrafficReport != 0) continue;
    std::vector<const proxy::IstioMetrics*> metrics;
    for (const auto& worker : s.server->workers()) metrics.push_back(&worker->istio_metrics());
    mesh::v1::DiscoveryRequest request;
    *request.mutable_traffic() = collect_traffic_report(metrics);
    if (request.traffic().series_size() > 0) s.write(request);
  }
}

void ControlPlaneClient::identity_loop() {
  renew_until_stopped();
  farewell();
}

void ControlPlaneClient::renew_until_stopped() {
  auto& s = *state_;
  const std::string want = s.options.base.workload.spiffe_id();
  while (true) {
    Clock::time_point renew_at;
    std::int64_t not_after = 0;
    {
      std::unique_lock lock(s.mutex);
      not_after = s.not_after;
      const auto expiry = Clock::from_time_t(static_cast<std::time_t>(not_after));
      renew_at = s.received_at + (expiry - s.received_at) / 2;
      s.wake.wait_until(lock, renew_at, [&] { return s.stopping || s.renew_now; });
      if (s.stopping) return;
      s.renew_now = false;
    }
    // Renew: over mTLS with the current certificate while it is valid, else with the join token.
    while (true) {
      tls::Credentials current;
      std::string roots;
      {
        std::lock_guard lock(s.mutex);
        if (s.stopping) return;
        current = s.credentials;
        roots = s.control_plane_roots;
      }
      const bool expired = Clock::now() >= Clock::from_time_t(static_cast<std::time_t>(not_after));
      auto issued = request_certificate(s.options.address, roots, expired ? nullptr : &current,
                                        expired ? s.options.join_token : std::string(), want,
                                        s.mutex, s.sign_context, s.stopping);
      if (issued && issued->spiffe_id == want) {
        {
          // The trust bundle is the discovery stream's business: ProxyServer::post_credentials keeps
          // the one in force. Posted under the lock so that posts reach the main thread in the order
          // of these updates.
          std::lock_guard lock(s.mutex);
          s.credentials = issued->credentials;
          s.issuer_key_id = tls::issuer_key_id_of(issued->credentials.certificate_chain_pem);
          s.not_after = issued->not_after;
          s.received_at = Clock::now();
          s.server->post_credentials(issued->credentials);
        }
        mesh::v1::DiscoveryRequest status;
        status.set_certificate_not_after_unix(issued->not_after);
        {
          std::lock_guard lock(s.mutex);
          status.set_certificate_issuer_key_id(s.issuer_key_id);
        }
        s.write(status);
        break;
      }
      const std::string why = issued ? "issued for " + issued->spiffe_id : issued.error().message;
      // Retry well before expiry: every tenth of what is left, between 1 s and 30 s.
      const auto left = Clock::from_time_t(static_cast<std::time_t>(not_after)) - Clock::now();
      const auto wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(left / 10),
                                   std::chrono::milliseconds(1000), std::chrono::milliseconds(30'000));
      {
        std::lock_guard lock(s.mutex);
        if (s.stopping) return;
      }
      spdlog::warn("certificate renewal failed ({}{}); retrying in {} ms", why,
                   expired ? ", the certificate has expired" : "", wait.count());
      if (!s.sleep_for(wait)) return;
    }
  }
}

}  // namespace strait::agent
