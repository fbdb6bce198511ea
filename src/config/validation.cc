#include "config/validation.h"

#include <google/protobuf/duration.pb.h>
#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <string_view>
#include <tuple>

#include "common/bool_text.h"
#include "common/cookie_text.h"
#include "common/grpc_status.h"
#include "common/host_name.h"
#include "common/ip_block.h"
#include "common/retry_on.h"
#include "strait/networking/v1/destination_rule.pb.h"
#include "strait/networking/v1/service_entry.pb.h"
#include "strait/networking/v1/sidecar.pb.h"
#include "strait/networking/v1/virtual_service.pb.h"
#include "strait/networking/v1/workload_entry.pb.h"
#include "strait/policy/v1alpha1/rate_limit_policy.pb.h"
#include "strait/security/v1/authorization_policy.pb.h"
#include "strait/security/v1/peer_authentication.pb.h"
#include "strait/security/v1/request_authentication.pb.h"
#include "strait/telemetry/v1/telemetry.pb.h"

namespace strait::config {
namespace {

namespace nw = strait::networking::v1;
namespace sec = strait::security::v1;
namespace tel = strait::telemetry::v1;
namespace pol = strait::policy::v1alpha1;

using Errors = std::vector<ValidationError>;

std::string at(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

bool under_1ms(const google::protobuf::Duration& d) {
  return d.seconds() < 0 || (d.seconds() == 0 && d.nanos() < 1'000'000);
}

void check_min_duration(Errors& out, bool set, const google::protobuf::Duration& d, const std::string& path) {
  if (set && under_1ms(d)) out.push_back({path, "must be at least 1ms"});
}

void check_percent(Errors& out, double value, const std::string& path) {
  if (!(value >= 0 && value <= 100)) out.push_back({path, "must be from 0 to 100"});
}

void check_port(Errors& out, std::uint64_t port, const std::string& path) {
  if (port < 1 || port > 65535) out.push_back({path, "must be a port number from 1 to 65535"});
}

void check_regex(Errors& out, const std::string& pattern, const std::string& path) {
  RE2::Options options;
  options.set_log_errors(false);
  const RE2 re(pattern, options);
  if (!re.ok()) out.push_back({path, "invalid RE2 regex: " + re.error()});
}

void check_string_match(Errors& out, const nw::StringMatch& m, const std::string& path) {
  if (m.match_type_case() == nw::StringMatch::kRegex) check_regex(out, m.regex(), path + ".regex");
}

// ---- VirtualService ----

void check_destination(Errors& out, bool set, const nw::Destination& d, const std::string& path) {
  if (!set) {
    out.push_back({path, "is required"});
    return;
  }
  if (d.host().empty()) out.push_back({path + ".host", "is required"});
  if (d.has_port()) check_port(out, d.port().number(), path + ".port.number");
}

void check_retries(Errors& out, const nw::HTTPRetry& r, const std::string& path) {
  if (r.attempts() < 0) out.push_back({path + ".attempts", "must not be negative"});
  check_min_duration(out, r.has_per_try_timeout(), r.per_try_timeout(), path + ".perTryTimeout");
  // Each condition on its own, so that every unknown one is named.
  std::string_view rest = r.retry_on();
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    RetryConditions conditions;
    if (auto parsed = parse_retry_on(rest.substr(0, comma), conditions); !parsed) {
      out.push_back({path + ".retryOn",
                     parsed.error() +
                         " (5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream, "
                         "retriable-status-codes, retriable-headers, envoy-ratelimited, cancelled, "
                         "deadline-exceeded, internal, resource-exhausted, unavailable, or a status code 100-599)"});
    }
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
}

void check_match(Errors& out, const nw::HTTPMatchRequest& m, const std::string& path) {
  check_string_match(out, m.uri(), path + ".uri");
  check_string_match(out, m.scheme(), path + ".scheme");
  check_string_match(out, m.method(), path + ".method");
  check_string_match(out, m.authority(), path + ".authority");
  if (m.ignore_uri_case() && m.uri().match_type_case() == nw::StringMatch::kRegex)
    out.push_back({path + ".ignoreUriCase", "applies to exact and prefix uri matches only, not regex"});
  // Map fields iterate in an unspecified order: report in key order.
  const std::map<std::string, nw::StringMatch> headers(m.headers().begin(), m.headers().end());
  for (const auto& [name, match] : headers) check_string_match(out, match, path + ".headers." + name);
  const std::map<std::string, nw::StringMatch> without(m.without_headers().begin(), m.without_headers().end());
  for (const auto& [name, match] : without) check_string_match(out, match, path + ".withoutHeaders." + name);
  const std::map<std::string, nw::StringMatch> params(m.query_params().begin(), m.query_params().end());
  for (const auto& [name, match] : params) {
    check_string_match(out, match, path + ".queryParams." + name);
    if (match.match_type_case() == nw::StringMatch::kPrefix)
      out.push_back({path + ".queryParams." + name + ".prefix", "query parameters match by exact or regex only"});
  }
  if (m.port() > 65535) check_port(out, m.port(), path + ".port");
}

void check_http_route(Errors& out, const nw::HTTPRoute& h, const std::string& path) {
  for (int i = 0; i < h.match_size(); ++i) check_match(out, h.match(i), at(path + ".match", i));
  const bool route = h.route_size() > 0;
  if (!route && !h.has_redirect() && !h.has_direct_response() && !h.has_delegate())
    out.push_back({path, "needs one of route, redirect, directResponse or delegate"});
  if (h.has_redirect() && (route || h.has_rewrite()))
    out.push_back({path + ".redirect", "cannot be combined with route or rewrite"});
  if (h.has_direct_response() && (route || h.has_redirect()))
    out.push_back({path + ".directResponse", "cannot be combined with route or redirect"});
  if (h.has_direct_response() && (h.direct_response().status() < 200 || h.direct_response().status() > 599))
    out.push_back({path + ".directResponse.status", "must be an HTTP status from 200 to 599"});
  if (h.has_redirect() && h.redirect().redirect_code() != 0) {
    const auto code = h.redirect().redirect_code();
    if (code != 301 && code != 302 && code != 303 && code != 307 && code != 308)
      out.push_back({path + ".redirect.redirectCode", "must be 301, 302, 303, 307 or 308"});
  }
  auto check_header_ops = [&](const nw::Headers& headers, const std::string& p) {
    for (const auto* ops : {&headers.request(), &headers.response()}) {
      const std::string side = p + (ops == &headers.request() ? ".request" : ".response");
      auto bad = [](const std::string& name) {
        return name.empty() || name[0] == ':' || ascii_lower(name) == "host";
      };
      for (const auto& [name, value] : ops->set())
        if (bad(name)) out.push_back({side + ".set." + name, "pseudo-headers and Host cannot be edited; use rewrite.authority"});
      for (const auto& [name, value] : ops->add())
        if (bad(name)) out.push_back({side + ".add." + name, "pseudo-headers and Host cannot be edited; use rewrite.authority"});
      for (const auto& name : ops->remove())
        if (bad(name)) out.push_back({side + ".remove", "'" + name + "': pseudo-headers and Host cannot be removed"});
    }
  };
  if (h.has_headers()) check_header_ops(h.headers(), path + ".headers");
  bool all_zero = true;
  for (int i = 0; i < h.route_size(); ++i) {
    const auto& d = h.route(i);
    const std::string p = at(path + ".route", i);
    check_destination(out, d.has_destination(), d.destination(), p + ".destination");
    if (d.weight() < 0) out.push_back({p + ".weight", "must not be negative"});
    if (d.weight() != 0) all_zero = false;
  }
  if (h.route_size() > 1 && all_zero)
    out.push_back({path + ".route", "weights are all zero (with several destinations, give each a relative weight)"});
  if (h.has_redirect() && h.redirect().redirect_port_case() == nw::HTTPRedirect::kPort)
    check_port(out, h.redirect().port(), path + ".redirect.port");
  if (h.has_rewrite()) {
    const auto& rw = h.rewrite();
    if (rw.has_uri_regex_rewrite()) {
      check_regex(out, rw.uri_regex_rewrite().match(), path + ".rewrite.uriRegexRewrite.match");
      if (!rw.uri().empty()) out.push_back({path + ".rewrite", "uri and uriRegexRewrite are exclusive"});
    }
  }
  if (h.has_retries()) check_retries(out, h.retries(), path + ".retries");
  if (h.has_fault()) {
    const auto& f = h.fault();
    if (f.has_delay() && f.delay().has_percentage())
      check_percent(out, f.delay().percentage().value(), path + ".fault.delay.percentage.value");
    if (f.has_abort()) {
      if (f.abort().has_percentage())
        check_percent(out, f.abort().percentage().value(), path + ".fault.abort.percentage.value");
      if (f.abort().error_type_case() == nw::HTTPFaultInjection::Abort::kHttpStatus &&
          (f.abort().http_status() < 200 || f.abort().http_status() > 599))
        out.push_back({path + ".fault.abort.httpStatus", "must be an HTTP status from 200 to 599"});
      if (f.abort().error_type_case() == nw::HTTPFaultInjection::Abort::kGrpcStatus &&
          !grpc_status_code(f.abort().grpc_status()))
        out.push_back({path + ".fault.abort.grpcStatus",
                       "'" + f.abort().grpc_status() + "' is not a gRPC status name (such as UNAVAILABLE)"});
    }
  }
  if (h.has_mirror()) check_destination(out, true, h.mirror(), path + ".mirror");
  if (h.has_mirror_percentage()) check_percent(out, h.mirror_percentage().value(), path + ".mirrorPercentage.value");
  for (int i = 0; i < h.mirrors_size(); ++i) {
    const std::string p = at(path + ".mirrors", i);
    check_destination(out, h.mirrors(i).has_destination(), h.mirrors(i).destination(), p + ".destination");
    if (h.mirrors(i).has_percentage()) check_percent(out, h.mirrors(i).percentage().value(), p + ".percentage.value");
  }
  if (h.has_cors_policy()) {
    for (int i = 0; i < h.cors_policy().allow_origins_size(); ++i)
      check_string_match(out, h.cors_policy().allow_origins(i), at(path + ".corsPolicy.allowOrigins", i));
  }
}

template <typename Routes>
void check_l4_routes(Errors& out, const Routes& routes, const std::string& path) {
  for (int i = 0; i < routes.size(); ++i) {
    for (int j = 0; j < routes[i].route_size(); ++j) {
      const auto& d = routes[i].route(j);
      const std::string p = at(at(path, i) + ".route", j);
      check_destination(out, d.has_destination(), d.destination(), p + ".destination");
      if (d.weight() < 0) out.push_back({p + ".weight", "must not be negative"});
    }
  }
}

// tls[] routes choose by the SNI of a ClientHello: every one needs match blocks with sniHosts.
void check_tls_matches(Errors& out,
                       const google::protobuf::RepeatedPtrField<nw::TLSRoute>& routes) {
  for (int i = 0; i < routes.size(); ++i) {
    const std::string p = at("spec.tls", i);
    if (routes[i].match_size() == 0)
      out.push_back({p + ".match", "is required (TLS routes match by sniHosts)"});
    for (int j = 0; j < routes[i].match_size(); ++j) {
      const auto& m = routes[i].match(j);
      const std::string mp = at(p + ".match", j);
      if (m.sni_hosts_size() == 0) out.push_back({mp + ".sniHosts", "is required"});
      for (int k = 0; k < m.sni_hosts_size(); ++k) {
        const std::string& host = m.sni_hosts(k);
        const bool wildcard_ok = host == "*" || (host.starts_with("*.") && host.size() > 2 &&
                                                 host.find('*', 1) == std::string::npos);
        if (host.empty() || (host.find('*') != std::string::npos && !wildcard_ok))
          out.push_back(
              {at(mp + ".sniHosts", k), "must be a host name, '*.' and a domain, or '*'"});
      }
      if (m.port() > 65535) check_port(out, m.port(), mp + ".port");
    }
  }
}

void validate_virtual_service(Errors& out, const nw::VirtualService& vs) {
  if (vs.hosts_size() == 0) out.push_back({"spec.hosts", "at least one host is required"});
  for (int i = 0; i < vs.hosts_size(); ++i) {
    if (vs.hosts(i).empty()) out.push_back({at("spec.hosts", i), "must not be empty"});
  }
  for (int i = 0; i < vs.http_size(); ++i) check_http_route(out, vs.http(i), at("spec.http", i));
  check_l4_routes(out, vs.tls(), "spec.tls");
  check_tls_matches(out, vs.tls());
  check_l4_routes(out, vs.tcp(), "spec.tcp");
  for (int i = 0; i < vs.tcp_size(); ++i) {
    for (int j = 0; j < vs.tcp(i).match_size(); ++j) {
      if (vs.tcp(i).match(j).port() > 65535)
        check_port(out, vs.tcp(i).match(j).port(), at(at("spec.tcp", i) + ".match", j) + ".port");
    }
  }
}

// ---- DestinationRule ----

bool is_prime(std::uint64_t n) {
  if (n < 2) return false;
  for (std::uint64_t d = 2; d <= n / d; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

constexpr std::uint64_t kMaxRingSize = 8'388'608;  // Envoy's maximum_ring_size

void check_load_balancer(Errors& out, const nw::LoadBalancerSettings& lb, const std::string& path) {
  if (!lb.has_consistent_hash()) return;
  const auto& ch = lb.consistent_hash();
  const std::string p = path + ".consistentHash";
  if (ch.minimum_ring_size() > kMaxRingSize)
    out.push_back({p + ".minimumRingSize", "must be at most 8388608"});
  if (ch.has_ring_hash() && ch.ring_hash().minimum_ring_size() > kMaxRingSize)
    out.push_back({p + ".ringHash.minimumRingSize", "must be at most 8388608"});
  if (ch.has_maglev() && ch.maglev().table_size() != 0) {
    // The bound first: it keeps the primality test short.
    if (ch.maglev().table_size() > 5'000'011)
      out.push_back({p + ".maglev.tableSize", "must be at most 5000011"});
    else if (!is_prime(ch.maglev().table_size()))
      out.push_back({p + ".maglev.tableSize", "must be a prime number (such as 65537)"});
  }
  if (ch.has_http_cookie()) {
    // A generated cookie goes into a Set-Cookie field (RFC 6265 4.1.1): a token for its name,
    // no control byte or ';' in its path and attributes.
    const auto& c = ch.http_cookie();
    if (c.name().empty())
      out.push_back({p + ".httpCookie.name", "is required"});
    else if (!is_cookie_name(c.name()))
      out.push_back(
          {p + ".httpCookie.name", in_quotes(c.name()) + " is not a cookie name (an HTTP token)"});
    if (!is_cookie_value_text(c.path()))
      out.push_back({p + ".httpCookie.path", "must not hold ';' or control characters"});
    if (c.has_ttl() && c.ttl().seconds() < 0)
      out.push_back({p + ".httpCookie.ttl", "must not be negative"});
    for (int i = 0; i < c.attributes_size(); ++i) {
      if (!is_cookie_name(c.attributes(i).name()) || !is_cookie_value_text(c.attributes(i).value()))
        out.push_back({at(p + ".httpCookie.attributes", i),
                       "needs a token name and a value without ';' or control characters"});
    }
  }
}

void check_outlier_detection(Errors& out, const nw::OutlierDetection& od, const std::string& path) {
  if (od.max_ejection_percent() < 0 || od.max_ejection_percent() > 100)
    out.push_back({path + ".maxEjectionPercent", "must be from 0 to 100"});
  if (od.min_health_percent() < 0 || od.min_health_percent() > 100)
    out.push_back({path + ".minHealthPercent", "must be from 0 to 100"});
  check_min_duration(out, od.has_interval(), od.interval(), path + ".interval");
  check_min_duration(out, od.has_base_ejection_time(), od.base_ejection_time(), path + ".baseEjectionTime");
}

void check_connection_pool(Errors& out, const nw::ConnectionPoolSettings& cp, const std::string& path) {
  if (!cp.has_tcp()) return;
  const auto& tcp = cp.tcp();
  check_min_duration(out, tcp.has_connect_timeout(), tcp.connect_timeout(),
                     path + ".tcp.connectTimeout");
  if (tcp.has_tcp_keepalive()) {
    // The kernel counts keepalive time in whole seconds, up to 32767.
    auto seconds = [&](bool set, const google::protobuf::Duration& d, const char* field) {
      if (set && (d.seconds() < 1 || d.seconds() > 32767 || d.nanos() < 0))
        out.push_back({path + ".tcp.tcpKeepalive." + field, "must be from 1s to 32767s"});
    };
    seconds(tcp.tcp_keepalive().has_time(), tcp.tcp_keepalive().time(), "time");
    seconds(tcp.tcp_keepalive().has_interval(), tcp.tcp_keepalive().interval(), "interval");
    if (tcp.tcp_keepalive().probes() > 127)
      out.push_back({path + ".tcp.tcpKeepalive.probes", "must be at most 127"});
  }
}

void check_traffic_policy(Errors& out, const nw::TrafficPolicy& tp, const std::string& path) {
  if (tp.has_load_balancer()) check_load_balancer(out, tp.load_balancer(), path + ".loadBalancer");
  if (tp.has_connection_pool()) check_connection_pool(out, tp.connection_pool(), path + ".connectionPool");
  if (tp.has_outlier_detection()) check_outlier_detection(out, tp.outlier_detection(), path + ".outlierDetection");
  if (tp.has_retry_budget() && tp.retry_budget().has_percent())
    check_percent(out, tp.retry_budget().percent().value(), path + ".retryBudget.percent");
  if (tp.has_retry_budget())
    check_min_duration(out, tp.retry_budget().has_budget_interval(),
                       tp.retry_budget().budget_interval(), path + ".retryBudget.budgetInterval");
  std::set<std::uint32_t> ports;
  for (int i = 0; i < tp.port_level_settings_size(); ++i) {
    const auto& pl = tp.port_level_settings(i);
    const std::string p = at(path + ".portLevelSettings", i);
    check_port(out, pl.port().number(), p + ".port.number");
    if (pl.port().number() != 0 && !ports.insert(pl.port().number()).second)
      out.push_back({p + ".port.number", "port " + std::to_string(pl.port().number()) + " has settings twice"});
    if (pl.has_load_balancer()) check_load_balancer(out, pl.load_balancer(), p + ".loadBalancer");
    if (pl.has_connection_pool()) check_connection_pool(out, pl.connection_pool(), p + ".connectionPool");
    if (pl.has_outlier_detection()) check_outlier_detection(out, pl.outlier_detection(), p + ".outlierDetection");
  }
}

void validate_destination_rule(Errors& out, const nw::DestinationRule& dr) {
  if (dr.host().empty()) out.push_back({"spec.host", "is required"});
  if (dr.has_traffic_policy()) check_traffic_policy(out, dr.traffic_policy(), "spec.trafficPolicy");
  std::set<std::string> names;
  for (int i = 0; i < dr.subsets_size(); ++i) {
    const auto& s = dr.subsets(i);
    const std::string p = at("spec.subsets", i);
    if (s.name().empty()) {
      out.push_back({p + ".name", "is required"});
    } else if (!names.insert(s.name()).second) {
      out.push_back({p + ".name", "subset " + in_quotes(s.name()) + " is defined twice"});
    }
    if (s.has_traffic_policy()) check_traffic_policy(out, s.traffic_policy(), p + ".trafficPolicy");
  }
}

// ---- ServiceEntry, WorkloadEntry, Sidecar ----

void check_workload_ports(Errors& out, const google::protobuf::Map<std::string, std::uint32_t>& ports,
                          const std::string& path) {
  const std::map<std::string, std::uint32_t> sorted(ports.begin(), ports.end());
  for (const auto& [name, port] : sorted) check_port(out, port, path + "." + name);
}

void validate_service_entry(Errors& out, const nw::ServiceEntry& se) {
  if (se.hosts_size() == 0) out.push_back({"spec.hosts", "at least one host is required"});
  for (int i = 0; i < se.hosts_size(); ++i) {
    if (se.hosts(i).empty()) out.push_back({at("spec.hosts", i), "must not be empty"});
  }
  std::set<std::uint32_t> ports;
  for (int i = 0; i < se.ports_size(); ++i) {
    const auto& port = se.ports(i);
    const std::string p = at("spec.ports", i);
    check_port(out, port.number(), p + ".number");
    if (port.number() != 0 && !ports.insert(port.number()).second)
      out.push_back({p + ".number", "port " + std::to_string(port.number()) + " is declared twice"});
    if (port.target_port() != 0) check_port(out, port.target_port(), p + ".targetPort");
  }
  const bool is_static = se.resolution() == nw::ServiceEntry::STATIC;
  if (is_static && se.endpoints_size() == 0 && !se.has_workload_selector())
    out.push_back({"spec.endpoints", "resolution STATIC needs endpoints (or a workloadSelector)"});
  for (int i = 0; i < se.endpoints_size(); ++i) {
    const auto& e = se.endpoints(i);
    const std::string p = at("spec.endpoints", i);
    if (is_static && e.address().empty()) out.push_back({p + ".address", "is required with resolution STATIC"});
    check_workload_ports(out, e.ports(), p + ".ports");
  }
}

void validate_workload_entry(Errors& out, const nw::WorkloadEntry& we) {
  if (we.address().empty()) out.push_back({"spec.address", "is required"});
  check_workload_ports(out, we.ports(), "spec.ports");
}

void validate_sidecar(Errors& out, const nw::Sidecar& sc) {
  for (int i = 0; i < sc.egress_size(); ++i) {
    const auto& e = sc.egress(i);
    const std::string p = at("spec.egress", i);
    if (e.has_port()) check_port(out, e.port().number(), p + ".port.number");
    for (int j = 0; j < e.hosts_size(); ++j) {
      const std::string& host = e.hosts(j);
      const auto slash = host.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == host.size())
        out.push_back({at(p + ".hosts", j), "must be 'namespace/host' (the namespace may be '.', '*' or '~'), not " +
                                                in_quotes(host)});
    }
  }
}

// ---- PeerAuthentication, AuthorizationPolicy, RequestAuthentication ----

void validate_peer_authentication(Errors& out, const sec::PeerAuthentication& pa) {
  if (pa.port_level_mtls_size() > 0 && pa.selector().match_labels_size() == 0)
    out.push_back({"spec.portLevelMtls", "needs a selector (port-level settings apply to selected workloads only)"});
  std::set<std::uint32_t> ports;
  for (const auto& [port, mode] : pa.port_level_mtls()) ports.insert(port);
  for (const auto port : ports) {
    if (port < 1 || port > 65535)
      out.push_back({"spec.portLevelMtls." + std::to_string(port), "must be a port number from 1 to 65535"});
  }
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const auto pos = s.find(sep);
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) return out;
    s.remove_prefix(pos + 1);
  }
}

// "<trust-domain>/ns/<ns>/sa/<sa>", "*", or one of those with a leading or trailing "*".
std::string principal_problem(std::string_view p) {
  if (p == "*") return {};
  if (p.empty()) return "must not be empty";
  if (p.starts_with("spiffe://")) return "omit the spiffe:// prefix: " + in_quotes(p);
  const bool leading = p.front() == '*';
  const bool trailing = !leading && p.back() == '*';
  std::string_view stem = p.substr(leading ? 1 : 0, p.size() - (leading || trailing ? 1 : 0));
  if (stem.find('*') != std::string_view::npos)
    return "a '*' may only start or end a principal: " + in_quotes(p);
  const std::string shape = "must be '<trust-domain>/ns/<namespace>/sa/<service-account>' (or start or end with '*'), not " +
                            in_quotes(p);
  const auto parts = split(stem, '/');
  if (parts.size() > 5) return shape;
  if (!leading && !trailing) {
    if (parts.size() != 5 || parts[1] != "ns" || parts[3] != "sa" || parts[0].empty() || parts[2].empty() ||
        parts[4].empty())
      return shape;
    return {};
  }
  static constexpr std::array<std::string_view, 5> kFixed{"", "ns", "", "sa", ""};
  // With a trailing '*' the stem is a prefix: its last part may be partial. With a leading '*' it is
  // a suffix: its first part may be partial.
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::size_t position = leading ? 5 - parts.size() + i : i;
    const bool partial = leading ? i == 0 : i + 1 == parts.size();
    if (partial || kFixed[position].empty()) continue;
    if (parts[i] != kFixed[position]) return shape;
  }
  return {};
}

bool known_condition_key(std::string_view key) {
  static constexpr std::array<std::string_view, 10> kKeys{
      "source.ip", "remote.ip", "source.namespace", "source.principal", "request.auth.principal",
      "request.auth.audiences", "request.auth.presenter", "destination.ip", "destination.port", "connection.sni"};
  if (std::ranges::find(kKeys, key) != kKeys.end()) return true;
  for (std::string_view prefix : {std::string_view("request.headers["), std::string_view("request.auth.claims[")}) {
    if (key.starts_with(prefix) && key.size() > prefix.size() + 1 && key.back() == ']') return true;
  }
  return false;
}

bool valid_port_text(std::string_view s) {
  if (s.empty() || s.size() > 5 || !std::ranges::all_of(s, [](char c) { return c >= '0' && c <= '9'; })) return false;
  const int n = std::stoi(std::string(s));
  return n >= 1 && n <= 65535;
}

void check_principals(Errors& out, const google::protobuf::RepeatedPtrField<std::string>& values,
                      const std::string& path) {
  for (int i = 0; i < values.size(); ++i) {
    if (auto problem = principal_problem(values[i]); !problem.empty()) out.push_back({at(path, i), problem});
  }
}

void check_paths(Errors& out, const google::protobuf::RepeatedPtrField<std::string>& values, const std::string& path) {
  for (int i = 0; i < values.size(); ++i) {
    const std::string& v = values[i];
    if (v.size() > 2 && v.substr(1, v.size() - 2).find('*') != std::string::npos)
      out.push_back({at(path, i), "a '*' may only start or end a path: " + in_quotes(v)});
  }
}

void check_ports(Errors& out, const google::protobuf::RepeatedPtrField<std::string>& values, const std::string& path) {
  for (int i = 0; i < values.size(); ++i) {
    if (!valid_port_text(values[i]))
      out.push_back({at(path, i), "must be a port number from 1 to 65535, not " + in_quotes(values[i])});
  }
}

void check_ip_blocks(Errors& out, const google::protobuf::RepeatedPtrField<std::string>& values,
                     const std::string& path) {
  for (int i = 0; i < values.size(); ++i) {
    if (!IpBlock::parse(values[i]))
      out.push_back(
          {at(path, i), "must be an IP address or CIDR block (10.0.0.0/8, fd00::/8), not " +
                            in_quotes(values[i])});
  }
}

void validate_authorization_policy(Errors& out, const sec::AuthorizationPolicy& ap) {
  if (ap.action() == sec::AuthorizationPolicy::CUSTOM)
    out.push_back({"spec.action", "CUSTOM needs an external authorizer, which strait does not have yet"});
  if (ap.has_target_ref() || ap.target_refs_size() > 0)
    out.push_back({ap.has_target_ref() ? "spec.targetRef" : "spec.targetRefs",
                   "attaches a policy to a Gateway or Service, which strait does not have; select "
                   "workloads with spec.selector"});
  for (int i = 0; i < ap.rules_size(); ++i) {
    const auto& rule = ap.rules(i);
    const std::string p = at("spec.rules", i);
    for (int j = 0; j < rule.from_size(); ++j) {
      const auto& s = rule.from(j).source();
      const std::string sp = at(p + ".from", j) + ".source";
      check_principals(out, s.principals(), sp + ".principals");
      check_principals(out, s.not_principals(), sp + ".notPrincipals");
      check_ip_blocks(out, s.ip_blocks(), sp + ".ipBlocks");
      check_ip_blocks(out, s.not_ip_blocks(), sp + ".notIpBlocks");
      check_ip_blocks(out, s.remote_ip_blocks(), sp + ".remoteIpBlocks");
      check_ip_blocks(out, s.not_remote_ip_blocks(), sp + ".notRemoteIpBlocks");
    }
    for (int j = 0; j < rule.to_size(); ++j) {
      const auto& o = rule.to(j).operation();
      const std::string op = at(p + ".to", j) + ".operation";
      check_paths(out, o.paths(), op + ".paths");
      check_paths(out, o.not_paths(), op + ".notPaths");
      check_ports(out, o.ports(), op + ".ports");
      check_ports(out, o.not_ports(), op + ".notPorts");
    }
    for (int j = 0; j < rule.when_size(); ++j) {
      const auto& c = rule.when(j);
      const std::string cp = at(p + ".when", j);
      if (!known_condition_key(c.key())) {
        out.push_back({cp + ".key",
                       "unknown key " + in_quotes(c.key()) +
                           " (request.headers[NAME], source.ip, remote.ip, source.namespace, source.principal, "
                           "request.auth.principal, request.auth.audiences, request.auth.presenter, "
                           "request.auth.claims[NAME], destination.ip, destination.port, connection.sni)"});
      }
      if (c.values_size() == 0 && c.not_values_size() == 0) out.push_back({cp, "needs values or notValues"});
      if (c.key() == "source.ip" || c.key() == "remote.ip" || c.key() == "destination.ip") {
        check_ip_blocks(out, c.values(), cp + ".values");
        check_ip_blocks(out, c.not_values(), cp + ".notValues");
      } else if (c.key() == "destination.port") {
        check_ports(out, c.values(), cp + ".values");
        check_ports(out, c.not_values(), cp + ".notValues");
      }
    }
  }
}

void validate_request_authentication(Errors& out, const sec::RequestAuthentication& ra) {
  for (int i = 0; i < ra.jwt_rules_size(); ++i) {
    const auto& rule = ra.jwt_rules(i);
    const std::string p = at("spec.jwtRules", i);
    if (rule.issuer().empty()) out.push_back({p + ".issuer", "is required"});
    if (!rule.jwks_uri().empty()) out.push_back({p + ".jwksUri", "jwksUri needs a network fetch; use inline jwks"});
    if (!rule.jwks().empty()) {
      const auto jwks = nlohmann::json::parse(rule.jwks(), nullptr, false);
      if (jwks.is_discarded()) {
        out.push_back({p + ".jwks", "is not valid JSON"});
      } else if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
        out.push_back({p + ".jwks", "must be a JSON Web Key Set: an object with a \"keys\" array"});
      }
    }
  }
}

