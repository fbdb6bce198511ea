// How a sidecar picks an endpoint of a service (or subset) for a request: least request (the
// default), round robin, random, or a consistent hash of a request attribute (DestinationRule
// loadBalancer, Istio's semantics). The
// consistent-hash tables are built once per snapshot from the endpoints' addresses, so that the
// same key lands on the same endpoint, and removing one of N endpoints moves only about 1/N keys.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace strait::proxy {

struct LoadBalancer {
  // kLeastRequest: the power of two choices over the worker's requests in flight per endpoint.
  enum class Kind : std::uint8_t { kLeastRequest, kRoundRobin, kRandom, kRingHash, kMaglev };
  enum class HashKey : std::uint8_t { kNone, kHeader, kCookie, kQueryParameter, kSourceIp };
  Kind kind = Kind::kLeastRequest;  // Istio's default (UNSPECIFIED, LEAST_REQUEST, LEAST_CONN)
  HashKey key = HashKey::kNone;
  std::string key_name;          // header (lower case), cookie or query parameter name
  // httpCookie with a ttl: a request without the cookie gets a generated one (Set-Cookie on the
  // answer) so that its next requests stick to the same endpoint.
  std::chrono::seconds cookie_ttl{0};
  std::string cookie_path;        // the generated cookie's Path ("" : none)
  std::string cookie_attributes;  // "; Name=Value" for each extra attribute
  std::uint64_t table_size = 0;  // ring hash: minimum ring size (default 1024); maglev: table size (65537)
  [[nodiscard]] bool hashed() const { return kind == Kind::kRingHash || kind == Kind::kMaglev; }
};

// Istio's name of the balancer ("LEAST_REQUEST", "ROUND_ROBIN", "RANDOM", "RING_HASH", "MAGLEV").
[[nodiscard]] std::string_view name_of(LoadBalancer::Kind kind);

// A 64-bit hash with good spread (FNV-1a, then a SplitMix64 finalizer); stable across processes.
[[nodiscard]] std::uint64_t stable_hash(std::string_view bytes);

// A key's hash to one of N members, consistently.
class HashTable {
 public:
  // `ids` name the members (their addresses); their order is the members' order.
  [[nodiscard]] static std::shared_ptr<const HashTable> ring(const std::vector<std::string>& ids,
                                                             std::uint64_t minimum_size);
  [[nodiscard]] static std::shared_ptr<const HashTable> maglev(const std::vector<std::string>& ids,
                                                               std::uint64_t table_size);
  // The member for a key's hash (members must be non-empty).
  [[nodiscard]] std::uint32_t member(std::uint64_t hash) const;

 private:
  std::vector<std::pair<std::uint64_t, std::uint32_t>> ring_;  // sorted by point
  std::vector<std::uint32_t> maglev_;                          // lookup table
};

}  // namespace strait::proxy
