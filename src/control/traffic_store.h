// straitd's live view of the mesh's traffic, for the dashboard and `straitctl top`: every proxy
// reports its Istio request series (cumulative counts and duration histograms, as its
// /stats/prometheus has them) every few seconds; the store turns successive reports into deltas
// and keeps them per edge (caller workload -> destination service and workload) in a ring of
// fixed time buckets, from which it answers rates, failure shares and latency percentiles over a
// window, and per-bucket series for charts.
//
// Each request is reported by both sidecars. An edge counts what the callee's sidecar saw (every
// attempt, retries included, with the callee's own latency), and from the caller's reports only
// what the callee never saw: calls to a destination without a sidecar, and responses the caller's
// sidecar made itself (no healthy upstream, connection failure, timeout). So nothing is counted
// twice, and a flaky instance shows its own failures even when retries hide them from callers.
//
// Memory is bounded: at most kMaxEdges edges (further ones are counted in dropped_edges()), each
// with `bucket_count` buckets. Thread-safe (one mutex): straitd is not the data path.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "proxy/istio_metrics.h"

namespace strait::control {

// The proxies' duration buckets in milliseconds (Istio's), plus +Inf.
inline constexpr const auto& kDurationBucketsMs = proxy::kIstioBuckets;
inline constexpr std::size_t kDurationBucketCount = kDurationBucketsMs.size() + 1;
inline constexpr std::size_t kMaxEdges = 4096;

// One series of a proxy's report: cumulative since the proxy started.
struct TrafficSeries {
  bool reported_by_source = true;
  std::string source_workload, source_namespace, source_app;  // "unknown" without a sidecar
  std::string destination_service;                            // the service's host name
  std::string destination_workload, destination_namespace, destination_app;
  std::string protocol;        // "http", "grpc"
  int response_code = 0;       // 0: no response
  int grpc_status = -1;        // -1: not gRPC
  std::string response_flags;  // Envoy's, "-" or "" for none
  bool mutual_tls = false;     // connection_security_policy="mutual_tls"
  std::uint64_t requests = 0;
  std::array<std::uint64_t, kDurationBucketCount> duration_buckets{};  // per bucket, not cumulative
};

struct EdgeKey {
  std::string source_workload, source_namespace, source_app;
  std::string destination_service, destination_workload, destination_namespace, destination_app;
  auto operator<=>(const EdgeKey&) const = default;
};

// An edge's traffic over a window.
struct EdgeTraffic {
  EdgeKey key;
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;       // 5xx, no response, or a gRPC status other than OK
  std::uint64_t client_errors = 0;  // 4xx (a refused call: 403 from a policy, 429)
  double requests_per_second = 0;
  double failure_share = 0;                      // failures / requests, 0 without requests
  double p50_ms = -1, p95_ms = -1, p99_ms = -1;  // -1 without requests
  bool mutual_tls = false;  // the callee's sidecar saw every request of the window over mTLS
  bool grpc = false;
};

// One time bucket of a service's traffic (every edge to it).
struct TrafficPoint {
  std::int64_t start_unix_seconds = 0;
  double requests_per_second = 0;
  double failure_share = 0;
  double p99_ms = -1;
};

// The q-quantile (0..1) of a histogram with kDurationBucketsMs bounds, interpolated linearly within
// its bucket as Prometheus's histogram_quantile does; -1 when empty; the highest finite bound when
// it falls in +Inf.
[[nodiscard]] double duration_quantile(
    const std::array<std::uint64_t, kDurationBucketCount>& buckets, double q);

class TrafficStore {
 public:
  using Clock = std::chrono::system_clock;

  explicit TrafficStore(std::chrono::seconds bucket_width = std::chrono::seconds(10),
                        std::size_t bucket_count = 90);

  // A proxy's report at `now`. The first report of a proxy (or of a series) only sets its baseline;
  // a series whose count went down (the proxy restarted) counts its new value as the delta.
  void record(std::string_view proxy_id, Clock::time_point now,
              std::span<const TrafficSeries> series);
  // Forgets a proxy's baseline (it left); what it reported stays in the edges' history.
  void forget(std::string_view proxy_id);

  // Every edge with traffic in the last `window` (at most the ring's length), by key.
  [[nodiscard]] std::vector<EdgeTraffic> edges(Clock::time_point now,
                                               std::chrono::seconds window) const;
  // Every service with traffic in the last `window` (each edge to it summed); only
  // key.destination_service is set.
  [[nodiscard]] std::vector<EdgeTraffic> services(Clock::time_point now,
                                                  std::chrono::seconds window) const;
  // Per bucket, oldest first, the traffic to `service` (a host name) in the last `window`.
  [[nodiscard]] std::vector<TrafficPoint> service_series(std::string_view service,
                                                         Clock::time_point now,
                                                         std::chrono::seconds window) const;

  [[nodiscard]] std::uint64_t dropped_edges() const;
  [[nodiscard]] std::chrono::seconds bucket_width() const { return width_; }

 private:
  struct Bucket {
    std::int64_t epoch = -1;  // which bucket of time this slot holds now
    std::uint64_t requests = 0, failures = 0, client_errors = 0, grpc = 0;
    std::uint64_t secured = 0, plaintext = 0;  // from the callee's reports
    std::array<std::uint64_t, kDurationBucketCount> durations{};
  };
  struct Edge {
    std::vector<Bucket> ring;
  };
  // A series of one proxy, as the key of its baseline.
  using SeriesKey = std::tuple<bool, EdgeKey, std::string, int, int, bool>;
  struct Baseline {
    std::uint64_t requests = 0;
    std::array<std::uint64_t, kDurationBucketCount> durations{};
  };

  [[nodiscard]] std::int64_t epoch_of(Clock::time_point t) const;
  // Each edge's sum over the complete buckets of `window` (their number in `buckets`).
  [[nodiscard]] std::map<EdgeKey, Bucket> window_sums(Clock::time_point now,
                                                      std::chrono::seconds window,
                                                      std::int64_t& buckets) const;
  static void add(Bucket& sum, const Bucket& b);
  [[nodiscard]] static EdgeTraffic summarize(const EdgeKey& key, const Bucket& sum, double seconds);
  Bucket* bucket_for(const EdgeKey& key, std::int64_t epoch);

  const std::chrono::seconds width_;
  const std::size_t count_;
  mutable std::mutex mutex_;
  std::map<EdgeKey, Edge> edges_;
  std::map<std::string, std::map<SeriesKey, Baseline>, std::less<>> baselines_;
  std::uint64_t dropped_edges_ = 0;
};

}  // namespace strait::control