// ---- Telemetry ----

// The providers each section knows (docs/observability.md): tracing goes to straitd's collector
// ("strait") or the OTLP or Zipkin receiver straitd was given; metrics are Prometheus text;
// access logs are the proxy's JSON lines.
void check_providers(Errors& out,
                     const google::protobuf::RepeatedPtrField<tel::ProviderRef>& providers,
                     const std::string& path, std::span<const std::string_view> known,
                     std::string_view listed) {
  for (int i = 0; i < providers.size(); ++i) {
    if (std::ranges::find(known, providers[i].name()) == known.end())
      out.push_back({at(path, i) + ".name", "unknown provider " + in_quotes(providers[i].name()) +
                                                " (" + std::string(listed) + ")"});
  }
}

constexpr std::array<std::string_view, 3> kTracingProviders{"strait", "otel", "zipkin"};
constexpr std::array<std::string_view, 2> kMetricsProviders{"prometheus", "strait"};
constexpr std::array<std::string_view, 2> kAccessLogProviders{"envoy", "strait"};

void validate_telemetry(Errors& out, const tel::Telemetry& t) {
  for (int i = 0; i < t.tracing_size(); ++i) {
    const std::string p = at("spec.tracing", i);
    check_providers(out, t.tracing(i).providers(), p + ".providers", kTracingProviders,
                    "strait, otel or zipkin");
    if (t.tracing(i).has_random_sampling_percentage())
      check_percent(out, t.tracing(i).random_sampling_percentage().value(), p + ".randomSamplingPercentage");
  }
  for (int i = 0; i < t.metrics_size(); ++i)
    check_providers(out, t.metrics(i).providers(), at("spec.metrics", i) + ".providers",
                    kMetricsProviders, "prometheus or strait");
  for (int i = 0; i < t.access_logging_size(); ++i)
    check_providers(out, t.access_logging(i).providers(),
                    at("spec.accessLogging", i) + ".providers", kAccessLogProviders,
                    "envoy or strait");
}

