// The proxy process: the main thread owns config, certificates, the admin endpoint and signals;
// N workers own the connections. See ARCHITECTURE.md.
#pragma once

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <expected>
#include <filesystem>
#include <functional>
#include <future>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/config.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"

namespace strait::proxy {

class AdminServer;

struct BoundAddresses {
  HostPort outbound;
  HostPort inbound;
  HostPort admin;
  std::vector<HostPort> upstreams;
};

class ProxyServer {
 public:
  explicit ProxyServer(ProxyConfig config);
  ~ProxyServer();

  // Control-plane mode: the credentials to start with (before start()).
  void set_initial_credentials(tls::Credentials credentials) { memory_credentials_ = std::move(credentials); }
  // Control-plane mode, any thread: a renewed certificate and key (the trust bundle in force is
  // kept), or a pushed view's config with the trust bundle it carries ("" : unchanged), applied
  // on the main thread in the order posted. The config's result says whether the config and the
  // bundle were applied together (an ACK) or why neither was (a NACK).
  void post_credentials(tls::Credentials credentials);
  [[nodiscard]] std::future<std::expected<void, std::string>> post_config(ProxyConfig config,
                                                                          std::string trust_bundle_pem = {});
  // Called on the main thread when SIGTERM starts the drain (the control-plane client stops).
  void on_drain(std::function<void()> callback) { on_drain_ = std::move(callback); }

  // Loads the certificates, starts the workers and binds every listener. A failure (unreadable
  // certificate, port in use) is reported in one line; nothing keeps running.
  [[nodiscard]] std::expected<void, std::string> start();
  // Serves until SIGTERM/SIGINT, then drains. Returns the process exit code.
  int run();

  // Main thread only (the admin server runs there).
  [[nodiscard]] const Snapshot& snapshot() const { return *snapshot_; }
  [[nodiscard]] const BoundAddresses& bound() const { return bound_; }
  [[nodiscard]] bool draining() const { return draining_; }
  // False in control-plane mode until the first view is applied.
  [[nodiscard]] bool ready() const { return ready_ && !draining_; }
  [[nodiscard]] const ProxyConfig& config() const { return *config_; }
  [[nodiscard]] const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }
  // The exporter of the workers' sampled spans (null before start()).
  [[nodiscard]] const SpanExporter* span_exporter() const { return spans_.get(); }
  [[nodiscard]] const AccessLogWriter* access_log() const { return access_log_.get(); }
  // The request tap (request_tap.h), after start(): straitd's taps switch it on; one thread drains
  // it.
  [[nodiscard]] RequestTap* tap() { return tap_.get(); }
  [[nodiscard]] std::chrono::system_clock::time_point snapshot_time() const { return snapshot_time_; }

 private:
  struct FileStamp {
    std::filesystem::file_time_type modified;
    std::uintmax_t size = 0;
    friend bool operator==(const FileStamp&, const FileStamp&) = default;
  };
  [[nodiscard]] std::expected<tls::TlsContexts, std::string> load_credentials();
  [[nodiscard]] std::vector<FileStamp> credential_stamps() const;
  void publish(std::shared_ptr<const Snapshot> snapshot);
  void watch_credentials();
  void begin_drain();
  void poll_drain(std::chrono::steady_clock::time_point deadline);
  [[nodiscard]] std::expected<void, std::string> bind_listeners();

  std::shared_ptr<const ProxyConfig> config_;
  // The config the listeners were bound from: they keep pointers into it, so it lives as long as
  // the server even when pushed views replace config_.
  std::shared_ptr<const ProxyConfig> listener_config_;
  std::optional<tls::Credentials> memory_credentials_;
  std::function<void()> on_drain_;
  bool ready_ = true;
  CircuitRegistry circuits_;  // connection-pool counts, carried from snapshot to snapshot
  RateLimitRegistry rate_limits_;  // rate-limit buckets, likewise
  std::shared_ptr<const Snapshot> snapshot_;
  std::chrono::system_clock::time_point snapshot_time_;
  std::vector<FileStamp> stamps_;
  BoundAddresses bound_;
  bool draining_ = false;
  int exit_code_ = 0;
  std::unique_ptr<SpanExporter> spans_;  // declared before workers_: destroyed after them
  std::unique_ptr<AccessLogWriter> access_log_;  // likewise
  std::unique_ptr<RequestTap> tap_;              // likewise
  std::vector<std::unique_ptr<Worker>> workers_;
  asio::io_context main_io_{1};
  asio::signal_set signals_{main_io_, SIGTERM, SIGINT};
  asio::steady_timer credential_timer_{main_io_};
  asio::steady_timer drain_timer_{main_io_};
  std::unique_ptr<AdminServer> admin_;
};

}  // namespace strait::proxy
