#include "proxy/load_balancer.h"

#include <algorithm>

namespace strait::proxy {

std::string_view name_of(LoadBalancer::Kind kind) {
  switch (kind) {
    case LoadBalancer::Kind::kLeastRequest:
      return "LEAST_REQUEST";
    case LoadBalancer::Kind::kRoundRobin:
      return "ROUND_ROBIN";
    case LoadBalancer::Kind::kRandom:
      return "RANDOM";
    case LoadBalancer::Kind::kRingHash:
      return "RING_HASH";
    case LoadBalancer::Kind::kMaglev:
      return "MAGLEV";
  }
  return "LEAST_REQUEST";
}
namespace {

std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool is_prime(std::uint64_t n) {
  if (n < 2) return false;
  for (std::uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

}  // namespace

std::uint64_t stable_hash(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix(h);
}

std::shared_ptr<const HashTable> HashTable::ring(const std::vector<std::string>& ids, std::uint64_t minimum_size) {
  auto table = std::make_shared<HashTable>();
  if (ids.empty()) return table;
  const std::uint64_t wanted = minimum_size == 0 ? 1024 : std::min<std::uint64_t>(minimum_size, 8'388'608);
  const std::uint64_t per_member = (wanted + ids.size() - 1) / ids.size();
  table->ring_.reserve(per_member * ids.size());
  for (std::uint32_t m = 0; m < ids.size(); ++m) {
    const std::uint64_t base = stable_hash(ids[m]);
    for (std::uint64_t k = 0; k < per_member; ++k) table->ring_.emplace_back(mix(base ^ mix(k + 1)), m);
  }
  std::ranges::sort(table->ring_);
  return table;
}

std::shared_ptr<const HashTable> HashTable::maglev(const std::vector<std::string>& ids, std::uint64_t table_size) {
  auto table = std::make_shared<HashTable>();
  if (ids.empty()) return table;
  std::uint64_t m = table_size == 0 ? 65537 : table_size;
  while (!is_prime(m)) ++m;  // validation asks for a prime; be safe anyway
  const std::size_t n = ids.size();
  std::vector<std::uint64_t> offset(n);
  std::vector<std::uint64_t> skip(n);
  std::vector<std::uint64_t> next(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t h = stable_hash(ids[i]);
    offset[i] = h % m;
    skip[i] = mix(h) % (m - 1) + 1;
  }
  constexpr std::uint32_t kEmpty = 0xffffffffU;
  table->maglev_.assign(m, kEmpty);
  std::uint64_t filled = 0;
  while (true) {
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t slot = (offset[i] + next[i] * skip[i]) % m;
      while (table->maglev_[slot] != kEmpty) {
        ++next[i];
        slot = (offset[i] + next[i] * skip[i]) % m;
      }
      table->maglev_[slot] = static_cast<std::uint32_t>(i);
      ++next[i];
      if (++filled == m) return table;
    }
  }
}

std::uint32_t HashTable::member(std::uint64_t hash) const {
  if (!maglev_.empty()) return maglev_[hash % maglev_.size()];
  if (ring_.empty()) return 0;
  auto it = std::ranges::lower_bound(ring_, std::pair<std::uint64_t, std::uint32_t>{hash, 0});
  if (it == ring_.end()) it = ring_.begin();
  return it->second;
}

}  // namespace strait::proxy