// ---- RateLimitPolicy (strait.dev) ----

// A fill interval beyond a day is refused: the bucket's arithmetic is in nanoseconds, and a limit
// that slow is an outage, not a rate.
constexpr std::int64_t kMaxFillIntervalSeconds = 24 * 3600;

void check_token_bucket(Errors& out, bool set, const pol::TokenBucket& b, const std::string& path) {
  if (!set) {
    out.push_back({path, "is required (maxTokens, tokensPerFill, fillInterval)"});
    return;
  }
  if (b.max_tokens() < 1) out.push_back({path + ".maxTokens", "must be at least 1"});
  if (!b.has_fill_interval()) {
    out.push_back({path + ".fillInterval", "is required"});
  } else if (under_1ms(b.fill_interval())) {
    out.push_back({path + ".fillInterval", "must be at least 1ms"});
  } else if (b.fill_interval().seconds() > kMaxFillIntervalSeconds) {
    out.push_back({path + ".fillInterval", "must be at most 24h"});
  } else {
    const double interval_ns =
        static_cast<double>(b.fill_interval().seconds()) * 1e9 + b.fill_interval().nanos();
    const std::uint32_t per_fill = b.tokens_per_fill() == 0 ? 1 : b.tokens_per_fill();
    if (interval_ns / per_fill < 1000.0)
      out.push_back({path + ".tokensPerFill", "refills faster than one token per microsecond (" +
                                                  std::to_string(per_fill) + " per fillInterval)"});
  }
}

