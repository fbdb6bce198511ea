#include "proxy/router.h"

#include <algorithm>
#include <charconv>

#include "common/host_name.h"

namespace strait::proxy {

std::optional<Authority> split_authority(std::string_view authority) {
  Authority out;
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return std::nullopt;
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
      return std::nullopt;
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

namespace {

// The inbound service port a plaintext request's authority names: its port when this workload
// serves one, else the only port of the inbound service its host names ("reviews",
// "reviews.<ns>", "reviews.<ns>.svc.cluster.local"). 0: none.
std::uint16_t inbound_port_named_by(const ProxyConfig& config, std::string_view authority) {
  const auto split = split_authority(authority);
  if (!split) return 0;
  const auto& inbound = config.inbound_services;
  if (split->port != 0) {
    const bool served = std::ranges::any_of(
        inbound, [&](const InboundService& s) { return s.port == split->port; });
    return served ? split->port : 0;
  }
  const std::string fqdn = qualify_host(split->host, config.workload.ns);
  std::uint16_t found = 0;
  for (const auto& s : inbound) {
    if (service_hostname(s.name, config.workload.ns) != fqdn) continue;
    if (found != 0) return 0;  // the service has several ports here: the host must say which
    found = s.port;
  }
  return found;
}

}  // namespace

std::uint16_t parse_stated_port(std::optional<std::string_view> value) {
  if (!value) return 0;
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), port);
  if (ec != std::errc{} || end != value->data() + value->size() || port > 65535) return 0;
  return static_cast<std::uint16_t>(port);
}

std::expected<Destination, RouteError> route_request(const Snapshot& snapshot,
                                                     const DownstreamInfo& info,
                                                     std::string_view authority,
                                                     std::uint16_t stated_port) {
  Destination d;
  if (info.kind == ListenerKind::kInbound) {
    std::uint16_t port = info.inbound_port;
    const auto& inbound = snapshot.config->inbound_services;
    if (port == 0 && info.plaintext && snapshot.inbound_by_port.contains(stated_port))
      port = stated_port;
    if (port == 0 && info.plaintext) port = inbound_port_named_by(*snapshot.config, authority);
    if (port == 0 && inbound.size() == 1) port = inbound.front().port;
    const auto it = snapshot.inbound_by_port.find(port);
    if (it == snapshot.inbound_by_port.end())
      return std::unexpected(RouteError{
          404, LocalReason::kUnknownInboundPort,
          port != 0 ? "this workload serves no port " + std::to_string(port)
                    : "a plaintext request must name the service port in its host ('" +
                          std::string(authority) + "' names none of this workload's ports)"});
    d.port = port;  // the service port, for rate-limit matches
    d.app_port = it->second->target_port;
    d.protocol = it->second->protocol;
    if (info.plaintext) {
      const MtlsSetting& mtls = snapshot.config->inbound_mtls.for_port(d.app_port);
      if (mtls.mode == MtlsMode::kStrict)
        return std::unexpected(
            RouteError{403, LocalReason::kMtlsRequired,
                       "port " + std::to_string(port) + " takes mTLS only (PeerAuthentication " +
                           mtls.source + " is STRICT): call it through a sidecar"});
    }
    return d;
  }

  std::string_view host;
  std::uint16_t port = 0;
  if (info.kind == ListenerKind::kUpstreamBinding) {
    host = info.fixed_host;
    port = info.fixed_port;
  } else {
    auto split = split_authority(authority);
    if (!split)
      return std::unexpected(RouteError{400, LocalReason::kMalformedRequest,
                                        "missing or malformed host '" + std::string(authority) + "'"});
    host = split->host;
    port = split->port;
  }
  d.service = snapshot.find_service(host);
  if (d.service == nullptr)
    return std::unexpected(RouteError{404, LocalReason::kNoRoute,
                                      "'" + std::string(host) + "' is not a service of the mesh"});
  const auto& ports = d.service->service->ports;
  if (port == 0) port = ports.size() == 1 ? ports.front().port : 80;
  const auto match = std::ranges::find_if(ports, [&](const ServicePort& p) { return p.port == port; });
  if (match == ports.end())
    return std::unexpected(RouteError{404, LocalReason::kNoRoute,
                                      d.service->service->fqdn + " has no port " + std::to_string(port)});
  d.port = port;
  d.protocol = match->protocol;
  return d;
}

