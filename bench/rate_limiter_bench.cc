// The cost of a rate-limit check on the request path (proxy/rate_limiter.h): one take from a
// workload's bucket, from a per-caller bucket among 500 callers, and the whole inbound check with
// a prefix match; then the same bucket taken by 2 threads at once (the CAS under contention).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "proxy/rate_limit_filter.h"
#include "proxy/rate_limiter.h"

namespace {

using namespace strait::proxy;

RateLimitRule generous(bool per_source) {
  RateLimitRule rule;
  rule.name = "shop/limits/bench";
  rule.max_tokens = 1'000'000'000;  // never refuses: the cost of an allowed request
  rule.tokens_per_fill = 1'000'000;
  rule.fill_interval = std::chrono::seconds(1);
  rule.per_source = per_source;
  return rule;
}

void BM_WorkloadBucket(benchmark::State& state) {
  RateLimitState limit(generous(false));
  for (auto _ : state) benchmark::DoNotOptimize(limit.take("", steady_now_ns()));
}
BENCHMARK(BM_WorkloadBucket);

void BM_PerCallerBucket(benchmark::State& state) {
  RateLimitState limit(generous(true));
  std::vector<std::string> callers;
  for (int i = 0; i < 500; ++i)
    callers.push_back("spiffe://cluster.local/ns/shop/sa/caller-" + std::to_string(i));
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(limit.take(callers[i], steady_now_ns()));
    i = i + 1 == callers.size() ? 0 : i + 1;
  }
}
BENCHMARK(BM_PerCallerBucket);

void BM_InboundCheckWithPrefixMatch(benchmark::State& state) {
  RateLimitRule rule = generous(false);
  RouteMatch prefix;
  prefix.uri.kind = StringMatcher::Kind::kPrefix;
  prefix.uri.value = "/api/";
  rule.matches.push_back(prefix);
  const std::vector<ActiveRateLimit> limits{{&rule, std::make_shared<RateLimitState>(rule)}};
  RequestAttributes request;
  request.method = "GET";
  request.path = "/api/items?page=2";
  request.authority = "reviews:9080";
  request.port = 9080;
  for (auto _ : state)
    benchmark::DoNotOptimize(check_rate_limits(limits, request, "", steady_now_ns()));
}
BENCHMARK(BM_InboundCheckWithPrefixMatch);

RateLimitState& shared_state() {
  static RateLimitState limit(generous(false));
  return limit;
}

void BM_WorkloadBucketContended(benchmark::State& state) {
  RateLimitState& limit = shared_state();
  for (auto _ : state) benchmark::DoNotOptimize(limit.take("", steady_now_ns()));
}
BENCHMARK(BM_WorkloadBucketContended)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
