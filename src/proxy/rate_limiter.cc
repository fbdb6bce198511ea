#include "proxy/rate_limiter.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <limits>

namespace strait::proxy {

std::string interval_text(std::chrono::nanoseconds interval) {
  const std::int64_t ns = interval.count();
  if (ns % 1'000'000'000 == 0) return std::to_string(ns / 1'000'000'000) + "s";
  if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  std::string ms =
      std::to_string(ns / 1'000'000) + "." + std::to_string(1'000'000 + ns % 1'000'000).substr(1);
  while (ms.back() == '0') ms.pop_back();
  return ms + "ms";
}

std::string RateLimitRule::identity() const {
  return name + "|" + std::to_string(max_tokens) + "|" + std::to_string(tokens_per_fill) + "|" +
         std::to_string(fill_interval.count()) + "|" + (per_source ? "source" : "workload");
}

BucketShape BucketShape::of(const RateLimitRule& rule) {
  BucketShape shape;
  const std::int64_t per_fill = std::max<std::uint32_t>(rule.tokens_per_fill, 1);
  shape.emission_ns = std::max<std::int64_t>(rule.fill_interval.count() / per_fill, 1);
  // Saturated: a huge burst of a slow limit must not overflow the nanosecond arithmetic.
  const __int128 tolerance =
      static_cast<__int128>(shape.emission_ns) * (std::max<std::uint32_t>(rule.max_tokens, 1) - 1);
  constexpr std::int64_t kCap = std::numeric_limits<std::int64_t>::max() / 4;
  shape.tolerance_ns = tolerance > kCap ? kCap : static_cast<std::int64_t>(tolerance);
  return shape;
}

RateVerdict TokenBucket::take(std::int64_t now_ns, const BucketShape& shape) {
  std::int64_t arrival = arrival_.load(std::memory_order_relaxed);
  while (true) {
    const std::int64_t base = std::max(arrival, now_ns);
    const std::int64_t debt = base - now_ns;
    if (debt > shape.tolerance_ns) return {false, 0, debt - shape.tolerance_ns};
    const std::int64_t next = base + shape.emission_ns;
    if (arrival_.compare_exchange_weak(arrival, next, std::memory_order_relaxed)) {
      // Tokens left: the room between the new debt and the tolerance, in emission intervals.
      const std::int64_t left =
          (shape.tolerance_ns + shape.emission_ns - (next - now_ns)) / shape.emission_ns;
      return {true,
              static_cast<std::uint32_t>(
                  std::clamp<std::int64_t>(left, 0, std::numeric_limits<std::uint32_t>::max())),
              0};
    }
  }
}

RateLimitState::RateLimitState(const RateLimitRule& rule)
    : shape_(BucketShape::of(rule)), per_source_(rule.per_source) {
  if (per_source_) slots_ = std::make_unique<Slot[]>(kSourceSlots);
}

TokenBucket* RateLimitState::bucket_for(std::string_view source) {
  if (!per_source_) return &shared_;
  std::uint64_t key = std::hash<std::string_view>{}(source);
  if (key == 0) key = 1;  // 0 marks a free slot
  std::size_t index = key % kSourceSlots;
  for (std::size_t probe = 0; probe < kMaxProbes; ++probe, index = (index + 1) % kSourceSlots) {
    Slot& slot = slots_[index];
    std::uint64_t seen = slot.key.load(std::memory_order_acquire);
    if (seen == key) return &slot.bucket;
    if (seen == 0) {
      if (slot.key.compare_exchange_strong(seen, key, std::memory_order_acq_rel)) {
        sources_.fetch_add(1, std::memory_order_relaxed);
        return &slot.bucket;
      }
      if (seen == key) return &slot.bucket;  // another worker claimed it for the same caller
    }
  }
  overflows_.fetch_add(1, std::memory_order_relaxed);
  return &shared_;
}

RateVerdict RateLimitState::take(std::string_view source, std::int64_t now_ns) {
  const RateVerdict verdict = bucket_for(source)->take(now_ns, shape_);
  if (!verdict.allowed) limited_.fetch_add(1, std::memory_order_relaxed);
  return verdict;
}

std::shared_ptr<RateLimitState> RateLimitRegistry::state_for(const RateLimitRule& rule) {
  auto& weak = states_[rule.identity()];
  if (auto state = weak.lock()) return state;
  auto state = std::make_shared<RateLimitState>(rule);
  weak = state;
  return state;
}

void RateLimitRegistry::forget_unused() {
  for (auto it = states_.begin(); it != states_.end();) {
    it = it->second.expired() ? states_.erase(it) : std::next(it);
  }
}

}  // namespace strait::proxy