namespace {

// Draws one of a route's destinations by weight and makes it the destination: its service, subset
// and port (the route's port, else the one the caller used, else the service's only port).
std::expected<void, RouteError> take_weighted_target(Destination& d,
                                                     const std::vector<ResolvedTarget>& targets,
                                                     std::uint64_t total_weight,
                                                     const std::string& virtual_service,
                                                     std::uint64_t random) {
  if (targets.empty() || total_weight == 0)
    return std::unexpected(RouteError{503, LocalReason::kNoHealthyUpstream,
                                      "route " + virtual_service + " has no destination"});
  std::uint64_t pick = random % total_weight;
  const ResolvedTarget* chosen = &targets.back();
  for (const auto& target : targets) {
    if (pick < target.target->weight) {
      chosen = &target;
      break;
    }
    pick -= target.target->weight;
  }
  if (chosen->service == nullptr)
    return std::unexpected(
        RouteError{503, LocalReason::kNoHealthyUpstream,
                   "route destination " + chosen->target->host + " is not a service of the mesh"});
  if (chosen->subset == nullptr && !chosen->target->subset.empty())
    return std::unexpected(RouteError{503, LocalReason::kNoHealthyUpstream,
                                      "subset '" + chosen->target->subset + "' of " +
                                          chosen->target->host +
                                          " is not defined by any DestinationRule"});
  const std::uint16_t port = chosen->target->port != 0 ? chosen->target->port : d.port;
  const auto& ports = chosen->service->service->ports;
  const auto match =
      std::ranges::find_if(ports, [&](const ServicePort& p) { return p.port == port; });
  if (match == ports.end() && ports.size() != 1)
    return std::unexpected(
        RouteError{503, LocalReason::kNoHealthyUpstream,
                   chosen->target->host + " has no port " + std::to_string(port)});
  const ServicePort& chosen_port = match != ports.end() ? *match : ports.front();
  d.service = chosen->service;
  d.subset = chosen->subset;
  d.target = chosen->target;
  d.port = chosen_port.port;
  d.protocol = chosen_port.protocol;
  return {};
}

}  // namespace

std::expected<void, RouteError> select_http_route(Destination& d, const RequestAttributes& request,
                                                  std::uint64_t random) {
  if (d.service == nullptr || d.service->http_routes.empty()) return {};
  const auto& routes = d.service->http_routes;
  // With an index, only its candidates are tested (in route order); without, every route.
  thread_local std::vector<std::uint32_t> candidates;
  thread_local std::vector<int> scratch;
  const bool indexed = d.service->route_index != nullptr;
  if (indexed) {
    const auto question = request.path.find('?');
    d.service->route_index->candidates(request.path.substr(0, question), candidates, scratch);
  }
  const std::size_t count = indexed ? candidates.size() : routes.size();
  for (std::size_t k = 0; k < count; ++k) {
    const auto& route = routes[indexed ? candidates[k] : k];
    bool matched_all = false;
    const RouteMatch* block = matching_block(*route.route, request, &matched_all);
    if (block == nullptr && !matched_all) continue;
    d.route = route.route;
    d.match = block;
    if (route.route->direct_response || route.route->redirect) return {};  // answered by the proxy
    return take_weighted_target(d, route.targets, route.total_weight, route.route->virtual_service,
                                random);
  }
  return std::unexpected(RouteError{404, LocalReason::kNoRoute,
                                    "no route of the VirtualService for " + d.service->service->fqdn +
                                        " matches this request"});
}