void validate_rate_limit_policy(Errors& out, const pol::RateLimitPolicy& p) {
  if (p.limits_size() == 0) out.push_back({"spec.limits", "needs at least one limit"});
  std::set<std::string> names;
  for (int i = 0; i < p.limits_size(); ++i) {
    const auto& limit = p.limits(i);
    const std::string path = at("spec.limits", i);
    if (limit.name().empty()) {
      out.push_back({path + ".name", "is required"});
    } else if (!is_dns_label(limit.name())) {
      out.push_back(
          {path + ".name", in_quotes(limit.name()) + " must be a DNS label (a-z, 0-9, '-')"});
    } else if (!names.insert(limit.name()).second) {
      out.push_back(
          {path + ".name", in_quotes(limit.name()) + " is already the name of another limit"});
    }
    for (int j = 0; j < limit.match_size(); ++j) {
      const auto& m = limit.match(j);
      const std::string mp = at(path + ".match", j);
      check_match(out, m, mp);
      // The sidecar that enforces the limit is the callee: it knows the caller by its SPIFFE ID.
      if (m.source_labels_size() > 0)
        out.push_back(
            {mp + ".sourceLabels", "is not available to a rate limit (use perSource: PRINCIPAL)"});
      if (!m.source_namespace().empty())
        out.push_back({mp + ".sourceNamespace",
                       "is not available to a rate limit (use perSource: PRINCIPAL)"});
      if (m.gateways_size() > 0)
        out.push_back({mp + ".gateways", "is not available to a rate limit"});
    }
    check_token_bucket(out, limit.has_token_bucket(), limit.token_bucket(), path + ".tokenBucket");
  }
}

