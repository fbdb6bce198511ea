// Micro-benchmarks of the consistent-hash picks (src/proxy/load_balancer.h): hashing a key and
// looking it up in a ring-hash ring or a maglev table over 100 endpoints.
// Run: build/bin/load_balancer_bench --benchmark_min_time=0.2

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "proxy/load_balancer.h"

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

BENCHMARK(BM_RingHashPick);
BENCHMARK(BM_MaglevPick);
BENCHMARK(BM_MaglevBuild100);

}  // namespace

BENCHMARK_MAIN();
