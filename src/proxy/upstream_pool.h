// Per-worker pool of idle upstream connections, keyed by endpoint, SNI and protocol. Only its own
// worker touches it, so it needs no lock.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/read_buffer.h"
#include "net/stream.h"
#include "proxy/circuit_breaker.h"

namespace strait::proxy {

struct UpstreamConnection {
  UpstreamConnection(net::Stream s, std::string pool_key, std::size_t max_buffer)
      : stream(std::move(s)), buffer(max_buffer), key(std::move(pool_key)) {}
  net::Stream stream;
  net::ReadBuffer buffer;
  std::string key;
  std::string peer_identity;  // verified SPIFFE ID, for mTLS connections
  std::chrono::steady_clock::time_point idle_since;
  bool reused = false;  // true once taken from the pool at least once
  std::uint32_t requests = 0;  // requests sent on it (maxRequestsPerConnection)
  CircuitSlot counted;         // its unit of the service's maxConnections, released when it closes
};

class UpstreamPool {
 public:
  // An idle connection for `key` that is still usable (peer has not closed it, not idle too long),
  // or nullptr. Stale connections found on the way are closed.
  std::unique_ptr<UpstreamConnection> take(const std::string& key, std::chrono::milliseconds max_idle);
  // Keeps a connection for reuse, unless `max_per_key` are already idle for its key.
  void give_back(std::unique_ptr<UpstreamConnection> connection, std::size_t max_per_key);
  void clear();

 private:
  std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
};

}  // namespace strait::proxy
