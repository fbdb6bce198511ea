// Token buckets shared by workers (proxy/rate_limiter.h) and the inbound check that answers 429
// (proxy/rate_limit_filter.h). Time is passed in, so the rates are exact.
#include "proxy/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <thread>
#include <vector>

#include "proxy/rate_limit_filter.h"

namespace strait::proxy {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kStart = 1'000 * kSecond;  // a steady clock reading far from zero

RateLimitRule rule(std::uint32_t max_tokens, std::uint32_t per_fill,
                   std::chrono::nanoseconds interval, bool per_source = false) {
  RateLimitRule r;
  r.name = "shop/limits/test";
  r.max_tokens = max_tokens;
  r.tokens_per_fill = per_fill;
  r.fill_interval = interval;
  r.per_source = per_source;
  return r;
}

TEST(TokenBucket, AFullBucketPassesItsBurstThenRefusesWithTheWaitForTheNextToken) {
  const auto shape = BucketShape::of(rule(3, 10, std::chrono::seconds(1)));  // a token every 100 ms
  TokenBucket bucket;
  for (std::uint32_t left : {2u, 1u, 0u}) {
    const auto v = bucket.take(kStart, shape);
    EXPECT_TRUE(v.allowed);
    EXPECT_EQ(v.remaining, left);
  }
  const auto refused = bucket.take(kStart, shape);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.wait_ns, kSecond / 10);
  const auto later = bucket.take(kStart + kSecond / 10 - 1, shape);
  EXPECT_FALSE(later.allowed);
  EXPECT_EQ(later.wait_ns, 1);
  EXPECT_TRUE(bucket.take(kStart + kSecond / 10, shape).allowed);
}

TEST(TokenBucket, OverAMinuteOfRequestsEveryMillisecondItPassesBurstPlusRateTimesTime) {
  const auto shape = BucketShape::of(rule(20, 50, std::chrono::seconds(1)));
  TokenBucket bucket;
  int allowed = 0;
  for (std::int64_t t = 0; t < 60 * kSecond; t += kSecond / 1000)
    allowed += bucket.take(kStart + t, shape).allowed ? 1 : 0;
  EXPECT_EQ(allowed, 20 + 50 * 60 - 1);  // the last token of the minute falls on its end
}

TEST(TokenBucket, AQuietBucketRefillsToItsBurstAndNoFurther) {
  const auto shape = BucketShape::of(rule(5, 1, std::chrono::milliseconds(10)));
  TokenBucket bucket;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(bucket.take(kStart, shape).allowed);
  ASSERT_FALSE(bucket.take(kStart, shape).allowed);
  const std::int64_t later = kStart + 3600 * kSecond;
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += bucket.take(later, shape).allowed ? 1 : 0;
  EXPECT_EQ(allowed, 5);
}

