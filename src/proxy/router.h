// Where a request goes: from what the listener knows (outbound, inbound, upstream binding) and
// the request's target, to a mesh service port or the local application. Shared by the HTTP/1 and
// HTTP/2 sessions.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/local_reply.h"
#include "proxy/snapshot.h"
#include "proxy/stats.h"

namespace strait::proxy {

struct DownstreamInfo {
  ListenerKind kind = ListenerKind::kOutbound;
  std::string peer_identity;       // inbound: the caller sidecar's verified SPIFFE ID
  std::string peer_namespace;      // inbound: the namespace that SPIFFE ID names
  std::uint16_t inbound_port = 0;  // inbound: the service port named by the SNI (0: none)
  std::string fixed_host;          // upstream binding: every request goes to this service
  std::uint16_t fixed_port = 0;
  std::string source_ip;  // the downstream peer's address, as text
  std::string local_ip;   // inbound: the address the caller reached (destination.ip)
  std::string sni;        // inbound: the SNI the caller's sidecar sent (connection.sni)
  bool plaintext = false;  // inbound: the caller came without mTLS (no peer identity, no SNI)
};

struct Authority {
  std::string_view host;
  std::uint16_t port = 0;  // 0: not given
};
[[nodiscard]] std::optional<Authority> split_authority(std::string_view authority);

struct Destination {
  const ResolvedService* service = nullptr;  // outbound: a mesh service
  const EndpointSubset* subset = nullptr;    // null: any endpoint of the service
  const HttpRoute* route = nullptr;          // the VirtualService route that matched, if any
  const RouteMatch* match = nullptr;         // its block that matched (null: a route without blocks)
  const RouteTarget* target = nullptr;       // the destination the weights picked
  std::optional<std::uint64_t> hash;         // the request's consistent-hash key, when the lb hashes
  [[nodiscard]] HeaderEdits request_edits() const {
    return {route != nullptr ? &route->request_headers : nullptr, target != nullptr ? &target->request_headers : nullptr};
  }
  [[nodiscard]] HeaderEdits response_edits() const {
    return {route != nullptr ? &route->response_headers : nullptr, target != nullptr ? &target->response_headers : nullptr};
  }
  std::uint16_t port = 0;
  Protocol protocol = Protocol::kHttp;       // how the destination port speaks
  std::uint16_t app_port = 0;                // inbound: the local application
  std::size_t avoid_endpoint = static_cast<std::size_t>(-1);  // a retry's previous host
  // The cluster the request goes to (a mesh service's port over its subset), with its traffic
  // settings and counts; null for the local application.
  [[nodiscard]] const ResolvedCluster* cluster() const {
    return service != nullptr ? &service->cluster(subset, port) : nullptr;
  }
  // Calls to mesh services are retried by the route's policy, or Istio's default without one;
  // inbound calls and calls to the local application are not retried (nullptr).
  [[nodiscard]] const RetryPolicy* retry_policy() const {
    if (service == nullptr) return nullptr;
    return route != nullptr && route->retries ? &*route->retries : &default_retry_policy();
  }
  [[nodiscard]] std::chrono::milliseconds timeout() const {
    return route != nullptr ? route->timeout : std::chrono::milliseconds(0);
  }
};

struct RouteError {
  int status;
  LocalReason reason;
  std::string detail;
};

// Resolves `authority` (Host or :authority, possibly from an absolute URI) for the listener
// described by `info`.
// `stated_port`: the service port a caller's sidecar named in kStatedPortHeader (plaintext inbound
// requests only; 0: none).
[[nodiscard]] std::expected<Destination, RouteError> route_request(const Snapshot& snapshot,
                                                                   const DownstreamInfo& info,
                                                                   std::string_view authority,
                                                                   std::uint16_t stated_port = 0);

// The port an `x-strait-port` value names (kStatedPortHeader, http_head_writer.h); 0: none or not a
// port.
[[nodiscard]] std::uint16_t parse_stated_port(std::optional<std::string_view> value);

// Applies the VirtualService routes of an outbound destination: the first route that matches the
// request picks a target by weight (`random` is a uniformly random number), which may change the
// service, port and subset. No routes: `d` is left as it is. Errors: 404 when the service has
// routes but none matches (Istio's NR), 503 when the chosen target does not exist.
[[nodiscard]] std::expected<void, RouteError> select_http_route(Destination& d, const RequestAttributes& request,
                                                                std::uint64_t random);

// Applies the VirtualService's tls[] routes (a TLS port: by the application's SNI, "" when none)
// and tcp[] routes (by port) to an opaque connection's destination, which `d` holds as the service
// port it reached: the first route that matches picks a target by weight. No route matches: `d`
// is left as it is (the service itself). Errors as select_http_route's, for a bad target.
[[nodiscard]] std::expected<void, RouteError> select_l4_route(Destination& d, std::string_view sni,
                                                              std::uint64_t random);

// A unit of the destination's connectionPool.http.http2MaxRequests for one request (always held
// for a destination that is not a mesh service). When it is not held, `overflow` says why.
[[nodiscard]] CircuitSlot take_request_slot(const Destination& d, std::string& overflow);

// Whether a request falls in a share of `percent` (0-100, fractions), drawn from a uniform 64-bit
// number: exact to a millionth of a percent.
[[nodiscard]] bool share_drawn(double percent, std::uint64_t random);

// What the matched route asks for before the request goes upstream: a response of the proxy's own
// (directResponse, redirect, fault abort), a delay (fault delay), or neither. `random` draws the
// fault percentages (two independent draws).
struct RouteAction {
  std::optional<LocalResponse> respond;
  std::chrono::milliseconds delay{0};
  // Fields for the upstream's response (the CORS fields of a request from an allowed origin).
  std::vector<std::pair<std::string, std::string>> response_fields;
};
[[nodiscard]] RouteAction route_action(const Destination& d, const RequestAttributes& request,
                                       std::uint64_t random_delay, std::uint64_t random_abort);

// The consistent-hash key of a request for the destination's load balancer (nullopt: the lb does
// not hash, or the request lacks the attribute; the sidecar then picks at random).
[[nodiscard]] std::optional<std::uint64_t> hash_key(const Destination& d, const RequestAttributes& request);

// For a consistent hash on a cookie with a ttl when the request lacks the cookie (hash_key gave
// none): makes a new value from `random`, sets it as the request's hash key, and returns the
// Set-Cookie field for the answer. nullopt when no cookie is to be generated.
[[nodiscard]] std::optional<std::pair<std::string, std::string>> generate_hash_cookie(
    Destination& d, std::uint64_t random);

// The Location of a redirect for a request (scheme "http", its authority and path).
[[nodiscard]] std::string redirect_location(const Redirect& redirect, const RequestAttributes& request);

}  // namespace strait::proxy
