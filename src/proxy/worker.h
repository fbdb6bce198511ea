// A worker: one thread, one event loop, and everything a connection on it needs (config snapshot,
// upstream pool, stats). A connection lives its whole life on the worker that accepted it, so
// nothing here is shared with other workers and nothing needs a lock. The main thread talks to a
// worker only by posting work to its io_context.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "http2/h2_connection.h"
#include "net/stream.h"
#include "proxy/istio_metrics.h"
#include "proxy/outlier_detection.h"
#include "proxy/retry_policy.h"
#include "proxy/snapshot.h"
#include "proxy/stats.h"
#include "proxy/upstream_pool.h"

namespace strait::proxy {

class SpanExporter;
class AccessLogWriter;
class RequestTap;

// A downstream connection as the drain logic sees it.
struct TrackedConnection {
  net::Stream* stream = nullptr;
  bool idle = true;  // waiting for the next request: safe to close on drain
  std::function<void()> on_drain;  // set for connections that drain themselves (HTTP/2: GOAWAY)
};

class Worker {
 public:
  explicit Worker(int index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  [[nodiscard]] int index() const { return index_; }
  [[nodiscard]] asio::io_context& io() { return io_; }

  // Worker thread only.
  [[nodiscard]] const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  // Also forgets the per-service and per-endpoint counts that are idle, off the request path (the
  // services and endpoints may be gone with the old snapshot).
  void set_snapshot(std::shared_ptr<const Snapshot> snapshot);
  [[nodiscard]] UpstreamPool& pool() { return pool_; }
  [[nodiscard]] std::size_t next_round_robin(const std::string& key) { return round_robin_[key]++; }
  [[nodiscard]] std::uint64_t random() { return rng_(); }
  // This worker's requests and retries in flight to a cluster (by name), for its retry budget.
  [[nodiscard]] RetryLoad& retry_load(const std::string& cluster) { return retry_loads_[cluster]; }
  // This worker's requests in flight per endpoint ("host:port"), for the least-request balancer.
  [[nodiscard]] std::int64_t active_requests(const std::string& endpoint) const {
    auto it = endpoint_requests_.find(endpoint);
    return it == endpoint_requests_.end() ? 0 : it->second;
  }
  // An endpoint's entry stays when its count drops to 0, so that a request costs no map node.
  void add_active_request(const std::string& endpoint, int delta) { endpoint_requests_[endpoint] += delta; }
  // This worker's outlier detection (its view of which endpoints are ejected).
  [[nodiscard]] OutlierTracker& outliers() { return outliers_; }
  // Multiplexed HTTP/2 upstream connections, one per endpoint key.
  [[nodiscard]] std::unordered_map<std::string, std::shared_ptr<http2::H2Connection>>& h2_upstreams() {
    return h2_upstreams_;
  }

  void track(TrackedConnection* c) { tracked_.insert(c); }
  void untrack(TrackedConnection* c) { tracked_.erase(c); }
  [[nodiscard]] bool draining() const { return draining_; }
  // Stops accepting, closes idle keep-alive connections and asks busy ones to close after their
  // current response. Runs on the worker thread.
  void begin_drain();

  void add_acceptor(std::unique_ptr<asio::ip::tcp::acceptor> acceptor) {
    acceptors_.push_back(std::move(acceptor));
  }

  // This worker's istio_* series (written here only; read by the scraper) and the buffer their
  // label text is written into.
  [[nodiscard]] IstioMetrics& istio_metrics() { return istio_metrics_; }
  [[nodiscard]] const IstioMetrics& istio_metrics() const { return istio_metrics_; }
  [[nodiscard]] std::string& label_buffer() { return label_buffer_; }
  // Where this worker's sampled spans go (null: no exporter, as in unit tests). Set before the
  // worker runs; the exporter outlives it.
  void set_span_exporter(SpanExporter* exporter) { span_exporter_ = exporter; }
  [[nodiscard]] SpanExporter* span_exporter() const { return span_exporter_; }
  void set_access_log(AccessLogWriter* writer) { access_log_ = writer; }
  [[nodiscard]] AccessLogWriter* access_log() const { return access_log_; }
  // The proxy's request tap (null in unit tests). Set before the worker runs; it outlives it.
  void set_tap(RequestTap* tap) { tap_ = tap; }
  [[nodiscard]] RequestTap* tap() const { return tap_; }

  // Any thread.
  [[nodiscard]] WorkerStats& stats() { return stats_; }
  [[nodiscard]] std::int64_t active_connections() const;
  void start();
  void stop();

 private:
  int index_;
  std::shared_ptr<const Snapshot> snapshot_;
  UpstreamPool pool_;
  WorkerStats stats_;
  IstioMetrics istio_metrics_;
  std::string label_buffer_;
  SpanExporter* span_exporter_ = nullptr;
  AccessLogWriter* access_log_ = nullptr;
  RequestTap* tap_ = nullptr;
  std::unordered_map<std::string, std::size_t> round_robin_;
  std::unordered_map<std::string, RetryLoad> retry_loads_;
  std::unordered_map<std::string, std::int64_t> endpoint_requests_;
  OutlierTracker outliers_{stats_};
  std::unordered_map<std::string, std::shared_ptr<http2::H2Connection>> h2_upstreams_;
  std::unordered_set<TrackedConnection*> tracked_;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors_;
  std::mt19937_64 rng_;
  bool draining_ = false;
  std::thread thread_;
  // Declared last: destroyed first, while the state that pending coroutines reference still lives.
  asio::io_context io_{1};
};

}  // namespace strait::proxy