TEST(TokenBucket, HugeBurstsOfSlowLimitsAreCappedInsteadOfOverflowing) {
  // 4e9 tokens of one a day would be 1e10 years of refill: the burst is capped at 2^61 ns.
  const auto shape = BucketShape::of(rule(4'000'000'000u, 1, std::chrono::hours(24)));
  EXPECT_EQ(shape.tolerance_ns, std::numeric_limits<std::int64_t>::max() / 4);
  TokenBucket bucket;
  const auto v = bucket.take(kStart, shape);
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.remaining, static_cast<std::uint32_t>(shape.tolerance_ns / shape.emission_ns));
}

TEST(TokenBucket, WorkersTakingAtOnceNeverPassMoreThanTheBucketHolds) {
  const auto shape = BucketShape::of(rule(1000, 1, std::chrono::hours(1)));
  TokenBucket bucket;
  std::atomic<int> allowed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        if (bucket.take(kStart, shape).allowed) allowed.fetch_add(1);
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(allowed.load(), 1000);
}

TEST(RateLimitState, PerSourceGivesEachCallerItsOwnBucket) {
  RateLimitState state(rule(2, 1, std::chrono::hours(1), true));
  const std::string web = "spiffe://cluster.local/ns/shop/sa/web";
  const std::string batch = "spiffe://cluster.local/ns/shop/sa/batch";
  EXPECT_TRUE(state.take(web, kStart).allowed);
  EXPECT_TRUE(state.take(web, kStart).allowed);
  EXPECT_FALSE(state.take(web, kStart).allowed);
  EXPECT_TRUE(state.take(batch, kStart).allowed);
  EXPECT_EQ(state.sources(), 2u);
  EXPECT_EQ(state.limited(), 1u);
}

TEST(RateLimitState, CallersBeyondTheTableShareTheOverflowBucket) {
  RateLimitState state(rule(1, 1, std::chrono::hours(1), true));
  std::uint64_t allowed = 0;
  const std::size_t callers = RateLimitState::kSourceSlots * 2;
  for (std::size_t i = 0; i < callers; ++i) {
    if (state.take("spiffe://cluster.local/ns/n/sa/caller-" + std::to_string(i), kStart).allowed)
      ++allowed;
  }
  EXPECT_GT(state.sources(),
            RateLimitState::kSourceSlots / 2);  // most slots fill before probes run out
  EXPECT_GT(state.source_overflows(), 0u);
  // Every caller with a slot got its one token; the overflow callers shared one more.
  EXPECT_EQ(allowed, state.sources() + 1);
  EXPECT_EQ(state.limited(), callers - allowed);
}

TEST(RateLimitRegistry, AnUnchangedRuleKeepsItsBucketAndAChangedOneStartsFull) {
  RateLimitRegistry registry;
  auto first = registry.state_for(rule(1, 1, std::chrono::hours(1)));
  EXPECT_TRUE(first->take("", kStart).allowed);
  auto same = registry.state_for(rule(1, 1, std::chrono::hours(1)));
  EXPECT_EQ(same, first);
  EXPECT_FALSE(same->take("", kStart).allowed);
  auto changed = registry.state_for(rule(2, 1, std::chrono::hours(1)));
  EXPECT_NE(changed, first);
  EXPECT_TRUE(changed->take("", kStart).allowed);
  first.reset();
  same.reset();
  registry.forget_unused();
  auto fresh = registry.state_for(rule(1, 1, std::chrono::hours(1)));
  EXPECT_TRUE(fresh->take("", kStart).allowed);
}

RequestAttributes request(std::string_view method, std::string_view path) {
  RequestAttributes r;
  r.method = method;
  r.path = path;
  r.authority = "reviews:9080";
  r.port = 9080;
  return r;
}

TEST(RateLimitFilter, OnlyMatchingRequestsTakeTokensAndTheRefusalSaysWhyAndWhen) {
  RateLimitRule api = rule(1, 1, std::chrono::milliseconds(1500));
  RouteMatch prefix;
  prefix.uri.kind = StringMatcher::Kind::kPrefix;
  prefix.uri.value = "/api/";
  api.matches.push_back(prefix);
  const std::vector<ActiveRateLimit> limits{{&api, std::make_shared<RateLimitState>(api)}};
  EXPECT_FALSE(check_rate_limits(limits, request("GET", "/api/a"), "", kStart));
  for (int i = 0; i < 5; ++i)
    EXPECT_FALSE(check_rate_limits(limits, request("GET", "/other"), "", kStart));
  const auto refused = check_rate_limits(limits, request("GET", "/api/b?x=1"), "", kStart);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(refused->reason, LocalReason::kRateLimited);
  EXPECT_EQ(refused->body, "rate_limited: shop/limits/test (1 per 1500ms, burst 1)\n");
  const std::vector<std::pair<std::string, std::string>> fields{
      {"retry-after", "2"},
      {"x-ratelimit-limit", "1"},
      {"x-ratelimit-remaining", "0"},
      {"x-ratelimit-reset", "2"},
      {"x-strait-rate-limit", "shop/limits/test"},
      {"x-envoy-ratelimited", "true"}};
  EXPECT_EQ(refused->fields, fields);
  auto grpc_call = request("POST", "/api/pkg.S/M");
  grpc_call.context = "application/grpc+proto";
  grpc_call.header = [](const void* content_type,
                        std::string_view name) -> std::optional<std::string_view> {
    if (name != "content-type") return std::nullopt;
    return std::string_view(static_cast<const char*>(content_type));
  };
  const auto grpc = check_rate_limits(limits, grpc_call, "", kStart);
  ASSERT_TRUE(grpc);
  EXPECT_EQ(grpc->status, 200);
  EXPECT_EQ(grpc->grpc_status, 8);  // RESOURCE_EXHAUSTED
}

TEST(RateLimitFilter, ARequestMustPassEveryLimitThatMatches) {
  RateLimitRule wide = rule(10, 1, std::chrono::hours(1));
  RateLimitRule narrow = rule(1, 1, std::chrono::hours(1));
  narrow.name = "shop/limits/narrow";
  const std::vector<ActiveRateLimit> limits{{&wide, std::make_shared<RateLimitState>(wide)},
                                            {&narrow, std::make_shared<RateLimitState>(narrow)}};
  EXPECT_FALSE(check_rate_limits(limits, request("GET", "/"), "", kStart));
  const auto refused = check_rate_limits(limits, request("GET", "/"), "", kStart);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->body.find("shop/limits/narrow"), std::string::npos);
}

TEST(RateLimitFilter, IntervalsReadAsWritten) {
  EXPECT_EQ(interval_text(std::chrono::seconds(1)), "1s");
  EXPECT_EQ(interval_text(std::chrono::milliseconds(250)), "250ms");
  EXPECT_EQ(interval_text(std::chrono::microseconds(1500)), "1.5ms");
  EXPECT_EQ(interval_text(std::chrono::milliseconds(1500)), "1500ms");
}

TEST(RateLimitFilter, GrpcContentTypes) {
  EXPECT_TRUE(is_grpc_content_type("application/grpc"));
  EXPECT_TRUE(is_grpc_content_type("application/grpc+proto"));
  EXPECT_TRUE(is_grpc_content_type("Application/GRPC; charset=utf-8"));
  EXPECT_FALSE(is_grpc_content_type("application/grpc-web"));
  EXPECT_FALSE(is_grpc_content_type("application/json"));
}

}  // namespace
}  // namespace strait::proxy
