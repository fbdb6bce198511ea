// Connection-pool limits of a cluster (DestinationRule trafficPolicy.connectionPool, per subset and
// port), enforced as circuit breakers: past a limit a request is answered 503 `upstream_overflow`
// at once instead of queueing without bound. The counts are shared by every worker of the proxy
// (atomics, no lock) and outlive config updates, so a new snapshot does not reset what is in
// flight.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace strait::proxy {

struct ConnectionPoolPolicy {
  static constexpr std::uint32_t kUnlimited = std::numeric_limits<std::uint32_t>::max();
  std::uint32_t max_connections = kUnlimited;         // tcp.maxConnections (HTTP/1.1 and TCP upstreams)
  std::uint32_t max_pending_requests = kUnlimited;    // http.http1MaxPendingRequests
  std::uint32_t max_requests = kUnlimited;            // http.http2MaxRequests (every request)
  std::uint32_t max_requests_per_connection = 0;      // http.maxRequestsPerConnection (0: unlimited)
  std::uint32_t max_retries = kUnlimited;             // http.maxRetries (retries in flight)
  std::chrono::milliseconds connect_timeout{0};       // tcp.connectTimeout (0: the proxy's)
  std::chrono::milliseconds idle_timeout{0};          // http.idleTimeout (0: the proxy's)
  // tcp.idleTimeout of TCP traffic (0: unset, the proxy's tunnel idle timeout; an explicit 0s,
  // which turns the timeout off in Istio, is kNoIdleTimeout).
  std::chrono::milliseconds tcp_idle_timeout{0};
  static constexpr std::chrono::milliseconds kNoIdleTimeout = std::chrono::hours(24 * 365 * 10);
  // tcp.tcpKeepalive: SO_KEEPALIVE on upstream connections; a zero field keeps the system's value.
  struct Keepalive {
    std::uint32_t probes = 0;
    std::chrono::seconds time{0};
    std::chrono::seconds interval{0};
  };
  std::optional<Keepalive> keepalive;
};

// What is in flight to one service, across workers. Each count has a cache line of its own: the
// workers write them from different cores.
struct CircuitState {
  alignas(64) std::atomic<std::int64_t> connections{0};
  alignas(64) std::atomic<std::int64_t> pending{0};
  alignas(64) std::atomic<std::int64_t> requests{0};
  alignas(64) std::atomic<std::int64_t> retries{0};
};

// Takes one unit of `counter` if that keeps it within `limit`; releases it when destroyed. An
// unlimited slot is always held and touches no shared count (no cross-core traffic when no limit
// is set); so after a limit is first set, what was already in flight is not counted against it.
class CircuitSlot {
 public:
  CircuitSlot() = default;  // not held
  // Held, counting nothing (no limit applies).
  [[nodiscard]] static CircuitSlot unlimited() {
    CircuitSlot slot;
    slot.held_ = true;
    return slot;
  }
  CircuitSlot(std::atomic<std::int64_t>& counter, std::uint32_t limit);
  ~CircuitSlot() { release(); }
  CircuitSlot(CircuitSlot&& other) noexcept : counter_(other.counter_), held_(other.held_) {
    other.counter_ = nullptr;
    other.held_ = false;
  }
  CircuitSlot& operator=(CircuitSlot&& other) noexcept;
  CircuitSlot(const CircuitSlot&) = delete;
  CircuitSlot& operator=(const CircuitSlot&) = delete;
  [[nodiscard]] bool held() const { return held_; }
  void release();

 private:
  std::atomic<std::int64_t>* counter_ = nullptr;  // null: nothing counted (unlimited, or not held)
  bool held_ = false;
};

// The state of each cluster by name, kept across snapshots (main thread only: snapshots are
// built there). A cluster that no snapshot holds any more is forgotten.
class CircuitRegistry {
 public:
  [[nodiscard]] std::shared_ptr<CircuitState> state_for(const std::string& cluster);
  // Drops the clusters no snapshot holds any more.
  void forget_unused();

 private:
  std::unordered_map<std::string, std::weak_ptr<CircuitState>> states_;
};

}  // namespace strait::proxy
