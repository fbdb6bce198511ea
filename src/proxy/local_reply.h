// Responses the proxy makes itself. Every one says why, in `x-strait-reason` and a one-line body,
// instead of an opaque 503 (product.md, "Defaults that differ from Istio on purpose").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http_route.h"

namespace strait::proxy {

enum class LocalReason : std::uint8_t {
  kMalformedRequest,          // 400/414/431/501/505 from the HTTP/1 parser; detail names the rule
  kHeaderTimeout,             // 408: the request head did not arrive in time
  kNoRoute,                   // 404: the host is not a known service
  kNoHealthyUpstream,         // 503: the service has no endpoint
  kUpstreamConnectFailed,     // 503: every connect attempt failed
  kUpstreamConnectTimeout,    // 504: connect or handshake took longer than connectTimeout
  kUpstreamTlsFailed,         // 503: the mTLS handshake with the peer sidecar failed
  kUpstreamIdentityMismatch,  // 503: the server's SPIFFE ID may not serve this service
  kUpstreamResetBeforeResponse,  // 502: the upstream closed or reset before a response head
  kUpstreamProtocolError,        // 502: the upstream's response head was malformed
  kUpstreamTimeout,              // 504: no byte from the upstream within streamIdleTimeout
  kUpstreamResponseTimeout,      // 504: no response within the route's timeout (or the last
                                 // perTryTimeout)
  kMethodNotAllowed,             // 405: CONNECT on a listener that does not tunnel
  kUnknownInboundPort,           // 404: inbound traffic for a port this workload does not serve
  kDirectResponse,               // the route's directResponse (its status and body)
  kRedirect,                     // the route's redirect (3xx with Location)
  kFaultAbort,                   // the route's fault.abort (its status)
  kUpstreamOverflow,             // 503: a connectionPool limit of the destination is reached
  kCorsPreflight,                // 200: a CORS preflight answered by the route's corsPolicy
  kRateLimited,                  // 429: a RateLimitPolicy's limit has no token left for the request
  kRbacDenied,                   // 403: an AuthorizationPolicy denies the request (TCP: closed)
  kJwtInvalid,                   // 401: the request's JWT is not valid under RequestAuthentication
  kMtlsRequired,                 // 403: plaintext to a port whose PeerAuthentication is STRICT
  kCount,
};

[[nodiscard]] std::string_view name_of(LocalReason reason);

// A complete HTTP/1.1 response: status line, `x-strait-reason`, a text body "<reason>: <detail>".
[[nodiscard]] std::string build_local_reply(int status, LocalReason reason, std::string_view detail,
                                            bool close_connection);
// Same, with an explicit reason name (for parser errors whose names come from the parser).
[[nodiscard]] std::string build_local_reply(int status, std::string_view reason_name,
                                            std::string_view detail, bool close_connection);

[[nodiscard]] std::string_view reason_phrase(int status);

// A response a route asks for (directResponse, redirect, fault abort), for either HTTP version.
struct LocalResponse {
  int status = 200;
  LocalReason reason = LocalReason::kDirectResponse;
  std::string content_type = "text/plain";
  std::string body;
  std::string location;   // redirect
  int grpc_status = -1;   // >= 0: a gRPC fault, sent as grpc-status with HTTP 200
  HeaderEdits edits;      // the route's headers.response (direct responses and redirects)
  std::vector<std::pair<std::string, std::string>> fields;  // more fields (CORS preflight answers)
};

// The HTTP/1.1 bytes of `response` (with x-strait-reason naming the mechanism). A response to HEAD
// carries its content-length but no body; 204 and 304 carry neither.
[[nodiscard]] std::string build_local_response(const LocalResponse& response, bool close_connection,
                                               bool head_request = false);

// Whether a response with this status to this request carries a body (RFC 9110 6.4.1).
[[nodiscard]] inline bool response_has_body(int status, bool head_request) {
  return !head_request && status >= 200 && status != 204 && status != 304;
}

}  // namespace strait::proxy
