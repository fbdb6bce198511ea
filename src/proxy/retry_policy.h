// Retries as Istio configures them (VirtualService http[].retries), and the retry budget that keeps
// them from multiplying load (DestinationRule trafficPolicy.retryBudget, on by default).
//
// What counts as retriable follows Envoy's retry_on conditions, which Istio passes through:
//   5xx               a 5xx response, a reset or close before the response head, a connect failure,
//                     a per-try timeout
//   gateway-error     502, 503 or 504, a per-try timeout
//   reset             a reset or close before the response head, a per-try timeout
//   connect-failure   no connection could be made
//   retriable-4xx     409
//   refused-stream    the upstream refused the HTTP/2 stream (REFUSED_STREAM)
//   retriable-status-codes  a status among the bare codes listed in retryOn (Istio's default: 503)
//   envoy-ratelimited the response carries x-envoy-ratelimited
//   cancelled, deadline-exceeded, internal, resource-exhausted, unavailable
//                     the gRPC status of a trailers-only response
//   retriable-headers accepted, never matches (Istio's API has no field to name the headers)
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/retry_on.h"

namespace strait::proxy {

struct RetryPolicy {
  int attempts = 0;                               // retries after the first try (0: none)
  std::chrono::milliseconds per_try_timeout{0};   // 0: each try is bounded by the route timeout only
  std::chrono::milliseconds backoff{25};          // base interval of the jittered exponential backoff
  RetryConditions retry_on;                       // conditions and bare status codes
  bool avoid_previous_host = true;                // retryIgnorePreviousHosts
};

// Istio's policy for routes without `retries`: two retries on connect-failure, refused-stream,
// unavailable, cancelled and retriable-status-codes (503), avoiding the host that failed.
[[nodiscard]] const RetryPolicy& default_retry_policy();

// How an attempt ended when it got no response head.
enum class AttemptFailure : std::uint8_t {
  kConnectFailure,  // no connection (after the connector's own failover)
  kReset,           // the upstream closed or reset before a response head
  kRefusedStream,   // HTTP/2 REFUSED_STREAM
  kPerTryTimeout,   // no response head within perTryTimeout
};

[[nodiscard]] bool retriable(const RetryPolicy& policy, AttemptFailure failure);

// A response head: its status, its grpc-status when it is a trailers-only gRPC response, and
// whether it carries x-envoy-ratelimited.
[[nodiscard]] bool retriable(const RetryPolicy& policy, int status, std::optional<int> grpc_status,
                             bool rate_limited);

// The wait before retry number `retry` (1 for the first retry): full jitter over
// [0, (2^retry - 1) * backoff], capped at ten times the backoff, as Envoy does. `random` is a
// uniformly random number.
[[nodiscard]] std::chrono::milliseconds retry_backoff(const RetryPolicy& policy, int retry, std::uint64_t random);

// trafficPolicy.retryBudget: retries in flight may be at most `percent` of the first tries in
// flight to the cluster, but at least `min_retry_concurrency`. Envoy takes the percentage of every
// request in flight, retries included, which lets retries add up to 25% at 20; measured against
// first tries, retries add at most `percent` to the load however long they wait (product.md: at
// most 20%).
//
// With `interval` (budgetInterval) the budget is over rates instead: the retries started in the
// last `interval` may be at most `percent` of the first tries started in it (a sliding window), but
// at least `min_retry_concurrency` per interval. This bounds a caller that sends one request at a
// time too, which the in-flight form lets retry every request (its retries in flight never reach
// the minimum).
struct RetryBudget {
  double percent = 20;
  std::uint32_t min_retry_concurrency = 3;
  std::chrono::milliseconds interval{0};  // 0: retries in flight against first tries in flight
};

// A worker's requests and retries to one cluster. Each worker keeps its own (no lock): with N
// workers, each holds its share of the budget over the requests it serves.
struct RetryLoad {
  using Clock = std::chrono::steady_clock;
  std::int64_t active_requests = 0;  // every request in flight, retrying or not
  std::int64_t active_retries = 0;   // those in a retry (its backoff or its attempt)
  [[nodiscard]] bool admits_retry(const RetryBudget& budget) const;

  // budgetInterval: first tries and retries started, counted in fixed windows of the interval;
  // the window before the current one is weighted by how much of it the sliding window covers.
  struct Window {
    Clock::time_point start{};
    double first_tries = 0;
    double retries = 0;
    double last_first_tries = 0;
    double last_retries = 0;
  };
  Window window;
  void count_first_try(const RetryBudget& budget, Clock::time_point now);
  void count_retry(const RetryBudget& budget, Clock::time_point now);
  [[nodiscard]] bool admits_retry(const RetryBudget& budget, Clock::time_point now);
  // Whether the windows still hold anything that counts at `now` (else the load can be forgotten).
  [[nodiscard]] bool window_matters(Clock::time_point now) const;
  std::chrono::milliseconds window_interval{0};  // the interval the windows were counted with

 private:
  void roll(std::chrono::milliseconds interval, Clock::time_point now);
};

}  // namespace strait::proxy
