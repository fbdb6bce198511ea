// HTTP routing from VirtualServices and DestinationRule subsets, as a proxy holds it: for each
// service, the ordered routes of the VirtualService that claims its host; the first route whose
// match applies picks a destination by weight. Semantics are Istio's (reference/istio-api.md):
// within one match block every condition must hold; a route matches if any of its blocks does; a
// route without match blocks matches everything.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace strait::proxy {

struct StringMatcher {
  enum class Kind : std::uint8_t { kAny, kExact, kPrefix, kRegex };
  Kind kind = Kind::kAny;
  std::string value;
  std::shared_ptr<const re2::RE2> regex;  // kRegex: full match
  [[nodiscard]] bool matches(std::string_view text, bool ignore_case = false) const;
};

struct HeaderMatcher {
  std::string name;  // lower case
  StringMatcher match;
  bool must_be_absent = false;  // withoutHeaders: the request must not carry a matching header
};

struct RouteMatch {
  StringMatcher uri;  // the path without the query
  StringMatcher method;
  StringMatcher authority;
  StringMatcher scheme;  // the request's scheme ("http" for the mesh's cleartext calls)
  std::vector<HeaderMatcher> headers;
  std::vector<std::pair<std::string, StringMatcher>> query_params;
  std::uint16_t port = 0;  // 0: any
  bool ignore_uri_case = false;
};

struct RouteTarget {
  std::string host;          // FQDN of the destination service
  std::uint16_t port = 0;    // 0: the port the request was sent to
  std::string subset;        // "" : every endpoint
  std::uint32_t weight = 0;
};

// directResponse: the proxy answers itself.
struct DirectResponse {
  int status = 200;
  std::string body;
};

// redirect: the proxy answers with a Location built from the request and these parts.
struct Redirect {
  enum class Port : std::uint8_t { kUnchanged, kFixed, kFromProtocolDefault, kFromRequestPort };
  std::string uri;        // replaces the path (and query) when set
  std::string authority;  // replaces the host when set
  std::string scheme;     // replaces the scheme when set
  Port port_mode = Port::kUnchanged;
  std::uint16_t port = 0;
  int code = 301;
};

// fault: independent delay and abort, each on a share of requests (percent, 0-100, fractions).
struct FaultDelay {
  double percent = 100;
  std::chrono::milliseconds delay{0};
};
struct FaultAbort {
  double percent = 100;
  int http_status = 0;  // 0: a gRPC abort
  int grpc_status = -1;
};

struct HttpRoute {
  std::string name;
  std::vector<RouteMatch> matches;  // empty: matches every request
  std::vector<RouteTarget> targets;
  std::optional<DirectResponse> direct_response;
  std::optional<Redirect> redirect;
  std::optional<FaultDelay> fault_delay;
  std::optional<FaultAbort> fault_abort;
  std::string virtual_service;      // <namespace>/<name>, for errors and config_dump
};

struct Subset {
  std::string name;
  std::map<std::string, std::string> labels;
};

// What a route match looks at. `header` returns a header's value (names are lower case), or
// nullopt when the request has no such header.
struct RequestAttributes {
  std::string_view method;
  std::string_view path;  // with the query
  std::string_view authority;
  std::uint16_t port = 0;
  const void* context = nullptr;
  std::optional<std::string_view> (*header)(const void* context, std::string_view name) = nullptr;
  std::string_view scheme = "http";
};

[[nodiscard]] bool route_matches(const HttpRoute& route, const RequestAttributes& request);

}  // namespace strait::proxy
