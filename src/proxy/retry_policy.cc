#include "proxy/retry_policy.h"

#include <algorithm>

namespace strait::proxy {
namespace {

RetryPolicy make_default_policy() {
  RetryPolicy policy;
  policy.attempts = 2;
  policy.retry_on.conditions = kRetryOnConnectFailure | kRetryOnRefusedStream | kRetryOnGrpcUnavailable |
                               kRetryOnGrpcCancelled | kRetryOnRetriableStatusCodes;
  policy.retry_on.status_codes = {503};
  return policy;
}

}  // namespace

const RetryPolicy& default_retry_policy() {
  static const RetryPolicy policy = make_default_policy();
  return policy;
}

bool retriable(const RetryPolicy& policy, AttemptFailure failure) {
  const std::uint32_t c = policy.retry_on.conditions;
  switch (failure) {
    case AttemptFailure::kConnectFailure:
      return (c & (kRetryOnConnectFailure | kRetryOn5xx)) != 0;
    case AttemptFailure::kReset:
      return (c & (kRetryOnReset | kRetryOn5xx)) != 0;
    case AttemptFailure::kRefusedStream:
      return (c & (kRetryOnRefusedStream | kRetryOnReset | kRetryOn5xx)) != 0;
    case AttemptFailure::kPerTryTimeout:
      return (c & (kRetryOnReset | kRetryOn5xx | kRetryOnGatewayError)) != 0;
  }
  return false;
}

bool retriable(const RetryPolicy& policy, int status, std::optional<int> grpc_status, bool rate_limited) {
  const std::uint32_t c = policy.retry_on.conditions;
  if ((c & kRetryOn5xx) != 0 && status >= 500 && status <= 599) return true;
  if ((c & kRetryOnGatewayError) != 0 && (status == 502 || status == 503 || status == 504)) return true;
  if ((c & kRetryOnRetriable4xx) != 0 && status == 409) return true;
  if ((c & kRetryOnRetriableStatusCodes) != 0 &&
      std::ranges::find(policy.retry_on.status_codes, status) != policy.retry_on.status_codes.end())
    return true;
  if ((c & kRetryOnRateLimited) != 0 && rate_limited) return true;
  if (grpc_status) {
    switch (*grpc_status) {
      case 1:
        return (c & kRetryOnGrpcCancelled) != 0;
      case 4:
        return (c & kRetryOnGrpcDeadlineExceeded) != 0;
      case 8:
        return (c & kRetryOnGrpcResourceExhausted) != 0;
      case 13:
        return (c & kRetryOnGrpcInternal) != 0;
      case 14:
        return (c & kRetryOnGrpcUnavailable) != 0;
      default:
        break;
    }
  }
  return false;
}

std::chrono::milliseconds retry_backoff(const RetryPolicy& policy, int retry, std::uint64_t random) {
  const std::int64_t base = std::max<std::int64_t>(policy.backoff.count(), 1);
  const std::int64_t cap = base * 10;
  const int doublings = std::clamp(retry, 1, 16);
  const std::int64_t ceiling = std::min(cap, ((std::int64_t{1} << doublings) - 1) * base);
  return std::chrono::milliseconds(static_cast<std::int64_t>(random % static_cast<std::uint64_t>(ceiling + 1)));
}

bool RetryLoad::admits_retry(const RetryBudget& budget) const {
  const double share = static_cast<double>(active_requests - active_retries) * budget.percent / 100.0;
  const double limit = std::max(share, static_cast<double>(budget.min_retry_concurrency));
  return static_cast<double>(active_retries) < limit;
}

void RetryLoad::roll(std::chrono::milliseconds interval, Clock::time_point now) {
  if (interval != window_interval) {  // a new budgetInterval: count afresh
    window = Window{now};
    window_interval = interval;
    return;
  }
  const auto elapsed = now - window.start;
  if (elapsed < interval) return;
  if (elapsed < 2 * interval) {
    window.last_first_tries = window.first_tries;
    window.last_retries = window.retries;
    window.start += interval;
  } else {
    window.last_first_tries = window.last_retries = 0;
    window.start = now;
  }
  window.first_tries = window.retries = 0;
}

void RetryLoad::count_first_try(const RetryBudget& budget, Clock::time_point now) {
  if (budget.interval.count() <= 0) return;
  roll(budget.interval, now);
  window.first_tries += 1;
}

void RetryLoad::count_retry(const RetryBudget& budget, Clock::time_point now) {
  if (budget.interval.count() <= 0) return;
  roll(budget.interval, now);
  window.retries += 1;
}

bool RetryLoad::admits_retry(const RetryBudget& budget, Clock::time_point now) {
  if (budget.interval.count() <= 0) return admits_retry(budget);
  roll(budget.interval, now);
  const double covered = 1.0 - std::chrono::duration<double>(now - window.start) /
                                   std::chrono::duration<double>(budget.interval);
  const double first_tries = window.first_tries + window.last_first_tries * covered;
  const double retries = window.retries + window.last_retries * covered;
  return retries < std::max(first_tries * budget.percent / 100.0,
                            static_cast<double>(budget.min_retry_concurrency));
}

bool RetryLoad::window_matters(Clock::time_point now) const {
  return window_interval.count() > 0 && now - window.start < 2 * window_interval;
}

}  // namespace strait::proxy
