// VirtualService tcp[] and tls[] routes as a proxy holds them: each opaque connection (a TCP or
// TLS port reached through an upstream binding or a CONNECT tunnel) takes the first route whose
// match holds and a destination drawn by weight, for the connection's whole life. Semantics are
// Istio's: tls[] routes match the SNI of the application's own ClientHello (passthrough: the
// sidecar does not terminate that TLS) and the port; tcp[] routes match the port.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http_route.h"

namespace strait::proxy {

struct L4Match {
  std::uint16_t port = 0;  // 0: any
  std::vector<std::string>
      sni_hosts;  // tls[] only, lower case: "a.example.com", "*.example.com", "*"
};

struct L4Route {
  std::vector<L4Match> matches;      // any of them; empty: every connection
  std::vector<RouteTarget> targets;  // host, port, subset and weight (header edits do not apply)
  std::string virtual_service;       // <namespace>/<name>
};

// Istio's sniHosts patterns: exact (any case), "*.suffix" for any name under suffix, "*" for all.
[[nodiscard]] bool sni_matches(std::string_view pattern, std::string_view sni);

// Whether a connection to `port` with this SNI ("" : none, or not TLS) takes the route.
[[nodiscard]] bool l4_route_matches(const L4Route& route, std::uint16_t port, std::string_view sni);

}  // namespace strait::proxy
