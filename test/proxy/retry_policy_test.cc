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

TEST(RetryBudget, OverAnIntervalRetriesAreAShareOfTheFirstTriesStartedInIt) {
  using namespace std::chrono_literals;
  RetryBudget budget;
  budget.interval = 1s;  // 20% of the first tries of the last second, at least 3 per second
  RetryLoad load;
  const auto t0 = RetryLoad::Clock::now();
  auto spend = [&](RetryLoad::Clock::time_point at) {
    int admitted = 0;
    while (load.admits_retry(budget, at) && admitted < 100) {
      load.count_retry(budget, at);
      ++admitted;
    }
    return admitted;
  };
  EXPECT_EQ(spend(t0), 3);  // no traffic yet: the minimum
  for (int i = 0; i < 50; ++i) load.count_first_try(budget, t0);
  EXPECT_EQ(spend(t0 + 100ms), 7);  // 20% of 50, three of them spent already
  // Half a second into the next window, half of the last one still counts: 25 first tries and 5
  // retries of it, so no more room until new first tries come.
  EXPECT_FALSE(load.admits_retry(budget, t0 + 1500ms));
  for (int i = 0; i < 10; ++i) load.count_first_try(budget, t0 + 1500ms);
  EXPECT_TRUE(load.admits_retry(budget, t0 + 1500ms));  // 5 < 0.2 * 35
  EXPECT_TRUE(load.window_matters(t0 + 1900ms));
  // Two intervals later nothing is left but the minimum.
  EXPECT_EQ(spend(t0 + 4s), 3);
  EXPECT_FALSE(load.window_matters(t0 + 6s));
  // A caller sending one request at a time: the in-flight form never refuses (one retry in flight
  // is under the minimum), the window holds retries to 20% plus the minimum.
  RetryLoad sequential;
  int retries = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto at = t0 + i * 1ms;  // 1000 requests over one second
    sequential.count_first_try(budget, at);
    if (sequential.admits_retry(budget, at)) {
      sequential.count_retry(budget, at);
      ++retries;
    }
  }
  EXPECT_LE(retries, 203);
  EXPECT_GE(retries, 195);
  EXPECT_TRUE((RetryLoad{1, 0}.admits_retry(RetryBudget{})));
}

}  // namespace
}  // namespace strait::proxy