std::expected<void, RouteError> select_l4_route(Destination& d, std::string_view sni,
                                                std::uint64_t random) {
  if (d.service == nullptr || is_http(d.protocol)) return {};  // HTTP ports take http[] routes only
  const std::uint16_t port = d.port;
  // A TLS port takes the tls[] routes first (by SNI), then, as for any opaque port, the tcp[] ones.
  if (d.protocol == Protocol::kTls) {
    for (const auto& route : d.service->tls_routes) {
      if (l4_route_matches(*route.route, port, sni))
        return take_weighted_target(d, route.targets, route.total_weight,
                                    route.route->virtual_service, random);
    }
  }
  for (const auto& route : d.service->tcp_routes) {
    if (l4_route_matches(*route.route, port, sni))
      return take_weighted_target(d, route.targets, route.total_weight,
                                  route.route->virtual_service, random);
  }
  return {};  // no route for this connection: the service itself
}

CircuitSlot take_request_slot(const Destination& d, std::string& overflow) {
  const ResolvedCluster* cluster = d.cluster();
  if (cluster == nullptr) return CircuitSlot::unlimited();
  CircuitSlot slot(cluster->circuit->requests, cluster->pool().max_requests);
  if (!slot.held())
    overflow = cluster->name + ": connectionPool.http.http2MaxRequests (" +
               std::to_string(cluster->pool().max_requests) + ") reached";
  return slot;
}

bool share_drawn(double percent, std::uint64_t random) {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  return static_cast<double>(random % 100'000'000) < percent * 1'000'000;
}