template <typename T>
const T* spec_as(const Resource& r) {
  return dynamic_cast<const T*>(r.spec.get());
}

// ---- Conflicts ----

std::string resource_ns(const Resource& r) { return r.ns.empty() ? "default" : r.ns; }

std::string fqdn(const std::string& host, const std::string& ns) {
  if (host.find('.') != std::string::npos || host.find('*') != std::string::npos) return host;
  return host + "." + ns + ".svc.cluster.local";
}

std::string label(const Resource& r) {
  return std::string(r.kind->kind) + " " + resource_ns(r) + "/" + r.name;
}

struct Subject {
  const Resource* resource;
  bool incoming;
};

struct DestinationRef {
  const nw::Destination* destination;
  std::string path;
};

std::vector<DestinationRef> destinations_of(const nw::VirtualService& vs) {
  std::vector<DestinationRef> out;
  for (int i = 0; i < vs.http_size(); ++i) {
    const auto& h = vs.http(i);
    const std::string p = at("spec.http", i);
    for (int j = 0; j < h.route_size(); ++j)
      out.push_back({&h.route(j).destination(), at(p + ".route", j) + ".destination"});
    if (h.has_mirror()) out.push_back({&h.mirror(), p + ".mirror"});
    for (int j = 0; j < h.mirrors_size(); ++j)
      out.push_back({&h.mirrors(j).destination(), at(p + ".mirrors", j) + ".destination"});
  }
  for (int i = 0; i < vs.tls_size(); ++i) {
    for (int j = 0; j < vs.tls(i).route_size(); ++j)
      out.push_back({&vs.tls(i).route(j).destination(), at(at("spec.tls", i) + ".route", j) + ".destination"});
  }
  for (int i = 0; i < vs.tcp_size(); ++i) {
    for (int j = 0; j < vs.tcp(i).route_size(); ++j)
      out.push_back({&vs.tcp(i).route(j).destination(), at(at("spec.tcp", i) + ".route", j) + ".destination"});
  }
  return out;
}

}  // namespace

