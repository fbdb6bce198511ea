// Opening upstream connections: to a mesh endpoint over mTLS (verifying that the server's SPIFFE ID
// may serve the service), to a plaintext endpoint, or to the local application. Connects are bounded
// by the connect timeout; a failed endpoint is followed by the next one, up to three attempts.
#pragma once

#include <asio/awaitable.hpp>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/local_reply.h"
#include "proxy/upstream_pool.h"
#include "proxy/worker.h"

namespace strait::proxy {

inline constexpr std::size_t kNoEndpoint = static_cast<std::size_t>(-1);
// Endpoints tried for one request before giving up on connecting.
inline constexpr std::size_t kMaxConnectAttempts = 3;

// The endpoints to try, in order: from first_choice on, passing over those outlier detection has
// ejected (unless it ejects none that matter: then every endpoint of the set counts), at most
// kMaxConnectAttempts.
struct EndpointOrder {
  std::array<std::size_t, kMaxConnectAttempts> indices{};  // into the service's endpoints
  std::size_t size = 0;
};
[[nodiscard]] EndpointOrder endpoints_to_try(Worker& worker, const ResolvedCluster& cluster,
                                             std::optional<std::uint64_t> hash, std::size_t avoid);

struct ConnectOutcome {
  std::unique_ptr<UpstreamConnection> connection;  // null on failure
  LocalReason failure = LocalReason::kUpstreamConnectFailed;
  std::string detail;
  std::size_t endpoint = kNoEndpoint;  // index into the service's endpoints (mesh services only)
};

// A connection to some endpoint of `service` (of `subset` when given) for `port`, speaking `alpn`
// (kAlpnHttp11 or kAlpnTcp) with mesh endpoints. `pooled` takes an idle pooled connection first
// (HTTP only). `avoid` is an endpoint to pass over while the set has another (a retry's previous
// host).
asio::awaitable<ConnectOutcome> connect_to_service(Worker& worker, const Snapshot& snapshot,
                                                   const ResolvedService& service,
                                                   std::uint16_t port, std::string_view alpn,
                                                   bool pooled, const EndpointSubset* subset = nullptr,
                                                   std::optional<std::uint64_t> hash = std::nullopt,
                                                   std::size_t avoid = kNoEndpoint);

// The slot of the cluster's endpoint set to try first, by the cluster's load balancer: least
// request, round robin, random, or the consistent hash of `hash` (random without one); the next
// slot when that one holds endpoint `avoid` and the set has more than one.
[[nodiscard]] std::size_t first_choice(Worker& worker, const ResolvedCluster& cluster,
                                       std::optional<std::uint64_t> hash,
                                       std::size_t avoid = kNoEndpoint);

// Counts a request in flight to an endpoint on this worker (for the least-request balancer) for as
// long as it lives. `endpoint` names it as in ResolvedService::endpoint_names (the snapshot that
// holds the name must outlive this).
class EndpointRequest {
 public:
  EndpointRequest(Worker& worker, const std::string& endpoint) : worker_(worker), endpoint_(endpoint) {
    worker_.add_active_request(endpoint_, 1);
  }
  ~EndpointRequest() { worker_.add_active_request(endpoint_, -1); }
  EndpointRequest(const EndpointRequest&) = delete;
  EndpointRequest& operator=(const EndpointRequest&) = delete;

 private:
  Worker& worker_;
  const std::string& endpoint_;
};

// A new connection to endpoint `index` (into the service's endpoints) for the cluster's port, with
// its connection settings (no pool, no retry).
asio::awaitable<ConnectOutcome> connect_to_endpoint(Worker& worker, const Snapshot& snapshot,
                                                    const ResolvedCluster& cluster,
                                                    std::size_t index, std::string_view alpn);

// A plaintext connection to the local application, pooled for HTTP.
asio::awaitable<ConnectOutcome> connect_to_app(Worker& worker, const Snapshot& snapshot,
                                               std::uint16_t app_port, bool pooled);

}  // namespace strait::proxy
