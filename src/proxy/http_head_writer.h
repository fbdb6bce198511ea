// Serializes the heads the proxy forwards: the request it sends upstream and the response it sends
// downstream. Hop-by-hop fields are dropped per RFC 9110 7.6.1 (Connection, Keep-Alive,
// Proxy-Connection, TE except "trailers", Transfer-Encoding, Upgrade unless upgrading,
// Proxy-Authenticate/Authorization, and every field named in Connection); the framing fields the
// proxy itself uses are re-added.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "proxy/http_route.h"

namespace strait::proxy {
class OutgoingTraceHeaders;
}

namespace strait::proxy {

// A caller's sidecar that calls a sidecar in plaintext (its port is PeerAuthentication DISABLE)
// names the service port it chose here, since there is no SNI to say it and the Host the
// application wrote may name another (a route to another host or port). Never forwarded to an
// application; an incoming one is always dropped. A caller without a sidecar may send it too: it
// only picks which port's mode applies, as the Host could.
inline constexpr std::string_view kStatedPortHeader = "x-strait-port";

// Header edits applied on top of the forwarded request fields.
struct RequestEdits {
  std::string_view path;       // request-target to send (origin-form)
  std::string_view authority;  // non-empty: replaces Host (absolute-form requests)
  std::string_view request_id; // non-empty: added as x-request-id (the request had none)
  bool add_forwarded_proto = false;  // the request had no x-forwarded-proto
  std::string_view client_cert;      // non-empty: x-forwarded-client-cert value (inbound)
  bool strip_client_cert = true;     // an incoming XFCC is never trusted
  // Non-zero: sent as kStatedPortHeader (an incoming one is always dropped).
  std::uint16_t stated_port = 0;
  // Non-empty: sent as kPeerMetadataHeader, peer_metadata.h (an incoming one is always dropped).
  std::string_view peer_metadata;
  // Non-null: the trace headers to send (trace_context.h); the incoming ones are dropped.
  const OutgoingTraceHeaders* trace = nullptr;
  HeaderEdits headers;               // the route's headers.request
};

void write_request_head(const http::RequestHead& head, const RequestEdits& edits, std::string& out);

struct ResponseEdits {
  bool close = false;         // tell the client the connection closes after this response
  bool keep_alive_10 = false; // HTTP/1.0 client kept alive: say so explicitly
  bool dechunk = false;       // body is forwarded without chunked framing
  bool upgrade = false;       // 101: keep Connection: upgrade and Upgrade
  HeaderEdits headers;        // the route's headers.response
  // Fields the proxy sets (the CORS fields, a generated hash cookie), replacing the upstream's as
  // replaced_by_proxy_fields says.
  const std::vector<std::pair<std::string, std::string>>* fields = nullptr;
};

void write_response_head(const http::ResponseHead& head, const ResponseEdits& edits, std::string& out);

// True for fields that describe one connection only (see the list above) and for every field named
// by one of the message's Connection fields (a list, which may be split over several fields).
[[nodiscard]] bool is_hop_by_hop(std::string_view name, const std::vector<http::HeaderField>& headers);

// A 16-byte random id formatted as a UUID v4 (x-request-id).
[[nodiscard]] std::string format_request_id(std::uint64_t high, std::uint64_t low);

}  // namespace strait::proxy
