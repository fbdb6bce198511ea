#include "agent/mesh_view.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "common/cookie_text.h"
#include "common/grpc_status.h"
#include "common/host_name.h"
#include "common/ip_block.h"
#include "config/peer_authentication.h"
#include "config/telemetry_policy.h"
#include "proxy/bootstrap.h"
#include "strait/networking/v1/destination_rule.pb.h"
#include "strait/networking/v1/virtual_service.pb.h"
#include "strait/policy/v1alpha1/rate_limit_policy.pb.h"
#include "strait/security/v1/authorization_policy.pb.h"
#include "strait/security/v1/request_authentication.pb.h"
#include "strait/telemetry/v1/telemetry.pb.h"

namespace strait::agent {
namespace {

using proxy::HttpRoute;
using proxy::RetryPolicy;
using proxy::StringMatcher;

std::expected<StringMatcher, std::string> matcher_from(const networking::v1::StringMatch& m, const std::string& path) {
  StringMatcher out;
  switch (m.match_type_case()) {
    case networking::v1::StringMatch::kExact:
      out.kind = StringMatcher::Kind::kExact;
      out.value = m.exact();
      break;
    case networking::v1::StringMatch::kPrefix:
      out.kind = StringMatcher::Kind::kPrefix;
      out.value = m.prefix();
      break;
    case networking::v1::StringMatch::kRegex: {
      out.kind = StringMatcher::Kind::kRegex;
      out.value = m.regex();
      RE2::Options options;
      options.set_log_errors(false);
      auto regex = std::make_shared<const re2::RE2>(m.regex(), options);
      if (!regex->ok()) return std::unexpected(path + ".regex: " + regex->error());
      out.regex = std::move(regex);
      break;
    }
    default:
      break;
  }
  return out;
}

proxy::HeaderOps header_ops(const networking::v1::Headers::HeaderOperations& ops) {
  proxy::HeaderOps out;
  // Maps are sorted so that equal views build equal edits.
  std::map<std::string, std::string> set(ops.set().begin(), ops.set().end());
  std::map<std::string, std::string> add(ops.add().begin(), ops.add().end());
  // Pseudo-headers and Host are not fields to edit (Istio ignores them here; validation refuses
  // them, an authority change is rewrite.authority).
  auto editable = [](const std::string& name) { return !name.empty() && name[0] != ':' && name != "host"; };
  for (const auto& [n, v] : set) {
    if (auto name = ascii_lower(n); editable(name)) out.set.emplace_back(std::move(name), v);
  }
  for (const auto& [n, v] : add) {
    if (auto name = ascii_lower(n); editable(name)) out.add.emplace_back(std::move(name), v);
  }
  for (const auto& n : ops.remove()) {
    if (auto name = ascii_lower(n); editable(name)) out.remove.push_back(std::move(name));
  }
  return out;
}

// As in Istio: without a percentage, no request is delayed or aborted.
double percent_of(const networking::v1::HTTPFaultInjection::Delay& d) {
  return d.has_percentage() ? d.percentage().value() : 0.0;
}

std::chrono::milliseconds millis(const google::protobuf::Duration& d) {
  return std::chrono::milliseconds(d.seconds() * 1000 + d.nanos() / 1'000'000);
}

// The route's own answers and faults. What the proxies do not do (exponential delays, HTTP/2
// error aborts) is warned about at apply and left out here.
std::expected<void, std::string> actions_from(const networking::v1::HTTPRoute& http, const std::string& path,
                                              HttpRoute& route) {
  if (http.has_direct_response()) {
    const auto& dr = http.direct_response();
    route.direct_response = proxy::DirectResponse{static_cast<int>(dr.status()),
                                                  dr.body().has_bytes() ? dr.body().bytes() : dr.body().string()};
  }
  if (http.has_redirect()) {
    const auto& r = http.redirect();
    proxy::Redirect redirect;
    redirect.uri = r.uri();
    redirect.authority = r.authority();
    redirect.scheme = r.scheme();
    redirect.code = r.redirect_code() != 0 ? static_cast<int>(r.redirect_code()) : 301;
    if (r.redirect_port_case() == networking::v1::HTTPRedirect::kPort) {
      redirect.port_mode = proxy::Redirect::Port::kFixed;
      redirect.port = static_cast<std::uint16_t>(r.port());
    } else if (r.redirect_port_case() == networking::v1::HTTPRedirect::kDerivePort) {
      redirect.port_mode = r.derive_port() == networking::v1::HTTPRedirect::FROM_REQUEST_PORT
                               ? proxy::Redirect::Port::kFromRequestPort
                               : proxy::Redirect::Port::kFromProtocolDefault;
    }
    route.redirect = std::move(redirect);
  }
  if (http.has_rewrite()) {
    const auto& r = http.rewrite();
    proxy::Rewrite rewrite;
    rewrite.uri = r.uri();
    rewrite.authority = r.authority();
    if (r.has_uri_regex_rewrite()) {
      RE2::Options options;
      options.set_log_errors(false);
      auto regex = std::make_shared<const re2::RE2>(r.uri_regex_rewrite().match(), options);
      if (!regex->ok()) return std::unexpected(path + ".rewrite.uriRegexRewrite.match: " + regex->error());
      rewrite.regex = std::move(regex);
      rewrite.regex_replacement = r.uri_regex_rewrite().rewrite();
    }
    route.rewrite = std::move(rewrite);
  }
  if (http.has_headers()) {
    route.request_headers = header_ops(http.headers().request());
    route.response_headers = header_ops(http.headers().response());
  }
  if (http.has_cors_policy()) {
    const auto& c = http.cors_policy();
    proxy::CorsPolicy cors;
    for (int i = 0; i < c.allow_origins_size(); ++i) {
      auto matcher = matcher_from(c.allow_origins(i), path + ".corsPolicy.allowOrigins[" + std::to_string(i) + "]");
      if (!matcher) return std::unexpected(matcher.error());
      cors.allow_origins.push_back(std::move(*matcher));
    }
    auto joined = [](const auto& list) {
      std::string out;
      for (const auto& item : list) out.append(out.empty() ? "" : ", ").append(item);
      return out;
    };
    cors.allow_methods = joined(c.allow_methods());
    cors.allow_headers = joined(c.allow_headers());
    cors.expose_headers = joined(c.expose_headers());
    if (c.has_max_age()) cors.max_age = std::to_string(c.max_age().seconds());
    if (c.has_allow_credentials()) cors.allow_credentials = c.allow_credentials().value();
    cors.ignore_unmatched_preflights = c.unmatched_preflights() == networking::v1::CorsPolicy::IGNORE;
    route.cors = std::move(cors);
  }
  if (http.has_timeout()) route.timeout = millis(http.timeout());
  if (http.has_retries()) {
    const auto& r = http.retries();
    // As Istio: without retryOn, the default conditions; attempts 0 turns retries off.
    RetryPolicy policy = proxy::default_retry_policy();
    policy.attempts = r.attempts();
    if (!r.retry_on().empty()) {
      policy.retry_on = {};
      if (auto parsed = parse_retry_on(r.retry_on(), policy.retry_on); !parsed)
        return std::unexpected(path + ".retries.retryOn: " + parsed.error());
    }
    if (r.has_per_try_timeout()) policy.per_try_timeout = millis(r.per_try_timeout());
    if (r.has_backoff()) policy.backoff = millis(r.backoff());
    if (r.has_retry_ignore_previous_hosts()) policy.avoid_previous_host = r.retry_ignore_previous_hosts().value();
    route.retries = std::move(policy);
  }
  if (http.has_fault()) {
    const auto& f = http.fault();
    if (f.has_delay() && f.delay().has_fixed_delay())
      route.fault_delay = proxy::FaultDelay{percent_of(f.delay()), millis(f.delay().fixed_delay())};
    if (f.has_abort()) {
      const auto& a = f.abort();
      const double percent = a.has_percentage() ? a.percentage().value() : 0.0;
      if (a.error_type_case() == networking::v1::HTTPFaultInjection::Abort::kHttpStatus) {
        route.fault_abort = proxy::FaultAbort{percent, a.http_status(), -1};
      } else if (a.error_type_case() == networking::v1::HTTPFaultInjection::Abort::kGrpcStatus) {
        const auto code = grpc_status_code(a.grpc_status());
        if (!code) return std::unexpected(path + ".fault.abort.grpcStatus: unknown gRPC status '" + a.grpc_status() + "'");
        route.fault_abort = proxy::FaultAbort{percent, 0, *code};
      }
    }
  }
  return {};
}

// trafficPolicy.connectionPool; zero (unset) limits are unlimited, as in Istio.
proxy::ConnectionPoolPolicy pool_from(const networking::v1::ConnectionPoolSettings& cp) {
  proxy::ConnectionPoolPolicy pool;
  auto limit = [](std::int32_t value, std::uint32_t& out) {
    if (value > 0) out = static_cast<std::uint32_t>(value);
  };
  limit(cp.tcp().max_connections(), pool.max_connections);
  limit(cp.http().http1_max_pending_requests(), pool.max_pending_requests);
  limit(cp.http().http2_max_requests(), pool.max_requests);
  limit(cp.http().max_retries(), pool.max_retries);
  if (cp.http().max_requests_per_connection() > 0)
    pool.max_requests_per_connection = static_cast<std::uint32_t>(cp.http().max_requests_per_connection());
  if (cp.tcp().has_connect_timeout()) pool.connect_timeout = millis(cp.tcp().connect_timeout());
  if (cp.http().has_idle_timeout()) pool.idle_timeout = millis(cp.http().idle_timeout());
  if (cp.tcp().has_idle_timeout()) {
    const auto idle = millis(cp.tcp().idle_timeout());
    pool.tcp_idle_timeout = idle.count() > 0 ? idle : proxy::ConnectionPoolPolicy::kNoIdleTimeout;
  }
  if (cp.tcp().has_tcp_keepalive()) {
    const auto& k = cp.tcp().tcp_keepalive();
    auto seconds = [](const google::protobuf::Duration& d) {
      return std::chrono::seconds(std::max<std::int64_t>(d.seconds() + (d.nanos() > 0 ? 1 : 0), 0));
    };
    pool.keepalive = proxy::ConnectionPoolPolicy::Keepalive{k.probes(), seconds(k.time()),
                                                            seconds(k.interval())};
  }
  return pool;
}

// trafficPolicy.outlierDetection with Istio's defaults. The deprecated consecutiveErrors counts
// gateway errors, as Istio translates it; a maxEjectionPercent of 0 (unset) is Istio's 10.
proxy::OutlierPolicy outlier_from(const networking::v1::OutlierDetection& od) {
  proxy::OutlierPolicy policy;
  if (od.has_consecutive_5xx_errors()) policy.consecutive_5xx = od.consecutive_5xx_errors().value();
  if (od.has_consecutive_gateway_errors()) {
    policy.consecutive_gateway = od.consecutive_gateway_errors().value();
  } else if (od.consecutive_errors() > 0) {
    policy.consecutive_gateway = static_cast<std::uint32_t>(od.consecutive_errors());
  }
  policy.split_local_origin = od.split_external_local_origin_errors();
  if (od.has_consecutive_local_origin_failures())
    policy.consecutive_local_origin = od.consecutive_local_origin_failures().value();
  if (od.has_interval()) policy.interval = millis(od.interval());
  if (od.has_base_ejection_time()) policy.base_ejection = millis(od.base_ejection_time());
  if (od.max_ejection_percent() > 0) policy.max_ejection_percent = od.max_ejection_percent();
  policy.min_health_percent = od.min_health_percent();
  return policy;
}

// trafficPolicy.loadBalancer. What the sidecars do not do yet (PASSTHROUGH, locality) falls back
// to least request, or to random for a hash
// without a usable key; straitd warns about each at apply.
proxy::LoadBalancer load_balancer_from(const networking::v1::LoadBalancerSettings& settings) {
  using Settings = networking::v1::LoadBalancerSettings;
  proxy::LoadBalancer lb;
  if (settings.lb_policy_case() == Settings::kSimple) {
    if (settings.simple() == Settings::RANDOM) lb.kind = proxy::LoadBalancer::Kind::kRandom;
    if (settings.simple() == Settings::ROUND_ROBIN) lb.kind = proxy::LoadBalancer::Kind::kRoundRobin;
    return lb;
  }
  if (settings.lb_policy_case() != Settings::kConsistentHash) return lb;
  const auto& ch = settings.consistent_hash();
  if (ch.hash_algorithm_case() == Settings::ConsistentHashLB::kMaglev) {
    lb.kind = proxy::LoadBalancer::Kind::kMaglev;
    lb.table_size = ch.maglev().table_size();
  } else {
    lb.kind = proxy::LoadBalancer::Kind::kRingHash;
    lb.table_size = ch.has_ring_hash() ? ch.ring_hash().minimum_ring_size() : ch.minimum_ring_size();
  }
  switch (ch.hash_key_case()) {
    case Settings::ConsistentHashLB::kHttpHeaderName:
      lb.key = proxy::LoadBalancer::HashKey::kHeader;
      lb.key_name = ascii_lower(ch.http_header_name());
      break;
    case Settings::ConsistentHashLB::kHttpCookie: {
      const auto& cookie = ch.http_cookie();
      lb.key = proxy::LoadBalancer::HashKey::kCookie;
      lb.key_name = cookie.name();
      // The parts go into a Set-Cookie field: any control byte or ';' there (refused at apply)
      // means no cookie is generated rather than a forged field.
      bool usable = is_cookie_name(cookie.name()) && is_cookie_value_text(cookie.path());
      for (const auto& a : cookie.attributes())
        usable = usable && is_cookie_name(a.name()) && is_cookie_value_text(a.value());
      if (cookie.has_ttl() && usable)
        lb.cookie_ttl = std::chrono::seconds(std::max<std::int64_t>(cookie.ttl().seconds(), 0));
      lb.cookie_path = cookie.path();
      for (const auto& a : cookie.attributes()) {
        lb.cookie_attributes += "; " + a.name();
        if (!a.value().empty()) lb.cookie_attributes += "=" + a.value();
      }
      break;
    }
    case Settings::ConsistentHashLB::kUseSourceIp:
      if (ch.use_source_ip()) lb.key = proxy::LoadBalancer::HashKey::kSourceIp;
      break;
    case Settings::ConsistentHashLB::kHttpQueryParameterName:
      lb.key = proxy::LoadBalancer::HashKey::kQueryParameter;
      lb.key_name = ch.http_query_parameter_name();
      break;
    default:
      break;
  }
  return lb;
}

proxy::RetryBudget retry_budget_from(const networking::v1::TrafficPolicy::RetryBudget& b) {
  proxy::RetryBudget budget;
  if (b.has_percent()) budget.percent = b.percent().value();
  budget.min_retry_concurrency = b.min_retry_concurrency() != 0 ? b.min_retry_concurrency() : 3;
  if (b.has_budget_interval()) budget.interval = millis(b.budget_interval());
  return budget;
}

// One layer of a DestinationRule's policy (its trafficPolicy, a subset's, or a portLevelSettings
// entry of either): the fields it sets. A port entry replaces all of its fields (one it leaves
// out is back to Istio's default, not the trafficPolicy's above it): Istio's merge.
struct PolicyLayer {
  bool present = false;
  bool replaces_all = false;  // a port entry
  const networking::v1::LoadBalancerSettings* lb = nullptr;
  const networking::v1::ConnectionPoolSettings* pool = nullptr;
  const networking::v1::OutlierDetection* outlier = nullptr;
  const networking::v1::TrafficPolicy::RetryBudget* retry_budget = nullptr;
};

template <typename Policy>
PolicyLayer layer_of(const Policy* p) {
  PolicyLayer layer;
  if (p == nullptr) return layer;
  layer.present = true;
  if (p->has_load_balancer()) layer.lb = &p->load_balancer();
  if (p->has_connection_pool()) layer.pool = &p->connection_pool();
  if (p->has_outlier_detection()) layer.outlier = &p->outlier_detection();
  if constexpr (requires { p->retry_budget(); }) {
    if (p->has_retry_budget()) layer.retry_budget = &p->retry_budget();
  } else {
    layer.replaces_all = true;  // PortTrafficPolicy (it has no retryBudget)
  }
  return layer;
}

const networking::v1::TrafficPolicy::PortTrafficPolicy* port_layer(
    const networking::v1::TrafficPolicy* policy, std::uint32_t port) {
  if (policy == nullptr) return nullptr;
  for (const auto& p : policy->port_level_settings()) {
    if (p.port().number() == port) return &p;
  }
  return nullptr;
}

// Each field from the last (most specific) layer that sets it, whole; a port entry sets all of
// loadBalancer, connectionPool and outlierDetection: Istio's merge.
proxy::TrafficSettings settings_from(std::initializer_list<PolicyLayer> layers) {
  PolicyLayer top;
  for (const auto& layer : layers) {
    if (!layer.present) continue;
    if (layer.replaces_all || layer.lb != nullptr) top.lb = layer.lb;
    if (layer.replaces_all || layer.pool != nullptr) top.pool = layer.pool;
    if (layer.replaces_all || layer.outlier != nullptr) top.outlier = layer.outlier;
    if (layer.retry_budget != nullptr) top.retry_budget = layer.retry_budget;
  }
  proxy::TrafficSettings out;
  if (top.lb != nullptr) out.lb = load_balancer_from(*top.lb);
  if (top.pool != nullptr) out.pool = pool_from(*top.pool);
  if (top.outlier != nullptr) out.outlier = outlier_from(*top.outlier);
  if (top.retry_budget != nullptr) out.retry_budget = retry_budget_from(*top.retry_budget);
  return out;
}

// The settings of an endpoint set: the rule's trafficPolicy under the subset's (null: the
// endpoints of no subset), with the portLevelSettings of both for each port either names.
proxy::TrafficPolicySet policy_set_from(const networking::v1::TrafficPolicy* rule,
                                        const networking::v1::TrafficPolicy* subset) {
  proxy::TrafficPolicySet out;
  out.all = settings_from({layer_of(rule), layer_of(subset)});
  std::vector<std::uint32_t> ports;
  for (const auto* policy : {rule, subset}) {
    if (policy == nullptr) continue;
    for (const auto& p : policy->port_level_settings()) {
      const std::uint32_t port = p.port().number();
      if (port != 0 && port <= 65535 && std::ranges::find(ports, port) == ports.end())
        ports.push_back(port);
    }
  }
  for (const std::uint32_t port : ports) {
    out.ports.push_back({static_cast<std::uint16_t>(port),
                         settings_from({layer_of(rule), layer_of(port_layer(rule, port)),
                                        layer_of(subset), layer_of(port_layer(subset, port))})});
  }
  return out;
}

bool labels_hold(const google::protobuf::Map<std::string, std::string>& wanted,
                 const std::map<std::string, std::string>& labels) {
  return std::ranges::all_of(wanted, [&](const auto& w) {
    auto it = labels.find(w.first);
    return it != labels.end() && it->second == w.second;
  });
}

// One match block, as routes and rate limits use it (the conditions on the caller are decided
// apart: applies_to_this_proxy).
std::expected<proxy::RouteMatch, std::string> match_from(const networking::v1::HTTPMatchRequest& m,
                                                         const std::string& mp) {
  proxy::RouteMatch match;
  match.ignore_uri_case = m.ignore_uri_case();
  match.port = static_cast<std::uint16_t>(m.port());
  auto uri = matcher_from(m.uri(), mp + ".uri");
  auto method = matcher_from(m.method(), mp + ".method");
  auto authority = matcher_from(m.authority(), mp + ".authority");
  if (!uri) return std::unexpected(uri.error());
  if (!method) return std::unexpected(method.error());
  if (!authority) return std::unexpected(authority.error());
  auto scheme = matcher_from(m.scheme(), mp + ".scheme");
  if (!scheme) return std::unexpected(scheme.error());
  match.uri = std::move(*uri);
  match.method = std::move(*method);
  match.authority = std::move(*authority);
  match.scheme = std::move(*scheme);
  // Maps are sorted so that equal views build equal routes.
  std::map<std::string, networking::v1::StringMatch> headers(m.headers().begin(),
                                                             m.headers().end());
  for (const auto& [header, sm] : headers) {
    auto matcher = matcher_from(sm, mp + ".headers." + header);
    if (!matcher) return std::unexpected(matcher.error());
    match.headers.push_back({ascii_lower(header), std::move(*matcher), false});
  }
  std::map<std::string, networking::v1::StringMatch> without(m.without_headers().begin(),
                                                             m.without_headers().end());
  for (const auto& [header, sm] : without) {
    auto matcher = matcher_from(sm, mp + ".withoutHeaders." + header);
    if (!matcher) return std::unexpected(matcher.error());
    match.headers.push_back({ascii_lower(header), std::move(*matcher), true});
  }
  std::map<std::string, networking::v1::StringMatch> query(m.query_params().begin(),
                                                           m.query_params().end());
  for (const auto& [param, sm] : query) {
    auto matcher = matcher_from(sm, mp + ".queryParams." + param);
    if (!matcher) return std::unexpected(matcher.error());
    match.query_params.emplace_back(param, std::move(*matcher));
  }
  return match;
}

// A route's destination (HTTPRouteDestination or RouteDestination): host, port, subset and
// weight; a single destination without a weight takes all the traffic, as in Istio.
template <typename RouteDestination>
proxy::RouteTarget target_from(const RouteDestination& d, const std::string& ns, int destinations) {
  proxy::RouteTarget target;
  target.host = qualify_host(d.destination().host(), ns);
  target.port = static_cast<std::uint16_t>(d.destination().port().number());
  target.subset = d.destination().subset();
  target.weight =
      d.weight() > 0 ? static_cast<std::uint32_t>(d.weight()) : (destinations == 1 ? 100 : 0);
  return target;
}

// Conditions on the calling workload are decided here, once per view: this proxy is the caller.
// (HTTPMatchRequest, L4MatchAttributes and TLSMatchAttributes share these fields.)
template <typename Match>
bool applies_to_this_proxy(const Match& m, const proxy::WorkloadIdentity& self) {
  if (!m.source_namespace().empty() && m.source_namespace() != self.ns) return false;
  if (!labels_hold(m.source_labels(), self.labels)) return false;
  if (m.gateways_size() > 0 && std::ranges::none_of(m.gateways(), [](const std::string& g) { return g == "mesh"; }))
    return false;
  return true;
}

std::expected<std::vector<HttpRoute>, std::string> routes_from(const networking::v1::VirtualService& vs,
                                                               const std::string& ns, const std::string& name,
                                                               const proxy::WorkloadIdentity& self) {
  std::vector<HttpRoute> routes;
  const std::string where = "VirtualService " + ns + "/" + name;
  for (int i = 0; i < vs.http_size(); ++i) {
    const auto& http = vs.http(i);
    const std::string path = where + ": http[" + std::to_string(i) + "]";
    HttpRoute route;
    route.name = http.name();
    route.virtual_service = ns + "/" + name;
    if (auto ok = actions_from(http, path, route); !ok) return std::unexpected(ok.error());
    if (http.has_mirror()) {
      const auto& m = http.mirror();
      route.mirrors.push_back({qualify_host(m.host(), ns), static_cast<std::uint16_t>(m.port().number()), m.subset(),
                               http.has_mirror_percentage() ? http.mirror_percentage().value() : 100.0});
    }
    for (const auto& mirror : http.mirrors()) {
      const auto& m = mirror.destination();
      route.mirrors.push_back({qualify_host(m.host(), ns), static_cast<std::uint16_t>(m.port().number()), m.subset(),
                               mirror.has_percentage() ? mirror.percentage().value() : 100.0});
    }
    bool any_block_applies = http.match_size() == 0;
    for (int j = 0; j < http.match_size(); ++j) {
      const auto& m = http.match(j);
      const std::string mp = path + ".match[" + std::to_string(j) + "]";
      if (!applies_to_this_proxy(m, self)) continue;
      any_block_applies = true;
      auto match = match_from(m, mp);
      if (!match) return std::unexpected(match.error());
      route.matches.push_back(std::move(*match));
    }
    for (const auto& d : http.route()) {
      proxy::RouteTarget target = target_from(d, ns, http.route_size());
      if (d.has_headers()) {
        target.request_headers = header_ops(d.headers().request());
        target.response_headers = header_ops(d.headers().response());
      }
      route.targets.push_back(std::move(target));
    }
    // A route whose every match block is for other callers is not this proxy's route (an empty
    // match list would mean "every request").
    if (any_block_applies) routes.push_back(std::move(route));
  }
  return routes;
}

// A RateLimitPolicy's limits. straitd sends a proxy only the policies that select its workload.
std::expected<void, std::string> rate_limits_from(const policy::v1alpha1::RateLimitPolicy& policy,
                                                  const std::string& key,
                                                  std::vector<proxy::RateLimitRule>& out) {
  const std::string where = "RateLimitPolicy " + key;
  for (int i = 0; i < policy.limits_size(); ++i) {
    const auto& limit = policy.limits(i);
    const std::string path = where + ": limits[" + std::to_string(i) + "]";
    proxy::RateLimitRule rule;
    rule.name = key + "/" + limit.name();
    for (int j = 0; j < limit.match_size(); ++j) {
      auto match = match_from(limit.match(j), path + ".match[" + std::to_string(j) + "]");
      if (!match) return std::unexpected(match.error());
      rule.matches.push_back(std::move(*match));
    }
    const auto& bucket = limit.token_bucket();
    const auto& fill = bucket.fill_interval();
    // What apply validates, checked again: the nanosecond arithmetic must not overflow.
    if (fill.seconds() < 0 || fill.seconds() > 24 * 3600 || fill.nanos() < 0 ||
        fill.nanos() >= 1'000'000'000)
      return std::unexpected(path + ".tokenBucket.fillInterval: must be from 1ms to 24h");
    const auto interval = std::chrono::nanoseconds(fill.seconds() * 1'000'000'000LL + fill.nanos());
    if (bucket.max_tokens() < 1 || interval < std::chrono::milliseconds(1))
      return std::unexpected(path + ".tokenBucket: needs maxTokens >= 1 and fillInterval >= 1ms");
    rule.max_tokens = bucket.max_tokens();
    rule.tokens_per_fill = bucket.tokens_per_fill() == 0 ? 1 : bucket.tokens_per_fill();
    rule.fill_interval = interval;
    rule.per_source = limit.per_source() == policy::v1alpha1::RateLimit::PRINCIPAL;
    out.push_back(std::move(rule));
  }
  return {};
}

// An AuthorizationPolicy as the proxy evaluates it. straitd sends a proxy only the policies that
// select its workload; what apply validates (principal shapes, paths, ports, IP blocks, keys) is
// checked again, an unusable value refusing the view rather than matching wider.
std::expected<proxy::AuthzPolicy, std::string> authorization_from(
    const security::v1::AuthorizationPolicy& ap, const std::string& key, bool dry_run) {
  using Action = security::v1::AuthorizationPolicy;
  const std::string where = "AuthorizationPolicy " + key;
  proxy::AuthzPolicy out;
  out.name = key;
  out.dry_run = dry_run;
  switch (ap.action()) {
    case Action::DENY:
      out.action = proxy::AuthzPolicy::Action::kDeny;
      break;
    case Action::AUDIT:
      out.action = proxy::AuthzPolicy::Action::kAudit;
      break;
    case Action::ALLOW:
      break;
    default:
      return std::unexpected(where + ": action " + Action::Action_Name(ap.action()) +
                             " is not supported");
  }
  auto values = [](const auto& in, const auto& not_in, bool lower_case = false) {
    proxy::AuthzValues v;
    for (const auto& s : in) v.values.push_back(proxy::AuthzPattern::parse(s, lower_case));
    for (const auto& s : not_in) v.not_values.push_back(proxy::AuthzPattern::parse(s, lower_case));
    return v;
  };
  std::string bad;
  auto ips = [&](const auto& in, const auto& not_in) {
    proxy::AuthzIps v;
    for (const auto& s : in) {
      if (auto block = IpBlock::parse(s))
        v.values.push_back(*block);
      else
        bad = s;
    }
    for (const auto& s : not_in) {
      if (auto block = IpBlock::parse(s))
        v.not_values.push_back(*block);
      else
        bad = s;
    }
    return v;
  };
  auto ports = [&](const auto& in) {
    std::vector<std::uint16_t> v;
    for (const auto& s : in) {
      unsigned port = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
      if (ec != std::errc{} || end != s.data() + s.size() || port == 0 || port > 65535)
        bad = s;
      else
        v.push_back(static_cast<std::uint16_t>(port));
    }
    return v;
  };
  for (const auto& r : ap.rules()) {
    proxy::AuthzRule rule;
    for (const auto& f : r.from()) {
      const auto& s = f.source();
      proxy::AuthzSource source;
      source.principals = values(s.principals(), s.not_principals());
      // serviceAccounts: "ns/name", or "name" in the policy's namespace, under any trust domain.
      auto accounts = [&](const auto& in) {
        std::vector<std::string> out;
        for (const std::string& a : in) {
          const auto slash = a.find('/');
          const std::string ns =
              slash == std::string::npos ? key.substr(0, key.find('/')) : a.substr(0, slash);
          const std::string sa = slash == std::string::npos ? a : a.substr(slash + 1);
          out.push_back("*/ns/" + ns + "/sa/" + sa);
        }
        return out;
      };
      source.service_accounts =
          values(accounts(s.service_accounts()), accounts(s.not_service_accounts()));
      source.request_principals = values(s.request_principals(), s.not_request_principals());
      source.namespaces = values(s.namespaces(), s.not_namespaces());
      source.ip_blocks = ips(s.ip_blocks(), s.not_ip_blocks());
      source.remote_ip_blocks = ips(s.remote_ip_blocks(), s.not_remote_ip_blocks());
      rule.from.push_back(std::move(source));
    }
    for (const auto& t : r.to()) {
      const auto& o = t.operation();
      proxy::AuthzOperation operation;
      operation.hosts = values(o.hosts(), o.not_hosts(), true);
      operation.ports = ports(o.ports());
      operation.not_ports = ports(o.not_ports());
      operation.methods = values(o.methods(), o.not_methods(), true);
      operation.paths = values(o.paths(), o.not_paths());
      rule.to.push_back(std::move(operation));
    }
    for (const auto& w : r.when()) {
      using Key = proxy::AuthzCondition::Key;
      proxy::AuthzCondition c;
      const std::string& k = w.key();
      auto bracketed = [&](std::string_view prefix) -> std::optional<std::string> {
        if (!k.starts_with(prefix) || k.size() <= prefix.size() + 1 || k.back() != ']')
          return std::nullopt;
        return k.substr(prefix.size(), k.size() - prefix.size() - 1);
      };
      static const std::map<std::string_view, Key> kKeys{
          {"source.ip", Key::kSourceIp},
          {"remote.ip", Key::kRemoteIp},
          {"source.namespace", Key::kSourceNamespace},
          {"source.principal", Key::kSourcePrincipal},
          {"request.auth.principal", Key::kRequestPrincipal},
          {"request.auth.audiences", Key::kAudiences},
          {"request.auth.presenter", Key::kPresenter},
          {"destination.ip", Key::kDestinationIp},
          {"destination.port", Key::kDestinationPort},
          {"connection.sni", Key::kSni}};
      if (auto it = kKeys.find(k); it != kKeys.end()) {
        c.key = it->second;
      } else if (auto header = bracketed("request.headers[")) {
        c.key = Key::kHeader;
        c.name = ascii_lower(*header);
      } else if (auto claim = bracketed("request.auth.claims[")) {
        c.key = Key::kClaim;
        c.name = *claim;
      } else {
        return std::unexpected(where + ": unknown condition key '" + k + "'");
      }
      if (c.key == Key::kSourceIp || c.key == Key::kRemoteIp || c.key == Key::kDestinationIp)
        c.ips = ips(w.values(), w.not_values());
      else
        c.values = values(w.values(), w.not_values());
      rule.when.push_back(std::move(c));
    }
    out.rules.push_back(std::move(rule));
  }
  if (!bad.empty())
    return std::unexpected(where + ": '" + bad + "' is not a valid port or IP block");
  return out;
}

// A tcp[] or tls[] match block: the conditions on the caller are decided here, as for HTTP; a
// block with destinationSubnets or sourceSubnet (not enforced: there is no original destination
// address without transparent capture; apply warns) never matches rather than matching wider.
template <typename Match>
bool l4_block_applies(const Match& m, const proxy::WorkloadIdentity& self) {
  if (!applies_to_this_proxy(m, self)) return false;
  if (m.destination_subnets_size() > 0) return false;
  if constexpr (requires { m.source_subnet(); }) {
    if (!m.source_subnet().empty()) return false;
  }
  return true;
}

template <typename Routes>
std::vector<proxy::L4Route> l4_routes_from(const Routes& routes, const std::string& ns,
                                           const std::string& name,
                                           const proxy::WorkloadIdentity& self) {
  std::vector<proxy::L4Route> out;
  for (const auto& r : routes) {
    proxy::L4Route route;
    route.virtual_service = ns + "/" + name;
    bool any_block_applies = r.match_size() == 0;
    for (const auto& m : r.match()) {
      if (!l4_block_applies(m, self)) continue;
      any_block_applies = true;
      proxy::L4Match match;
      match.port = static_cast<std::uint16_t>(m.port());
      if constexpr (requires { m.sni_hosts(); }) {
        for (const auto& host : m.sni_hosts()) match.sni_hosts.push_back(ascii_lower(host));
      }
      route.matches.push_back(std::move(match));
    }
    for (const auto& d : r.route()) route.targets.push_back(target_from(d, ns, r.route_size()));
    if (any_block_applies) out.push_back(std::move(route));
  }
  return out;
}

// When several resources claim one host, the one in the proxy's own namespace wins, then the one
// in the service's namespace, then the first by namespace and name (Istio's precedence for
// VirtualServices and DestinationRules visible to a workload).
int precedence(const std::string& resource_ns, const std::string& proxy_ns, const std::string& service_ns) {
  if (resource_ns == proxy_ns) return 0;
  if (resource_ns == service_ns) return 1;
  return 2;
}

}  // namespace

namespace {

proxy::TracingConfig tracing_from(const config::EffectiveTelemetry& effective,
                                  const mesh::v1::TelemetryEndpoints& endpoints) {
  proxy::TracingConfig out;
  out.sampling_percent = effective.sampling_percent;
  out.report_spans = effective.report_spans;
  out.decided_by = effective.tracing_decided_by;
  for (const auto& provider : effective.tracing_providers) {
    proxy::TraceExportTarget target{.provider = provider};
    if (provider == "strait") {
      target.url = endpoints.collector_url();
      target.bearer_token = endpoints.collector_token();
    } else if (provider == "otel") {
      target.url = endpoints.otel_url();
    } else if (provider == "zipkin") {
      target.url = endpoints.zipkin_url();
      target.zipkin = true;
    }
    if (target.url.empty()) {
      out.missing_providers.push_back(provider);
      continue;
    }
    out.targets.push_back(std::move(target));
  }
  return out;
}

}  // namespace

std::expected<AppliedView, std::string> config_from_view(const proxy::ProxyConfig& base,
                                                         const mesh::v1::DiscoveryResponse& view) {
  AppliedView out;
  out.config = base;
  out.config.services.clear();
  out.config.rate_limits.clear();
  out.config.authorization.clear();
  out.config.jwt_rules.clear();
  out.config.config_version = view.version_info();
  std::vector<config::NamedPeerAuthentication> peer_authentications;
  std::vector<config::NamedTelemetry> telemetries;
  mesh::v1::TelemetryEndpoints telemetry_endpoints;
  struct Claim {
    int rank;
    std::string key;  // namespace/name
    std::vector<HttpRoute> routes;
    std::vector<proxy::L4Route> tls;
    std::vector<proxy::L4Route> tcp;
  };
  std::map<std::string, Claim> routes_by_host;
  struct SubsetClaim {
    int rank;
    std::string key;
    std::vector<proxy::Subset> subsets;
    proxy::TrafficPolicySet traffic;
  };
  std::map<std::string, SubsetClaim> subsets_by_host;
  std::map<std::string, std::string> service_ns;  // fqdn -> namespace

  for (const auto& resource : view.resources()) {
    mesh::v1::MeshService ms;
    if (!resource.body().Is<mesh::v1::MeshService>()) continue;
    if (!resource.body().UnpackTo(&ms)) return std::unexpected("MeshService " + resource.name() + ": cannot decode");
    proxy::Service service;
    service.name = ms.name();
    service.ns = ms.namespace_();
    service.fqdn = ascii_lower(ms.hostname());
    const std::string where = "MeshService " + service.fqdn;
    for (const auto& p : ms.ports()) {
      auto protocol = proxy::parse_protocol(p.protocol());
      if (!protocol) return std::unexpected(where + ": port " + std::to_string(p.port()) + ": " + protocol.error());
      service.ports.push_back({static_cast<std::uint16_t>(p.port()), *protocol});
    }
    for (const auto& e : ms.endpoints()) {
      proxy::Endpoint endpoint;
      endpoint.mtls = e.mtls();
      for (const auto port : e.plaintext_ports())
        if (port > 0 && port <= 65535)
          endpoint.plaintext_ports.push_back(static_cast<std::uint16_t>(port));
      endpoint.identity = e.identity();
      endpoint.workload = e.workload();
      endpoint.labels = std::map<std::string, std::string>(e.labels().begin(), e.labels().end());
      std::string address = e.address();
      if (address.find(':') == std::string::npos) {
        // A workload without a sidecar: its port for the service's (first) port.
        std::uint32_t port = service.ports.empty() ? 0 : service.ports.front().port;
        if (auto it = e.target_ports().find(port); it != e.target_ports().end()) port = it->second;
        address += ":" + std::to_string(port);
      }
      auto host_port = proxy::parse_host_port(address);
      if (!host_port) return std::unexpected(where + ": endpoint " + e.address() + ": " + host_port.error());
      endpoint.address = *host_port;
      service.endpoints.push_back(std::move(endpoint));
    }
    service.allowed_identities.assign(ms.subject_alt_names().begin(), ms.subject_alt_names().end());
    service_ns[service.fqdn] = service.ns;
    out.config.services.push_back(std::move(service));
  }
  for (const auto& resource : view.resources()) {
    const std::string key = resource.namespace_() + "/" + resource.name();
    if (resource.body().Is<networking::v1::VirtualService>()) {
      networking::v1::VirtualService vs;
      if (!resource.body().UnpackTo(&vs)) return std::unexpected("VirtualService " + key + ": cannot decode");
      if (vs.gateways_size() > 0 &&
          std::ranges::none_of(vs.gateways(), [](const std::string& g) { return g == "mesh"; }))
        continue;  // for gateways only
      auto routes = routes_from(vs, resource.namespace_(), resource.name(), base.workload);
      if (!routes) return std::unexpected(routes.error());
      for (const auto& host : vs.hosts()) {
        const std::string fqdn = qualify_host(host, resource.namespace_());
        const int rank = precedence(resource.namespace_(), base.workload.ns, service_ns[fqdn]);
        auto it = routes_by_host.find(fqdn);
        if (it == routes_by_host.end() || std::tie(rank, key) < std::tie(it->second.rank, it->second.key))
          routes_by_host[fqdn] = Claim{
              rank, key, *routes,
              l4_routes_from(vs.tls(), resource.namespace_(), resource.name(), base.workload),
              l4_routes_from(vs.tcp(), resource.namespace_(), resource.name(), base.workload)};
      }
    } else if (resource.body().Is<networking::v1::DestinationRule>()) {
      networking::v1::DestinationRule dr;
      if (!resource.body().UnpackTo(&dr)) return std::unexpected("DestinationRule " + key + ": cannot decode");
      const std::string fqdn = qualify_host(dr.host(), resource.namespace_());
      const networking::v1::TrafficPolicy* rule =
          dr.has_traffic_policy() ? &dr.traffic_policy() : nullptr;
      std::vector<proxy::Subset> subsets;
      for (const auto& s : dr.subsets()) {
        proxy::Subset subset;
        subset.name = s.name();
        subset.labels = std::map<std::string, std::string>(s.labels().begin(), s.labels().end());
        subset.traffic =
            policy_set_from(rule, s.has_traffic_policy() ? &s.traffic_policy() : nullptr);
        subsets.push_back(std::move(subset));
      }
      const int rank = precedence(resource.namespace_(), base.workload.ns, service_ns[fqdn]);
      auto it = subsets_by_host.find(fqdn);
      if (it == subsets_by_host.end() || std::tie(rank, key) < std::tie(it->second.rank, it->second.key))
        subsets_by_host[fqdn] =
            SubsetClaim{rank, key, std::move(subsets), policy_set_from(rule, nullptr)};
    } else if (resource.body().Is<policy::v1alpha1::RateLimitPolicy>()) {
      policy::v1alpha1::RateLimitPolicy rl;
      if (!resource.body().UnpackTo(&rl))
        return std::unexpected("RateLimitPolicy " + key + ": cannot decode");
      if (auto ok = rate_limits_from(rl, key, out.config.rate_limits); !ok)
        return std::unexpected(ok.error());
    } else if (resource.body().Is<security::v1::RequestAuthentication>()) {
      security::v1::RequestAuthentication ra;
      if (!resource.body().UnpackTo(&ra))
        return std::unexpected("RequestAuthentication " + key + ": cannot decode");
      for (const auto& r : ra.jwt_rules()) {
        proxy::JwtRule rule;
        rule.name = key;
        rule.requirements.issuer = r.issuer();
        rule.requirements.audiences.assign(r.audiences().begin(), r.audiences().end());
        // An unusable key set refuses every token of its issuer (fail closed) rather than the view.
        if (auto keys = proxy::JwksKeys::parse(r.jwks()))
          rule.keys = std::move(*keys);
        else
          rule.keys_problem = keys.error();
        for (const auto& h : r.from_headers())
          rule.from_headers.emplace_back(ascii_lower(h.name()), h.prefix());
        rule.from_params.assign(r.from_params().begin(), r.from_params().end());
        out.config.jwt_rules.push_back(std::move(rule));
      }
    } else if (resource.body().Is<security::v1::AuthorizationPolicy>()) {
      security::v1::AuthorizationPolicy ap;
      if (!resource.body().UnpackTo(&ap))
        return std::unexpected("AuthorizationPolicy " + key + ": cannot decode");
      auto policy = authorization_from(ap, key, resource.dry_run());
      if (!policy) return std::unexpected(policy.error());
      out.config.authorization.push_back(std::move(*policy));
    } else if (resource.body().Is<security::v1::PeerAuthentication>()) {
      config::NamedPeerAuthentication pa{resource.namespace_(), resource.name(), {}};
      if (!resource.body().UnpackTo(&pa.spec))
        return std::unexpected("PeerAuthentication " + key + ": cannot decode");
      peer_authentications.push_back(std::move(pa));
    } else if (resource.body().Is<telemetry::v1::Telemetry>()) {
      config::NamedTelemetry t{resource.namespace_(), resource.name(), {}};
      if (!resource.body().UnpackTo(&t.spec))
        return std::unexpected("Telemetry " + key + ": cannot decode");
      telemetries.push_back(std::move(t));
    } else if (resource.body().Is<mesh::v1::TelemetryEndpoints>()) {
      if (!resource.body().UnpackTo(&telemetry_endpoints))
        return std::unexpected("TelemetryEndpoints: cannot decode");
    } else if (resource.body().Is<mesh::v1::TrustBundle>()) {
      mesh::v1::TrustBundle bundle;
      if (resource.body().UnpackTo(&bundle)) {
        out.trust_bundle_pem = bundle.pem();
        out.signer_key_id = bundle.signer_key_id();
      }
    }
  }
  for (auto& service : out.config.services) {
    if (auto it = routes_by_host.find(service.fqdn); it != routes_by_host.end()) {
      service.http_routes = it->second.routes;
      service.tls_routes = it->second.tls;
      service.tcp_routes = it->second.tcp;
    }
    if (auto it = subsets_by_host.find(service.fqdn); it != subsets_by_host.end()) {
      service.subsets = it->second.subsets;
      service.traffic = it->second.traffic;
    }
  }
  // straitd sends the PeerAuthentications that reach this workload; the most specific one decides.
  out.config.inbound_mtls =
      config::effective_mtls(peer_authentications, base.workload.ns, base.workload.labels);
  const auto telemetry =
      config::effective_telemetry(telemetries, base.workload.ns, base.workload.labels);
  out.config.tracing = tracing_from(telemetry, telemetry_endpoints);
  out.config.access_log.enabled = telemetry.access_log;
  out.config.access_log.decided_by = telemetry.access_log_decided_by;
  if (auto ok = proxy::finalize_config(out.config); !ok) return std::unexpected(ok.error());
  return out;
}

}  // namespace strait::agent
