// Outlier detection (DestinationRule trafficPolicy.outlierDetection): an endpoint that fails
// several times in a row is ejected, left out of load balancing for baseEjectionTime times the
// number of its ejections, then tried again. As in Envoy, each cluster (a service port over a
// subset) has its own detector, with its own policy and its own share of ejected endpoints.
//
// Each worker keeps its own view (no lock on the request path): with N workers an endpoint is
// ejected by each worker that sees it fail, as round-robin counters and retry budgets are per
// worker too.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace strait::proxy {

struct OutlierPolicy {
  std::uint32_t consecutive_5xx = 5;           // 0: off; local-origin failures count unless split
  std::uint32_t consecutive_gateway = 0;       // 502/503/504 (0: off); local-origin failures count unless split
  std::uint32_t consecutive_local_origin = 5;  // with split_local_origin only
  bool split_local_origin = false;
  std::chrono::milliseconds interval{10'000};  // an ejection count decays by one per healthy interval
  std::chrono::milliseconds base_ejection{30'000};
  double max_ejection_percent = 10;            // at least one endpoint may always be ejected
  double min_health_percent = 0;               // below it, ejections are ignored
};

struct ResolvedCluster;
struct WorkerStats;

class OutlierTracker {
 public:
  using Clock = std::chrono::steady_clock;

  explicit OutlierTracker(WorkerStats& stats) : stats_(stats) {}

  // Whether ejections apply to `cluster` now: it has outlier detection, some endpoint is ejected,
  // and enough of its set are healthy (minHealthPercent). When false, every endpoint may be picked.
  [[nodiscard]] bool ejecting(const ResolvedCluster& cluster, Clock::time_point now);
  // Whether endpoint `index` of the cluster's service is ejected (call after ejecting() said true).
  [[nodiscard]] bool ejected(const ResolvedCluster& cluster, std::size_t index,
                             Clock::time_point now);

  // A try's outcome on endpoint `index` (into the service's endpoints): a response status, or a
  // local-origin failure (no connection, a reset or a timeout before the response head).
  void record_status(const ResolvedCluster& cluster, std::size_t index, int status,
                     Clock::time_point now);
  void record_local_failure(const ResolvedCluster& cluster, std::size_t index,
                            Clock::time_point now);

 private:
  struct EndpointHealth {
    std::uint32_t consecutive_5xx = 0;
    std::uint32_t consecutive_gateway = 0;
    std::uint32_t consecutive_local = 0;
    std::uint32_t ejections = 0;             // the multiplier of the next ejection time
    Clock::time_point ejected_until{};       // in the past: not ejected
    Clock::time_point healthy_since{};       // for the decay of `ejections`
  };
  struct ServiceHealth {
    std::unordered_map<std::string, EndpointHealth> endpoints;  // by address
    std::uint32_t ejected = 0;
    Clock::time_point next_return = Clock::time_point::max();    // the earliest ejection to end
  };
  ServiceHealth* find(const ResolvedCluster& cluster);
  void return_expired(ServiceHealth& health, Clock::time_point now);
  void maybe_eject(const ResolvedCluster& cluster, ServiceHealth& health, EndpointHealth& endpoint,
                   Clock::time_point now);

  WorkerStats& stats_;
  std::unordered_map<std::string, ServiceHealth> services_;  // by cluster name
};

}  // namespace strait::proxy
