// Local rate limits (strait.dev/v1alpha1 RateLimitPolicy), enforced by the sidecar on the requests
// its workload receives. Each limit is a token bucket shared by every worker of the proxy without a
// lock: the bucket is one atomic "theoretical arrival time" advanced by compare-and-swap (the
// generic cell rate algorithm, which is a token bucket refilled continuously). A request costs one
// clock read and one CAS per limit that matches it; nothing is allocated.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/http_route.h"

namespace strait::proxy {

// A limit as the sidecar holds it (from a RateLimitPolicy's spec.limits[]).
struct RateLimitRule {
  std::string name;                 // <namespace>/<policy>/<limit>
  std::vector<RouteMatch> matches;  // any of them; empty: every request
  std::uint32_t max_tokens = 1;     // the burst
  std::uint32_t tokens_per_fill = 1;
  std::chrono::nanoseconds fill_interval{std::chrono::seconds(1)};
  bool per_source = false;  // one bucket per caller's SPIFFE ID
  // What makes two rules the same bucket across config pushes (name and numbers).
  [[nodiscard]] std::string identity() const;
};

// What one take from a bucket says.
struct RateVerdict {
  bool allowed = true;
  std::uint32_t remaining = 0;  // tokens left after this request
  std::int64_t wait_ns = 0;     // refused: how long until a token is there
};

// The bucket's constants: one token every `emission_ns`; a request passes while the bucket's debt
// (how far its arrival time runs ahead of now) stays within `tolerance_ns` = (max_tokens - 1)
// emission intervals, capped at 2^61 ns (73 years of refill) so that the arithmetic cannot
// overflow.
struct BucketShape {
  std::int64_t emission_ns = 1;
  std::int64_t tolerance_ns = 0;
  [[nodiscard]] static BucketShape of(const RateLimitRule& rule);
};

// One token bucket, safe to take from on any thread at once. Starts full.
class TokenBucket {
 public:
  [[nodiscard]] RateVerdict take(std::int64_t now_ns, const BucketShape& shape);

 private:
  std::atomic<std::int64_t> arrival_{0};  // the theoretical arrival time of the next request
};

// A rule's buckets: one for the workload, or one per caller. Callers are held in a fixed table
// (kSourceSlots, claimed by CAS and never freed while the rule is unchanged); a caller that finds
// no free slot near its hash shares the overflow bucket. Counters are written only when a request
// is refused or a new caller appears, so an allowed request writes nothing but its bucket.
class RateLimitState {
 public:
  static constexpr std::size_t kSourceSlots = 1024;
  static constexpr std::size_t kMaxProbes = 16;

  explicit RateLimitState(const RateLimitRule& rule);
  [[nodiscard]] RateVerdict take(std::string_view source, std::int64_t now_ns);

  [[nodiscard]] std::uint64_t limited() const { return limited_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t sources() const { return sources_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t source_overflows() const {
    return overflows_.load(std::memory_order_relaxed);
  }

 private:
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> key{0};  // 0: free
    TokenBucket bucket;
  };
  TokenBucket* bucket_for(std::string_view source);

  BucketShape shape_;
  bool per_source_;
  alignas(64) TokenBucket shared_;  // the workload's bucket, or the overflow bucket
  std::unique_ptr<Slot[]> slots_;   // per_source only
  alignas(64) std::atomic<std::uint64_t> limited_{0};
  std::atomic<std::uint64_t> sources_{0};
  std::atomic<std::uint64_t> overflows_{0};
};

// Each rule's state, kept across snapshots by its identity (main thread only: snapshots are built
// there), so a config push does not refill the buckets. A rule whose numbers change starts full.
class RateLimitRegistry {
 public:
  [[nodiscard]] std::shared_ptr<RateLimitState> state_for(const RateLimitRule& rule);
  void forget_unused();

 private:
  std::unordered_map<std::string, std::weak_ptr<RateLimitState>> states_;
};

// A rule of the snapshot with its (carried) state.
struct ActiveRateLimit {
  const RateLimitRule* rule = nullptr;
  std::shared_ptr<RateLimitState> state;
};

// A fill interval as people write it: "1s", "250ms", "1.5ms".
[[nodiscard]] std::string interval_text(std::chrono::nanoseconds interval);

[[nodiscard]] inline std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace strait::proxy