std::string redirect_location(const Redirect& redirect, const RequestAttributes& request) {
  const std::string scheme = redirect.scheme.empty() ? std::string(request.scheme) : redirect.scheme;
  auto split = split_authority(request.authority);
  std::string host = redirect.authority.empty() ? std::string(split ? split->host : request.authority)
                                                : redirect.authority;
  std::uint16_t port = split ? split->port : 0;
  switch (redirect.port_mode) {
    case Redirect::Port::kUnchanged:
      if (!redirect.authority.empty()) port = 0;  // a new authority brings its own port, if any
      break;
    case Redirect::Port::kFixed:
      port = redirect.port;
      break;
    case Redirect::Port::kFromProtocolDefault:
      port = 0;
      break;
    case Redirect::Port::kFromRequestPort:
      port = request.port;
      break;
  }
  const bool default_port = port == 0 || (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  std::string location = scheme + "://" + host;
  if (!default_port && host.find(':') == std::string::npos) location += ":" + std::to_string(port);
  if (redirect.uri.empty()) {
    location += request.path;
  } else {
    location += redirect.uri;
    // The request's query is kept unless the new uri brings its own (as Envoy's path_redirect).
    const auto question = request.path.find('?');
    if (redirect.uri.find('?') == std::string::npos && question != std::string_view::npos)
      location += request.path.substr(question);
  }
  return location;
}

RouteAction route_action(const Destination& d, const RequestAttributes& request, std::uint64_t random_delay,
                         std::uint64_t random_abort) {
  RouteAction action;
  if (d.route == nullptr) return action;
  const HttpRoute& route = *d.route;
  // CORS comes first, as Envoy's filter runs before the fault filter and the router.
  if (route.cors && request.header != nullptr) {
    if (auto origin = request.header(request.context, "origin")) {
      const CorsPolicy& cors = *route.cors;
      const bool allowed = cors.allows(*origin);
      const bool preflight =
          request.method == "OPTIONS" && request.header(request.context, "access-control-request-method").has_value();
      if (preflight && (allowed || cors.ignore_unmatched_preflights)) {
        LocalResponse r;
        r.reason = LocalReason::kCorsPreflight;
        r.status = 200;
        if (allowed) {
          r.fields.emplace_back("access-control-allow-origin", std::string(*origin));
          if (!cors.allow_methods.empty()) r.fields.emplace_back("access-control-allow-methods", cors.allow_methods);
          if (!cors.allow_headers.empty()) r.fields.emplace_back("access-control-allow-headers", cors.allow_headers);
          if (!cors.max_age.empty()) r.fields.emplace_back("access-control-max-age", cors.max_age);
          if (cors.allow_credentials.value_or(false))
            r.fields.emplace_back("access-control-allow-credentials", "true");
        }
        action.respond = std::move(r);
        return action;
      }
      if (!preflight && allowed) {
        action.response_fields.emplace_back("access-control-allow-origin", std::string(*origin));
        if (!cors.expose_headers.empty())
          action.response_fields.emplace_back("access-control-expose-headers", cors.expose_headers);
        if (cors.allow_credentials.value_or(false))
          action.response_fields.emplace_back("access-control-allow-credentials", "true");
      }
    }
  }
  if (route.fault_delay && share_drawn(route.fault_delay->percent, random_delay)) action.delay = route.fault_delay->delay;
  if (route.fault_abort && share_drawn(route.fault_abort->percent, random_abort)) {
    LocalResponse r;
    r.reason = LocalReason::kFaultAbort;
    if (route.fault_abort->http_status > 0) {
      r.status = route.fault_abort->http_status;
      r.body = "fault_abort: injected by route " + route.virtual_service + "\n";
    } else {
      r.status = 200;
      r.grpc_status = route.fault_abort->grpc_status;
    }
    action.respond = std::move(r);
    return action;
  }
  if (route.direct_response) {
    LocalResponse r;
    r.reason = LocalReason::kDirectResponse;
    r.status = route.direct_response->status;
    r.body = route.direct_response->body;
    r.edits = d.response_edits();
    action.respond = std::move(r);
  } else if (route.redirect) {
    LocalResponse r;
    r.reason = LocalReason::kRedirect;
    r.status = route.redirect->code;
    r.location = redirect_location(*route.redirect, request);
    r.edits = d.response_edits();
    action.respond = std::move(r);
  }
  return action;
}

std::optional<std::uint64_t> hash_key(const Destination& d, const RequestAttributes& request) {
  if (d.service == nullptr) return std::nullopt;
  const LoadBalancer& lb = d.cluster()->lb();
  if (!lb.hashed()) return std::nullopt;
  switch (lb.key) {
    case LoadBalancer::HashKey::kHeader: {
      auto value = request.header != nullptr ? request.header(request.context, lb.key_name) : std::nullopt;
      if (value) return stable_hash(*value);
      break;
    }
    case LoadBalancer::HashKey::kCookie: {
      auto cookies = request.header != nullptr ? request.header(request.context, "cookie") : std::nullopt;
      if (!cookies) break;
      std::string_view rest = *cookies;
      while (!rest.empty()) {
        const auto semi = rest.find(';');
        std::string_view pair = rest.substr(0, semi);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        const auto eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == lb.key_name) return stable_hash(pair.substr(eq + 1));
        if (semi == std::string_view::npos) break;
        rest.remove_prefix(semi + 1);
      }
      break;
    }
    case LoadBalancer::HashKey::kQueryParameter: {
      const auto question = request.path.find('?');
      if (question == std::string_view::npos) break;
      if (auto value = query_param(request.path.substr(question + 1), lb.key_name)) return stable_hash(*value);
      break;
    }
    case LoadBalancer::HashKey::kSourceIp:
      if (!request.source_ip.empty()) return stable_hash(request.source_ip);
      break;
    case LoadBalancer::HashKey::kNone:
      break;
  }
  return std::nullopt;
}

std::optional<std::pair<std::string, std::string>> generate_hash_cookie(Destination& d,
                                                                        std::uint64_t random) {
  if (d.service == nullptr || d.hash) return std::nullopt;
  const LoadBalancer& lb = d.cluster()->lb();
  if (!lb.hashed() || lb.key != LoadBalancer::HashKey::kCookie || lb.cookie_ttl.count() <= 0)
    return std::nullopt;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string value(16, '0');
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = kHex[(random >> (4 * i)) & 0xf];
  d.hash = stable_hash(value);
  std::string field = lb.key_name + "=" + value;
  if (!lb.cookie_path.empty()) field += "; Path=" + lb.cookie_path;
  field +=
      "; Max-Age=" + std::to_string(lb.cookie_ttl.count()) + "; HttpOnly" + lb.cookie_attributes;
  return std::pair<std::string, std::string>{"set-cookie", std::move(field)};
}

}  // namespace strait::proxy
