#include "proxy/retry_policy.h"

#include <gtest/gtest.h>

#include <set>

namespace strait::proxy {
namespace {

RetryPolicy parsed(std::string_view retry_on) {
  RetryPolicy policy;
  policy.attempts = 2;
  EXPECT_TRUE(parse_retry_on(retry_on, policy.retry_on).has_value()) << retry_on;
  return policy;
}

TEST(RetryPolicy, ParsesConditionsAndBareCodes) {
  const RetryPolicy p = parsed("5xx, reset ,409,429,409");
  EXPECT_EQ(p.retry_on.conditions, kRetryOn5xx | kRetryOnReset | kRetryOnRetriableStatusCodes);
  EXPECT_EQ(p.retry_on.status_codes, (std::vector<int>{409, 429}));
}

TEST(RetryPolicy, RefusesUnknownConditionsByName) {
  RetryConditions p;
  auto bad = parse_retry_on("5xx,connect-failures", p);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error(), "unknown retry condition 'connect-failures'");
  EXPECT_FALSE(parse_retry_on("600", p).has_value());
  EXPECT_FALSE(parse_retry_on("50", p).has_value());
  EXPECT_FALSE(parse_retry_on("5x9", p).has_value());
}

TEST(RetryPolicy, DefaultIsIstios) {
  const RetryPolicy& p = default_retry_policy();
  EXPECT_EQ(p.attempts, 2);
  EXPECT_TRUE(p.avoid_previous_host);
  EXPECT_TRUE(retriable(p, AttemptFailure::kConnectFailure));
  EXPECT_TRUE(retriable(p, AttemptFailure::kRefusedStream));
  EXPECT_FALSE(retriable(p, AttemptFailure::kReset));
  EXPECT_FALSE(retriable(p, AttemptFailure::kPerTryTimeout));
  EXPECT_TRUE(retriable(p, 503, std::nullopt, false));
  EXPECT_FALSE(retriable(p, 500, std::nullopt, false));
  EXPECT_FALSE(retriable(p, 502, std::nullopt, false));
  EXPECT_TRUE(retriable(p, 200, 14, false));   // UNAVAILABLE
  EXPECT_TRUE(retriable(p, 200, 1, false));    // CANCELLED
  EXPECT_FALSE(retriable(p, 200, 13, false));  // INTERNAL
}

TEST(RetryPolicy, StatusConditions) {
  EXPECT_TRUE(retriable(parsed("5xx"), 500, std::nullopt, false));
  EXPECT_TRUE(retriable(parsed("5xx"), 599, std::nullopt, false));
  EXPECT_FALSE(retriable(parsed("5xx"), 409, std::nullopt, false));
  EXPECT_FALSE(retriable(parsed("gateway-error"), 500, std::nullopt, false));
  for (int status : {502, 503, 504}) EXPECT_TRUE(retriable(parsed("gateway-error"), status, std::nullopt, false));
  EXPECT_TRUE(retriable(parsed("retriable-4xx"), 409, std::nullopt, false));
  EXPECT_FALSE(retriable(parsed("retriable-4xx"), 404, std::nullopt, false));
  EXPECT_TRUE(retriable(parsed("429"), 429, std::nullopt, false));
  EXPECT_FALSE(retriable(parsed("429"), 503, std::nullopt, false));
  EXPECT_TRUE(retriable(parsed("envoy-ratelimited"), 429, std::nullopt, true));
  EXPECT_FALSE(retriable(parsed("envoy-ratelimited"), 429, std::nullopt, false));
  EXPECT_FALSE(retriable(parsed("retriable-headers"), 503, std::nullopt, false));
  EXPECT_FALSE(retriable(parsed("reset,connect-failure"), 503, std::nullopt, false));
}

TEST(RetryPolicy, GrpcConditions) {
  EXPECT_TRUE(retriable(parsed("deadline-exceeded"), 200, 4, false));
  EXPECT_TRUE(retriable(parsed("resource-exhausted"), 200, 8, false));
  EXPECT_TRUE(retriable(parsed("internal"), 200, 13, false));
  EXPECT_FALSE(retriable(parsed("internal"), 200, 14, false));
  EXPECT_FALSE(retriable(parsed("unavailable"), 200, 0, false));
  EXPECT_FALSE(retriable(parsed("unavailable"), 200, std::nullopt, false));
}

TEST(RetryPolicy, FailureConditions) {
  EXPECT_TRUE(retriable(parsed("5xx"), AttemptFailure::kConnectFailure));
  EXPECT_TRUE(retriable(parsed("5xx"), AttemptFailure::kReset));
  EXPECT_TRUE(retriable(parsed("5xx"), AttemptFailure::kPerTryTimeout));
  EXPECT_TRUE(retriable(parsed("gateway-error"), AttemptFailure::kPerTryTimeout));
  EXPECT_FALSE(retriable(parsed("gateway-error"), AttemptFailure::kReset));
  EXPECT_TRUE(retriable(parsed("reset"), AttemptFailure::kReset));
  EXPECT_TRUE(retriable(parsed("reset"), AttemptFailure::kRefusedStream));
  EXPECT_FALSE(retriable(parsed("reset"), AttemptFailure::kConnectFailure));
  EXPECT_TRUE(retriable(parsed("connect-failure"), AttemptFailure::kConnectFailure));
  EXPECT_FALSE(retriable(parsed("connect-failure"), AttemptFailure::kReset));
  EXPECT_FALSE(retriable(parsed("503"), AttemptFailure::kReset));
}

TEST(RetryPolicy, BackoffIsJitteredExponentialAndCapped) {
  RetryPolicy p;
  p.backoff = std::chrono::milliseconds(25);
  std::set<std::int64_t> first;
  for (std::uint64_t r = 0; r < 1000; ++r) {
    const auto wait = retry_backoff(p, 1, r * 7919).count();
    EXPECT_GE(wait, 0);
    EXPECT_LE(wait, 25);
    first.insert(wait);
  }
  EXPECT_GT(first.size(), 20U);  // spread over the interval, not one fixed wait
  std::int64_t largest_second = 0;
  for (std::uint64_t r = 0; r < 1000; ++r) largest_second = std::max(largest_second, retry_backoff(p, 2, r).count());
  EXPECT_EQ(largest_second, 75);
  for (std::uint64_t r = 0; r < 2000; ++r) EXPECT_LE(retry_backoff(p, 9, r * 104729).count(), 250);
}

TEST(RetryBudget, TwentyPercentOfFirstTriesWithAMinimum) {
  const RetryBudget budget;  // 20%, at least 3
  EXPECT_TRUE((RetryLoad{1, 0}.admits_retry(budget)));
  EXPECT_TRUE((RetryLoad{4, 2}.admits_retry(budget)));
  EXPECT_FALSE((RetryLoad{4, 3}.admits_retry(budget)));
  // 100 in flight, 16 of them retrying: 84 first tries allow 16.8 retries.
  EXPECT_TRUE((RetryLoad{100, 16}.admits_retry(budget)));
  EXPECT_FALSE((RetryLoad{100, 17}.admits_retry(budget)));
  const RetryBudget none{0, 0};
  EXPECT_FALSE((RetryLoad{100, 0}.admits_retry(none)));
}

}  // namespace
}  // namespace strait::proxy
