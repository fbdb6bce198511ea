// Micro-benchmarks of the route table a sidecar walks for each HTTP request (src/proxy/router.h):
// a VirtualService of 1,000 routes of mixed match kinds (exact, prefix and regex paths, header and
// query conditions), built the way a pushed view builds it, and the cost of finding the route of
// one request: the first route, a route in the middle, the last, and no route at all.
// Run: build/bin/route_table_bench --benchmark_min_time=0.2

#include <benchmark/benchmark.h>
#include <re2/re2.h>

#include <map>
#include <memory>
#include <string>

#include "proxy/router.h"
#include "proxy/snapshot.h"

namespace {

using namespace strait::proxy;

constexpr int kRoutes = 1000;

// Route i matches, by i % 4: an exact path, a path prefix, a path regex, or a path prefix plus a
// header and a query parameter. Each goes to one of two subsets.
std::shared_ptr<const Snapshot> mesh_with_routes() {
  auto config = std::make_shared<ProxyConfig>();
  config->workload.name = "web";
  config->workload.ns = "shop";
  Service reviews;
  reviews.name = "reviews";
  reviews.ns = "shop";
  reviews.fqdn = "reviews.shop.svc.cluster.local";
  reviews.ports = {{9080, Protocol::kHttp}};
  for (int v = 1; v <= 2; ++v) {
    Endpoint e;
    e.address = HostPort{"10.0.0." + std::to_string(v), 15006};
    e.identity = "spiffe://cluster.local/ns/shop/sa/reviews";
    e.labels = {{"version", "v" + std::to_string(v)}};
    reviews.endpoints.push_back(e);
  }
  reviews.subsets = {{"v1", {{"version", "v1"}}}, {"v2", {{"version", "v2"}}}};
  for (int i = 0; i < kRoutes; ++i) {
    HttpRoute route;
    route.virtual_service = "shop/reviews";
    RouteMatch m;
    const std::string n = std::to_string(i);
    switch (i % 4) {
      case 0:
        m.uri = {StringMatcher::Kind::kExact, "/api/v1/items/" + n, nullptr};
        break;
      case 1:
        m.uri = {StringMatcher::Kind::kPrefix, "/api/v1/things/" + n + "/", nullptr};
        break;
      case 2:
        m.uri = {StringMatcher::Kind::kRegex, "/api/v[0-9]+/orders/" + n + "/[a-z]+",
                 std::make_shared<const re2::RE2>("/api/v[0-9]+/orders/" + n + "/[a-z]+")};
        break;
      default:
        m.uri = {StringMatcher::Kind::kPrefix, "/api/v1/users/" + n, nullptr};
        m.headers.push_back({"x-tenant", {StringMatcher::Kind::kExact, "t" + n, nullptr}, false});
        m.query_params.emplace_back("region", StringMatcher{StringMatcher::Kind::kExact, "eu", nullptr});
        break;
    }
    route.matches.push_back(std::move(m));
    route.targets.push_back({"reviews.shop.svc.cluster.local", 0, i % 2 == 0 ? "v1" : "v2", 100, {}, {}});
    reviews.http_routes.push_back(std::move(route));
  }
  config->services.push_back(std::move(reviews));
  auto snapshot = build_snapshot(config, {}, 1);
  if (!snapshot) std::abort();
  return *snapshot;
}

std::optional<std::string_view> headers(const void* context, std::string_view name) {
  const auto& h = *static_cast<const std::map<std::string, std::string, std::less<>>*>(context);
  auto it = h.find(name);
  return it == h.end() ? std::nullopt : std::optional<std::string_view>(it->second);
}

void route_one(benchmark::State& state, std::string_view path, std::map<std::string, std::string, std::less<>> hdrs,
               bool expect_route) {
  static const auto snapshot = mesh_with_routes();
  const DownstreamInfo outbound;
  std::uint64_t random = 0;
  for (auto _ : state) {
    auto d = route_request(*snapshot, outbound, "reviews:9080");
    RequestAttributes request{"GET", path, "reviews:9080", 9080, &hdrs, &headers};
    auto routed = select_http_route(*d, request, ++random);
    if (routed.has_value() != expect_route) state.SkipWithError("unexpected routing result");
    benchmark::DoNotOptimize(d->subset);
  }
}

void BM_RouteFirst(benchmark::State& state) { route_one(state, "/api/v1/items/0", {}, true); }
void BM_RouteMiddleRegex(benchmark::State& state) { route_one(state, "/api/v2/orders/502/pending", {}, true); }
void BM_RouteLastWithHeaderAndQuery(benchmark::State& state) {
  route_one(state, "/api/v1/users/999/profile?region=eu", {{"x-tenant", "t999"}}, true);
}
void BM_RouteNoMatch(benchmark::State& state) { route_one(state, "/nothing/here", {}, false); }

BENCHMARK(BM_RouteFirst);
BENCHMARK(BM_RouteMiddleRegex);
BENCHMARK(BM_RouteLastWithHeaderAndQuery);
BENCHMARK(BM_RouteNoMatch);

}  // namespace

BENCHMARK_MAIN();
