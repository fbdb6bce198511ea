#include "proxy/proxy_server.h"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/file.h"
#include "net/listener.h"
#include "proxy/access_log_writer.h"
#include "proxy/admin_server.h"
#include "proxy/listeners.h"
#include "proxy/request_tap.h"
#include "proxy/span_exporter.h"

namespace strait::proxy {
namespace {

// One acceptor per worker on the same port (SO_REUSEPORT): the kernel spreads connections across them.
std::expected<std::unique_ptr<asio::ip::tcp::acceptor>, std::string> open_acceptor(
    asio::io_context& io, const HostPort& address) {
  auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(io);
  auto port = net::open_listener(*acceptor, address.host, address.port, net::ReusePort::kYes);
  if (!port) return std::unexpected(port.error());
  return acceptor;
}

}  // namespace

ProxyServer::ProxyServer(ProxyConfig config)
    : config_(std::make_shared<const ProxyConfig>(std::move(config))) {}

ProxyServer::~ProxyServer() {
  for (auto& worker : workers_) worker->stop();
}

std::expected<tls::TlsContexts, std::string> ProxyServer::load_credentials() {
  if (config_->control_plane) {
    if (!memory_credentials_) return std::unexpected("no certificate yet");
    auto contexts = tls::build_contexts(*memory_credentials_);
    if (!contexts) return std::unexpected("certificate from the control plane: " + contexts.error());
    if (contexts->certificate.spiffe_id != config_->workload.spiffe_id())
      return std::unexpected("the control plane issued " + contexts->certificate.spiffe_id +
                             ", not this workload's identity " + config_->workload.spiffe_id());
    return contexts;
  }
  tls::Credentials creds;
  auto chain = read_file(config_->tls.certificate_chain);
  if (!chain) return std::unexpected(chain.error());
  auto key = read_file(config_->tls.private_key);
  if (!key) return std::unexpected(key.error());
  auto bundle = read_file(config_->tls.trust_bundle);
  if (!bundle) return std::unexpected(bundle.error());
  creds.certificate_chain_pem = std::move(*chain);
  creds.private_key_pem = std::move(*key);
  creds.trust_bundle_pem = std::move(*bundle);
  auto contexts = tls::build_contexts(creds);
  if (!contexts) return std::unexpected(config_->tls.certificate_chain + ": " + contexts.error());
  if (contexts->certificate.spiffe_id != config_->workload.spiffe_id()) {
    return std::unexpected(config_->tls.certificate_chain + ": the certificate is for " +
                           contexts->certificate.spiffe_id + ", not this workload's identity " +
                           config_->workload.spiffe_id());
  }
  return contexts;
}

void ProxyServer::post_credentials(tls::Credentials credentials) {
  asio::post(main_io_, [this, credentials = std::move(credentials)]() mutable {
    if (memory_credentials_ && !memory_credentials_->trust_bundle_pem.empty())
      credentials.trust_bundle_pem = memory_credentials_->trust_bundle_pem;  // the bundle in force
    auto previous = std::move(memory_credentials_);
    memory_credentials_ = std::move(credentials);
    auto contexts = load_credentials();
    if (!contexts) {
      spdlog::error("new certificate refused, keeping the current one: {}", contexts.error());
      memory_credentials_ = std::move(previous);
      return;
    }
    auto snapshot = build_snapshot(config_, std::move(*contexts), snapshot_->version + 1,
                                   &circuits_, &rate_limits_);
    if (!snapshot) return;
    spdlog::info("certificate renewed: {} (serial {})", (*snapshot)->tls.certificate.spiffe_id,
                 (*snapshot)->tls.certificate.serial_hex);
    publish(*snapshot);
  });
}

std::future<std::expected<void, std::string>> ProxyServer::post_config(ProxyConfig config,
                                                                       std::string trust_bundle_pem) {
  auto promise = std::make_shared<std::promise<std::expected<void, std::string>>>();
  auto future = promise->get_future();
  asio::post(main_io_, [this, promise, config = std::move(config), bundle = std::move(trust_bundle_pem)]() mutable {
    if (draining_) {
      promise->set_value(std::unexpected("the proxy is draining"));
      return;
    }
    auto shared = std::make_shared<const ProxyConfig>(std::move(config));
    tls::TlsContexts contexts = snapshot_->tls;
    std::optional<tls::Credentials> credentials;
    if (!bundle.empty() && memory_credentials_ && bundle != memory_credentials_->trust_bundle_pem) {
      credentials = *memory_credentials_;
      credentials->trust_bundle_pem = bundle;
      auto rebuilt = tls::build_contexts(*credentials);
      if (!rebuilt) {
        promise->set_value(std::unexpected("trust bundle: " + rebuilt.error()));
        return;
      }
      contexts = std::move(*rebuilt);
    }
    auto snapshot = build_snapshot(shared, std::move(contexts), snapshot_->version + 1, &circuits_,
                                   &rate_limits_);
    if (!snapshot) {
      promise->set_value(std::unexpected(snapshot.error()));
      return;
    }
    if (credentials) {
      memory_credentials_ = std::move(credentials);
      spdlog::info("trust bundle updated by the control plane");
    }
    config_ = std::move(shared);
    publish(*snapshot);
    ready_ = true;
    promise->set_value({});
  });
  return future;
}

std::vector<ProxyServer::FileStamp> ProxyServer::credential_stamps() const {
  std::vector<FileStamp> out;
  if (config_->control_plane) return out;
  for (const auto* path : {&config_->tls.certificate_chain, &config_->tls.private_key,
                           &config_->tls.trust_bundle}) {
    std::error_code ec;
    FileStamp stamp;
    stamp.modified = std::filesystem::last_write_time(*path, ec);
    stamp.size = std::filesystem::file_size(*path, ec);
    out.push_back(stamp);
  }
  return out;
}

namespace {

// The span exporter's targets, as the config's tracing providers say.
std::vector<ExportTarget> export_targets(const TracingConfig& tracing) {
  std::vector<ExportTarget> out;
  for (const auto& t : tracing.targets) {
    out.push_back({t.zipkin ? ExportTarget::Format::kZipkinJson : ExportTarget::Format::kOtlpJson,
                   t.url, t.bearer_token});
  }
  return out;
}

}  // namespace

void ProxyServer::publish(std::shared_ptr<const Snapshot> snapshot) {
  if (spans_ && (snapshot_ == nullptr ||
                 snapshot_->config->tracing.targets != snapshot->config->tracing.targets)) {
    spans_->set_targets(export_targets(snapshot->config->tracing));
    for (const auto& missing : snapshot->config->tracing.missing_providers)
      spdlog::warn(
          "tracing provider {} is not configured on the control plane: its spans are not sent",
          missing);
  }
  snapshot_ = snapshot;
  snapshot_time_ = std::chrono::system_clock::now();
  for (auto& worker : workers_) {
    asio::post(worker->io(), [w = worker.get(), snapshot] { w->set_snapshot(snapshot); });
  }
}

std::expected<void, std::string> ProxyServer::bind_listeners() {
  auto bind_everywhere = [&](const HostPort& address, ListenerSpec spec) -> std::expected<HostPort, std::string> {
    HostPort actual = address;
    for (auto& worker : workers_) {
      auto acceptor = open_acceptor(worker->io(), actual);
      if (!acceptor) return std::unexpected(acceptor.error());
      // Port 0 is resolved by the first bind; the other workers join that port.
      actual.port = (*acceptor)->local_endpoint().port();
      auto* raw = acceptor->get();
      worker->add_acceptor(std::move(*acceptor));
      asio::co_spawn(worker->io(), accept_loop(*worker, *raw, spec), asio::detached);
    }
    return actual;
  };
  auto outbound = bind_everywhere(config_->outbound_addr, {ListenerKind::kOutbound, nullptr});
  if (!outbound) return std::unexpected("outbound: " + outbound.error());
  bound_.outbound = *outbound;
  auto inbound = bind_everywhere(config_->inbound_addr, {ListenerKind::kInbound, nullptr});
  if (!inbound) return std::unexpected("inbound: " + inbound.error());
  bound_.inbound = *inbound;
  for (const auto& binding : config_->upstreams) {
    auto bound = bind_everywhere(binding.listen, {ListenerKind::kUpstreamBinding, &binding});
    if (!bound) return std::unexpected("upstream " + binding.service + ": " + bound.error());
    bound_.upstreams.push_back(*bound);
  }
  return {};
}

std::expected<void, std::string> ProxyServer::start() {
  auto contexts = load_credentials();
  if (!contexts) return std::unexpected(contexts.error());
  auto snapshot = build_snapshot(config_, std::move(*contexts), 1, &circuits_, &rate_limits_);
  if (!snapshot) return std::unexpected(snapshot.error());
  stamps_ = credential_stamps();
  ready_ = !config_->control_plane;  // with a control plane: once the first view is applied

  const int count = config_->concurrency > 0
                        ? config_->concurrency
                        : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  spans_ = std::make_unique<SpanExporter>(config_->workload.name + "." + config_->workload.ns,
                                          static_cast<std::size_t>(count));
  spans_->set_targets(export_targets(config_->tracing));
  spans_->start();
  auto access_log =
      AccessLogWriter::open(config_->access_log.path, static_cast<std::size_t>(count));
  if (!access_log) return std::unexpected("--access-log-file: " + access_log.error());
  access_log_ = std::move(*access_log);
  access_log_->start();
  tap_ = std::make_unique<RequestTap>(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    workers_.push_back(std::make_unique<Worker>(i));
    workers_.back()->set_snapshot(*snapshot);
    workers_.back()->set_span_exporter(spans_.get());
    workers_.back()->set_access_log(access_log_.get());
    workers_.back()->set_tap(tap_.get());
  }
  snapshot_ = *snapshot;
  snapshot_time_ = std::chrono::system_clock::now();
  listener_config_ = config_;
  if (auto bound = bind_listeners(); !bound) return bound;

  admin_ = std::make_unique<AdminServer>(main_io_, *this);
  auto admin_address = admin_->listen(config_->admin_addr);
  if (!admin_address) return std::unexpected("admin: " + admin_address.error());
  bound_.admin = *admin_address;

  for (auto& worker : workers_) worker->start();
  signals_.async_wait([this](std::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("received signal {}: draining", signal);
    begin_drain();
  });
  if (!config_->control_plane) watch_credentials();
  spdlog::info("strait-proxy {} up: workload {} ({}), outbound {}, inbound {}, admin {}, {} workers",
               STRAIT_VERSION, config_->workload.name, snapshot_->tls.certificate.spiffe_id,
               bound_.outbound.to_string(), bound_.inbound.to_string(), bound_.admin.to_string(),
               workers_.size());
  return {};
}

// Certificates and the trust bundle are re-read when their files change. A new set that does not
// load is logged and ignored: the proxy keeps serving with the last good one.
void ProxyServer::watch_credentials() {
  credential_timer_.expires_after(std::chrono::seconds(1));
  credential_timer_.async_wait([this](std::error_code ec) {
    if (ec || draining_) return;
    if (auto stamps = credential_stamps(); stamps != stamps_) {
      stamps_ = std::move(stamps);
      auto contexts = load_credentials();
      if (!contexts) {
        spdlog::error("certificate reload failed, keeping the current one: {}", contexts.error());
      } else {
        auto snapshot = build_snapshot(config_, std::move(*contexts), snapshot_->version + 1,
                                       &circuits_, &rate_limits_);
        if (snapshot) {
          spdlog::info("certificates reloaded: {} (serial {})", (*snapshot)->tls.certificate.spiffe_id,
                       (*snapshot)->tls.certificate.serial_hex);
          publish(*snapshot);
        }
      }
    }
    watch_credentials();
  });
}

void ProxyServer::begin_drain() {
  if (draining_) return;
  draining_ = true;
  credential_timer_.cancel();
  if (on_drain_) on_drain_();
  for (auto& worker : workers_) {
    asio::post(worker->io(), [w = worker.get()] { w->begin_drain(); });
  }
  poll_drain(std::chrono::steady_clock::now() + config_->limits.drain_timeout);
}

void ProxyServer::poll_drain(std::chrono::steady_clock::time_point deadline) {
  std::int64_t active = 0;
  for (const auto& worker : workers_) active += worker->active_connections();
  if (active == 0 || std::chrono::steady_clock::now() >= deadline) {
    if (active > 0) spdlog::warn("drain timeout: closing {} connections", active);
    else spdlog::info("drained");
    admin_.reset();
    main_io_.stop();
    return;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(50));
  drain_timer_.async_wait([this, deadline](std::error_code ec) {
    if (!ec) poll_drain(deadline);
  });
}

int ProxyServer::run() {
  main_io_.run();
  for (auto& worker : workers_) worker->stop();
  return exit_code_;
}

}  // namespace strait::proxy
