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

#include "proxy/load_balancer.h"
#include "proxy/retry_policy.h"

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

// headers.request / headers.response of a route or of one of its destinations. Names are lower
// case; `set` replaces every field of its name, `add` appends, `remove` drops.
struct HeaderOps {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::pair<std::string, std::string>> add;
  std::vector<std::string> remove;
  [[nodiscard]] bool empty() const { return set.empty() && add.empty() && remove.empty(); }
};

// The edits of a route and of its chosen destination, applied in that order.
struct HeaderEdits {
  const HeaderOps* route = nullptr;
  const HeaderOps* target = nullptr;
  [[nodiscard]] bool empty() const {
    return (route == nullptr || route->empty()) && (target == nullptr || target->empty());
  }
  // True when a forwarded field of this name (any case) is removed or replaced.
  [[nodiscard]] bool drops(std::string_view name) const;
  // True when the destination's edits set or remove `name`, replacing what the route did to it.
  [[nodiscard]] bool overridden_by_target(std::string_view name) const;
  // Calls emit(name, value) for each field the edits add (set and add). A field the route sets or
  // adds and the destination then sets or removes is the destination's alone.
  template <typename Emit>
  void for_each_added(Emit&& emit) const {
    if (route != nullptr) {
      for (const auto& [n, v] : route->set) {
        if (!overridden_by_target(n)) emit(n, v);
      }
      for (const auto& [n, v] : route->add) {
        if (!overridden_by_target(n)) emit(n, v);
      }
    }
    if (target != nullptr) {
      for (const auto& [n, v] : target->set) emit(n, v);
      for (const auto& [n, v] : target->add) emit(n, v);
    }
  }
  // Applies the edits to a list of lower-case fields (HTTP/2 heads).
  void apply(std::vector<std::pair<std::string, std::string>>& fields) const;
};

// Whether the fields the proxy sets on an upstream's answer (CORS fields, a generated hash cookie)
// replace the answer's field of this name (any case): each replaces those of its name, except
// Set-Cookie, which cannot be combined (RFC 6265 3) and so goes beside the application's.
[[nodiscard]] bool replaced_by_proxy_fields(
    std::string_view name, const std::vector<std::pair<std::string, std::string>>& fields);

struct RouteTarget {
  std::string host;          // FQDN of the destination service
  std::uint16_t port = 0;    // 0: the port the request was sent to
  std::string subset;        // "" : every endpoint
  std::uint32_t weight = 0;
  HeaderOps request_headers;
  HeaderOps response_headers;
};

// rewrite: the path (the matched prefix, or the whole path for other matches; the query is kept),
// or a regex substitution on the path, and the authority.
struct Rewrite {
  std::string uri;
  std::string authority;
  std::shared_ptr<const re2::RE2> regex;
  std::string regex_replacement;
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

// corsPolicy, answered and added by the proxy as Envoy's CORS filter does. The lists are already
// joined (", ") as they go into the Access-Control-* fields.
struct CorsPolicy {
  std::vector<StringMatcher> allow_origins;  // an exact "*" allows any origin
  std::string allow_methods;
  std::string allow_headers;
  std::string expose_headers;
  std::string max_age;                       // seconds; "" : not sent
  std::optional<bool> allow_credentials;
  bool ignore_unmatched_preflights = false;  // IGNORE: answer them without CORS fields
  [[nodiscard]] bool allows(std::string_view origin) const;
};

// mirror / mirrors: a copy of the request goes there too, its answer ignored (percent, 0-100).
struct MirrorTarget {
  std::string host;        // FQDN of the mirror service
  std::uint16_t port = 0;  // 0: the port the request was sent to
  std::string subset;
  double percent = 100;
};

struct HttpRoute {
  std::string name;
  std::vector<RouteMatch> matches;  // empty: matches every request
  std::vector<RouteTarget> targets;
  std::optional<DirectResponse> direct_response;
  std::optional<Redirect> redirect;
  std::optional<FaultDelay> fault_delay;
  std::optional<FaultAbort> fault_abort;
  std::optional<Rewrite> rewrite;
  HeaderOps request_headers;
  HeaderOps response_headers;
  std::chrono::milliseconds timeout{0};  // 0: none (Istio's default)
  std::optional<RetryPolicy> retries;    // unset: Istio's default policy
  std::vector<MirrorTarget> mirrors;
  std::optional<CorsPolicy> cors;
  std::string virtual_service;      // <namespace>/<name>, for errors and config_dump
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
  std::string_view source_ip;  // the downstream peer's address (consistent hash useSourceIp)
};

// Whether every condition of one match block holds for the request.
[[nodiscard]] bool block_matches(const RouteMatch& block, const RequestAttributes& request);

// The match block that applies (nullptr when none does); a route without blocks matches with
// `*matched_all` set.
[[nodiscard]] const RouteMatch* matching_block(const HttpRoute& route, const RequestAttributes& request,
                                               bool* matched_all);
[[nodiscard]] bool route_matches(const HttpRoute& route, const RequestAttributes& request);

// The value of a query parameter ("" when it has none), nullopt when the query (the part after
// '?') lacks it. No decoding: matches compare the raw text, as Envoy does.
[[nodiscard]] std::optional<std::string_view> query_param(std::string_view query, std::string_view name);

// The path to send after the route's rewrite (nullopt: unchanged). `matched` is the block that
// matched (a prefix match rewrites its prefix only).
[[nodiscard]] std::optional<std::string> rewritten_path(const Rewrite& rewrite, const RouteMatch* matched,
                                                        std::string_view path);

}  // namespace strait::proxy
