// Micro-benchmarks of each load balancer's pick over 100 endpoints: the consistent-hash picks
// (src/proxy/load_balancer.h: hashing a key and looking it up in a ring-hash ring or a maglev
// table) and first_choice (src/proxy/upstream_connector.cc) for least request, round robin and
// random, as a worker runs them.
// Run: build/bin/load_balancer_bench --benchmark_min_time=0.2

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "proxy/load_balancer.h"
#include "proxy/snapshot.h"
#include "proxy/upstream_connector.h"
#include "proxy/worker.h"

namespace {

using strait::proxy::HashTable;

std::vector<std::string> endpoints() {
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.push_back("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ":15006");
  return ids;
}

void pick(benchmark::State& state, const HashTable& table) {
  const std::string key = "user-4711@example.com";
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.member(strait::proxy::stable_hash(key)));
  }
}

void BM_RingHashPick(benchmark::State& state) {
  static const auto table = HashTable::ring(endpoints(), 1024);
  pick(state, *table);
}
void BM_MaglevPick(benchmark::State& state) {
  static const auto table = HashTable::maglev(endpoints(), 65537);
  pick(state, *table);
}
void BM_MaglevBuild100(benchmark::State& state) {
  const auto ids = endpoints();
  for (auto _ : state) benchmark::DoNotOptimize(HashTable::maglev(ids, 65537));
}

// first_choice on a worker whose endpoints have 0-3 requests in flight each.
void first_choice_with(benchmark::State& state, strait::proxy::LoadBalancer::Kind kind) {
  using namespace strait::proxy;
  Service service;
  service.fqdn = "reviews.shop.svc.cluster.local";
  service.endpoints.resize(100);
  ResolvedService resolved;
  resolved.service = &service;
  resolved.endpoint_names = endpoints();
  TrafficSettings settings;
  settings.lb.kind = kind;
  resolved.all = EndpointSubset{"", {}, service.fqdn, 0, nullptr};
  for (std::uint32_t i = 0; i < 100; ++i) resolved.all.members.push_back(i);
  ResolvedCluster cluster;
  cluster.service = &resolved;
  cluster.set = &resolved.all;
  cluster.settings = &settings;
  Worker worker(0);
  for (std::size_t i = 0; i < 100; ++i) {
    for (std::size_t n = 0; n < i % 4; ++n) worker.add_active_request(resolved.endpoint_names[i], 1);
  }
  for (auto _ : state) benchmark::DoNotOptimize(first_choice(worker, cluster, std::nullopt));
}
void BM_LeastRequestPick(benchmark::State& state) {
  first_choice_with(state, strait::proxy::LoadBalancer::Kind::kLeastRequest);
}
void BM_RoundRobinPick(benchmark::State& state) {
  first_choice_with(state, strait::proxy::LoadBalancer::Kind::kRoundRobin);
}
void BM_RandomPick(benchmark::State& state) { first_choice_with(state, strait::proxy::LoadBalancer::Kind::kRandom); }

BENCHMARK(BM_LeastRequestPick);
BENCHMARK(BM_RoundRobinPick);
BENCHMARK(BM_RandomPick);
BENCHMARK(BM_RingHashPick);
BENCHMARK(BM_MaglevPick);
BENCHMARK(BM_MaglevBuild100);

}  // namespace

BENCHMARK_MAIN();