std::vector<ValidationError> validate(const Resource& r) {
  Errors out;
  if (r.kind == nullptr || r.spec == nullptr) return out;
  if (const auto* vs = spec_as<nw::VirtualService>(r)) validate_virtual_service(out, *vs);
  else if (const auto* dr = spec_as<nw::DestinationRule>(r)) validate_destination_rule(out, *dr);
  else if (const auto* se = spec_as<nw::ServiceEntry>(r)) validate_service_entry(out, *se);
  else if (const auto* we = spec_as<nw::WorkloadEntry>(r)) validate_workload_entry(out, *we);
  else if (const auto* sc = spec_as<nw::Sidecar>(r)) validate_sidecar(out, *sc);
  else if (const auto* pa = spec_as<sec::PeerAuthentication>(r)) validate_peer_authentication(out, *pa);
  else if (const auto* ap = spec_as<sec::AuthorizationPolicy>(r)) {
    validate_authorization_policy(out, *ap);
    if (auto it = r.annotations.find("istio.io/dry-run");
        it != r.annotations.end() && !parse_bool_text(it->second))
      out.push_back({"metadata.annotations.istio.io/dry-run",
                     "must be \"true\" or \"false\", not " + in_quotes(it->second)});
  } else if (const auto* ra = spec_as<sec::RequestAuthentication>(r))
    validate_request_authentication(out, *ra);
  else if (const auto* t = spec_as<tel::Telemetry>(r)) validate_telemetry(out, *t);
  else if (const auto* rl = spec_as<pol::RateLimitPolicy>(r))
    validate_rate_limit_policy(out, *rl);
  return out;
}

std::vector<ValidationError> check_conflicts(std::span<const Resource> incoming, std::span<const Resource> existing) {
  // The union, keyed and ordered by (kind, namespace, name); incoming wins.
  std::map<std::tuple<std::string, std::string, std::string>, Subject> all;
  for (const auto& r : existing) {
    if (r.kind != nullptr && r.spec != nullptr) all[{std::string(r.kind->kind), resource_ns(r), r.name}] = {&r, false};
  }
  for (const auto& r : incoming) {
    if (r.kind != nullptr && r.spec != nullptr) all[{std::string(r.kind->kind), resource_ns(r), r.name}] = {&r, true};
  }
  std::vector<Subject> services;
  std::vector<Subject> rules;
  for (const auto& [key, subject] : all) {
    if (spec_as<nw::VirtualService>(*subject.resource) != nullptr) services.push_back(subject);
    if (spec_as<nw::DestinationRule>(*subject.resource) != nullptr) rules.push_back(subject);
  }
  Errors out;

  // Two VirtualServices of one namespace claiming one host.
  for (const auto& s : services) {
    if (!s.incoming) continue;
    const auto& vs = *spec_as<nw::VirtualService>(*s.resource);
    const std::string ns = resource_ns(*s.resource);
    for (int i = 0; i < vs.hosts_size(); ++i) {
      const std::string host = fqdn(vs.hosts(i), ns);
      for (const auto& other : services) {
        if (other.resource == s.resource || resource_ns(*other.resource) != ns) continue;
        const auto& other_hosts = spec_as<nw::VirtualService>(*other.resource)->hosts();
        if (std::ranges::any_of(other_hosts, [&](const std::string& h) { return fqdn(h, ns) == host; })) {
          out.push_back({label(*s.resource) + ": " + at("spec.hosts", i),
                         "host " + in_quotes(vs.hosts(i)) + " is also claimed by " + label(*other.resource) +
                             " (one VirtualService per host and namespace)"});
        }
      }
    }
  }

  // Subsets that no DestinationRule of the host (same namespace) defines.
  for (const auto& s : services) {
    const auto& vs = *spec_as<nw::VirtualService>(*s.resource);
    const std::string ns = resource_ns(*s.resource);
    for (const auto& ref : destinations_of(vs)) {
      if (ref.destination->subset().empty()) continue;
      const std::string host = fqdn(ref.destination->host(), ns);
      bool defined = false;
      bool rule_incoming = false;
      for (const auto& rule : rules) {
        if (resource_ns(*rule.resource) != ns) continue;
        const auto& dr = *spec_as<nw::DestinationRule>(*rule.resource);
        if (fqdn(dr.host(), ns) != host) continue;
        rule_incoming = rule_incoming || rule.incoming;
        if (std::ranges::any_of(dr.subsets(), [&](const nw::Subset& sub) {
              return sub.name() == ref.destination->subset();
            }))
          defined = true;
      }
      if (!defined && (s.incoming || rule_incoming)) {
        out.push_back({label(*s.resource) + ": " + ref.path + ".subset",
                       "subset " + in_quotes(ref.destination->subset()) + " is not defined by any DestinationRule for " +
                           host + " in namespace " + ns});
      }
    }
  }
  return out;
}

}  // namespace strait::config
