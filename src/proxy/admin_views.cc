// Renders the admin pages: /config_dump as JSON and /stats/prometheus as Prometheus text.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "common/time_text.h"
#include "proxy/access_log_writer.h"
#include "proxy/admin_server.h"
#include "proxy/istio_metrics.h"
#include "proxy/proxy_server.h"
#include "proxy/span_exporter.h"

namespace strait::proxy {
namespace {

// Each cluster with the settings in force and what is in flight to it now: what a DestinationRule's
// layers (subset, portLevelSettings) resolved to.
nlohmann::json render_clusters(const Snapshot& snapshot) {
  using nlohmann::json;
  std::vector<const ResolvedCluster*> clusters;
  for (const auto& [fqdn, service] : snapshot.services_by_fqdn) {
    for (const auto& cluster : service.clusters) clusters.push_back(&cluster);
  }
  std::ranges::sort(clusters, {}, &ResolvedCluster::name);
  auto limit = [](std::uint32_t value) {
    return value == ConnectionPoolPolicy::kUnlimited ? json(nullptr) : json(value);
  };
  json out = json::array();
  for (const auto* cluster : clusters) {
    const TrafficSettings& settings = *cluster->settings;
    const ConnectionPoolPolicy& pool = settings.pool;
    json connection_pool = {{"max_connections", limit(pool.max_connections)},
                            {"http1_max_pending_requests", limit(pool.max_pending_requests)},
                            {"http2_max_requests", limit(pool.max_requests)},
                            {"max_requests_per_connection", pool.max_requests_per_connection},
                            {"max_retries", limit(pool.max_retries)},
                            {"connect_timeout", format_duration(pool.connect_timeout)},
                            {"idle_timeout", format_duration(pool.idle_timeout)},
                            {"tcp_idle_timeout", format_duration(pool.tcp_idle_timeout)},
                            {"tcp_keepalive", nullptr}};
    if (pool.keepalive) {
      connection_pool["tcp_keepalive"] = {{"probes", pool.keepalive->probes},
                                          {"time", format_duration(pool.keepalive->time)},
                                          {"interval", format_duration(pool.keepalive->interval)}};
    }
    if (pool.tcp_idle_timeout == ConnectionPoolPolicy::kNoIdleTimeout)
      connection_pool["tcp_idle_timeout"] = "off";
    json outlier = nullptr;
    if (settings.outlier) {
      const OutlierPolicy& o = *settings.outlier;
      outlier = {{"consecutive_5xx_errors", o.consecutive_5xx},
                 {"consecutive_gateway_errors", o.consecutive_gateway},
                 {"interval", format_duration(o.interval)},
                 {"base_ejection_time", format_duration(o.base_ejection)},
                 {"max_ejection_percent", o.max_ejection_percent},
                 {"min_health_percent", o.min_health_percent}};
    }
    const CircuitState& circuit = *cluster->circuit;
    out.push_back({{"name", cluster->name},
                   {"endpoints", cluster->set->members.size()},
                   {"load_balancer", name_of(settings.lb.kind)},
                   {"connection_pool", connection_pool},
                   {"outlier_detection", outlier},
                   {"retry_budget",
                    {{"percent", settings.retry_budget.percent},
                     {"min_retry_concurrency", settings.retry_budget.min_retry_concurrency},
                     {"budget_interval", format_duration(settings.retry_budget.interval)}}},
                   {"in_flight",
                    {{"connections", circuit.connections.load(std::memory_order_relaxed)},
                     {"pending", circuit.pending.load(std::memory_order_relaxed)},
                     {"requests", circuit.requests.load(std::memory_order_relaxed)},
                     {"retries", circuit.retries.load(std::memory_order_relaxed)}}}});
  }
  return out;
}

}  // namespace

std::string render_config_dump(const ProxyServer& server) {
  using nlohmann::json;
  const Snapshot& snapshot = server.snapshot();
  const ProxyConfig& config = *snapshot.config;
  json out;
  out["version"] = snapshot.version;
  out["applied_at"] = utc_iso8601(server.snapshot_time());
  out["proxy_version"] = STRAIT_VERSION;
  out["config_source"] = config.control_plane ? "control-plane" : "bootstrap";
  if (!config.config_version.empty()) out["control_plane_version"] = config.config_version;
  out["workload"] = {{"name", config.workload.name},
                     {"namespace", config.workload.ns},
                     {"service_account", config.workload.service_account},
                     {"trust_domain", config.workload.trust_domain},
                     {"spiffe_id", config.workload.spiffe_id()},
                     {"labels", config.workload.labels}};
  json trace_targets = json::array();
  for (const auto& t : config.tracing.targets)
    trace_targets.push_back(
        {{"provider", t.provider}, {"format", t.zipkin ? "zipkin" : "otlp"}, {"url", t.url}});
  out["tracing"] = {{"sampling_percent", config.tracing.sampling_percent},
                    {"report_spans", config.tracing.report_spans},
                    {"targets", trace_targets},
                    {"missing_providers", config.tracing.missing_providers},
                    {"decided_by", config.tracing.decided_by}};
  out["access_log"] = {
      {"enabled", config.access_log.enabled},
      {"path", config.access_log.path.empty() ? std::string("stdout") : config.access_log.path},
      {"decided_by", config.access_log.decided_by}};
  const auto& bound = server.bound();
  json upstreams = json::array();
  for (std::size_t i = 0; i < config.upstreams.size() && i < bound.upstreams.size(); ++i) {
    upstreams.push_back({{"listen", bound.upstreams[i].to_string()},
                         {"service", config.upstreams[i].service},
                         {"port", config.upstreams[i].port}});
  }
  out["listeners"] = {{"outbound", bound.outbound.to_string()},
                      {"inbound", bound.inbound.to_string()},
                      {"admin", bound.admin.to_string()},
                      {"upstreams", upstreams}};
  json inbound = json::array();
  for (const auto& s : config.inbound_services) {
    inbound.push_back({{"name", s.name},
                       {"port", s.port},
                       {"protocol", name_of(s.protocol)},
                       {"target_port", s.target_port}});
  }
  out["inbound_services"] = inbound;
  json services = json::array();
  for (const auto& s : config.services) {
    json ports = json::array();
    for (const auto& p : s.ports) ports.push_back({{"port", p.port}, {"protocol", name_of(p.protocol)}});
    json endpoints = json::array();
    for (const auto& e : s.endpoints) {
      endpoints.push_back({{"address", e.address.to_string()},
                           {"mtls", e.mtls},
                           {"plaintext_ports", e.plaintext_ports},
                           {"identity", e.identity},
                           {"labels", e.labels}});
    }
    json subsets = json::array();
    for (const auto& subset : s.subsets) subsets.push_back({{"name", subset.name}, {"labels", subset.labels}});
    json routes = json::array();
    for (const auto& route : s.http_routes) {
      json targets = json::array();
      for (const auto& t : route.targets)
        targets.push_back({{"host", t.host}, {"port", t.port}, {"subset", t.subset}, {"weight", t.weight}});
      routes.push_back({{"name", route.name}, {"virtual_service", route.virtual_service},
                        {"match_blocks", route.matches.size()}, {"destinations", targets}});
    }
    services.push_back({{"host", s.fqdn},
                        {"ports", ports},
                        {"endpoints", endpoints},
                        {"allowed_identities", s.allowed_identities},
                        {"subsets", subsets},
                        {"http_routes", routes}});
  }
  out["services"] = services;
  out["clusters"] = render_clusters(snapshot);
  json authorization = json::array();
  for (const auto& policy : config.authorization) {
    static constexpr std::string_view kActions[] = {"ALLOW", "DENY", "AUDIT"};
    authorization.push_back({{"name", policy.name},
                             {"action", kActions[static_cast<std::size_t>(policy.action)]},
                             {"dry_run", policy.dry_run},
                             {"rules", policy.rules.size()}});
  }
  out["authorization_policies"] = authorization;
  json mtls_ports = json::object();
  for (const auto& [port, setting] : config.inbound_mtls.ports)
    mtls_ports[std::to_string(port)] = {{"mode", name_of(setting.mode)},
                                        {"source", setting.source}};
  out["peer_authentication"] = {{"mode", name_of(config.inbound_mtls.workload.mode)},
                                {"source", config.inbound_mtls.workload.source},
                                {"ports", mtls_ports}};
  json rate_limits = json::array();
  for (const auto& r : config.rate_limits) {
    rate_limits.push_back({{"name", r.name},
                           {"match_blocks", r.matches.size()},
                           {"max_tokens", r.max_tokens},
                           {"tokens_per_fill", r.tokens_per_fill},
                           {"fill_interval", interval_text(r.fill_interval)},
                           {"per_source", r.per_source ? "PRINCIPAL" : "WORKLOAD"}});
  }
  out["rate_limits"] = rate_limits;
  const auto& cert = snapshot.tls.certificate;
  out["certificate"] = {{"spiffe_id", cert.spiffe_id},
                        {"serial", cert.serial_hex},
                        {"not_after", utc_iso8601(cert.not_after)}};
  const auto& l = config.limits;
  out["limits"] = {{"max_request_line", l.max_request_line},
                   {"max_head_size", l.max_head_size},
                   {"max_header_count", l.max_header_count},
                   {"header_read_timeout", format_duration(l.header_read_timeout)},
                   {"idle_timeout", format_duration(l.idle_timeout)},
                   {"connect_timeout", format_duration(l.connect_timeout)},
                   {"stream_idle_timeout", format_duration(l.stream_idle_timeout)},
                   {"tunnel_idle_timeout", format_duration(l.tunnel_idle_timeout)},
                   {"drain_timeout", format_duration(l.drain_timeout)}};
  out["workers"] = server.workers().size();
  return out.dump(2) + "\n";
}

std::string render_prometheus(const ProxyServer& server) {
  const auto& workers = server.workers();
  std::string out;
  auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto sum = [&](auto getter) {
    std::int64_t total = 0;
    for (const auto& w : workers) total += static_cast<std::int64_t>(getter(w->stats()));
    return total;
  };
  struct ListenerMetric {
    std::string_view name, type, help;
    std::int64_t (*get)(const ListenerStats&);
  };
  static constexpr ListenerMetric kListenerMetrics[] = {
      {"strait_downstream_connections_total", "counter", "Downstream connections accepted.",
       [](const ListenerStats& s) {
         return static_cast<std::int64_t>(s.connections_total.value());
       }},
      {"strait_downstream_connections_active", "gauge", "Downstream connections open now.",
       [](const ListenerStats& s) { return s.connections_active.value(); }},
      {"strait_downstream_requests_total", "counter", "HTTP requests received.",
       [](const ListenerStats& s) { return static_cast<std::int64_t>(s.requests_total.value()); }},
      {"strait_downstream_parse_errors_total", "counter", "Requests refused as malformed.",
       [](const ListenerStats& s) { return static_cast<std::int64_t>(s.parse_errors.value()); }},
      {"strait_tls_handshake_failures_total", "counter", "Inbound TLS handshakes refused.",
       [](const ListenerStats& s) {
         return static_cast<std::int64_t>(s.tls_handshake_failures.value());
       }},
      {"strait_plaintext_connections_total", "counter",
       "Inbound connections that arrived in plaintext (PeerAuthentication PERMISSIVE or DISABLE "
       "lets them in; STRICT refuses their requests).",
       [](const ListenerStats& s) {
         return static_cast<std::int64_t>(s.plaintext_connections.value());
       }},
      {"strait_tunnels_total", "counter", "CONNECT, upgrade and TCP tunnels opened.",
       [](const ListenerStats& s) { return static_cast<std::int64_t>(s.tunnels_total.value()); }},
      {"strait_downstream_received_bytes_total", "counter", "Bytes received from downstream.",
       [](const ListenerStats& s) { return static_cast<std::int64_t>(s.bytes_received.value()); }},
      {"strait_downstream_sent_bytes_total", "counter", "Bytes sent to downstream.",
       [](const ListenerStats& s) { return static_cast<std::int64_t>(s.bytes_sent.value()); }},
  };
  for (const auto& metric : kListenerMetrics) {
    family(metric.name, metric.type, metric.help);
    for (std::size_t k = 0; k < static_cast<std::size_t>(ListenerKind::kCount); ++k) {
      const auto value = sum([&](WorkerStats& s) { return metric.get(s.listeners[k]); });
      fmt::format_to(std::back_inserter(out), "{}{{listener=\"{}\"}} {}\n", metric.name,
                     name_of(static_cast<ListenerKind>(k)), value);
    }
  }
  family("strait_local_replies_total", "counter", "Responses the proxy made itself, by reason.");
  for (std::size_t r = 0; r < static_cast<std::size_t>(LocalReason::kCount); ++r) {
    fmt::format_to(std::back_inserter(out), "strait_local_replies_total{{reason=\"{}\"}} {}\n",
                   name_of(static_cast<LocalReason>(r)),
                   sum([&](WorkerStats& s) { return s.local_replies[r].value(); }));
  }
  struct UpstreamMetric {
    std::string_view name, help;
    const Counter WorkerStats::*counter;
  };
  static constexpr UpstreamMetric kUpstreamMetrics[] = {
      {"strait_upstream_connections_total", "Upstream connections opened.",
       &WorkerStats::upstream_connections_total},
      {"strait_upstream_connect_failures_total", "Upstream connects or handshakes that failed.",
       &WorkerStats::upstream_connect_failures},
      {"strait_upstream_identity_mismatches_total", "Upstream servers refused for their SPIFFE ID.",
       &WorkerStats::upstream_identity_mismatches},
      {"strait_upstream_requests_total", "Requests sent upstream.",
       &WorkerStats::upstream_requests_total},
      {"strait_upstream_connections_reused_total", "Requests sent on a pooled connection.",
       &WorkerStats::upstream_connections_reused},
      {"strait_upstream_retries_total", "Connect or stale-connection retries.",
       &WorkerStats::upstream_retries},
      {"strait_fault_delays_total", "Requests delayed by a route's fault injection.",
       &WorkerStats::fault_delays},
      {"strait_request_retries_total", "Tries after the first, by a route's retry policy.",
       &WorkerStats::request_retries},
      {"strait_retry_budget_exhausted_total", "Retries refused by the destination's retry budget.",
       &WorkerStats::retry_budget_exhausted},
      {"strait_retry_overflows_total",
       "Retries refused by the destination's connectionPool.http.maxRetries.",
       &WorkerStats::retry_overflows},
      {"strait_route_timeouts_total", "Requests cut off by a route's timeout.",
       &WorkerStats::route_timeouts},
      {"strait_per_try_timeouts_total", "Tries cut off by a route's perTryTimeout.",
       &WorkerStats::per_try_timeouts},
      {"strait_mirror_requests_total", "Copies of requests sent to a route's mirrors.",
       &WorkerStats::mirror_requests},
      {"strait_mirror_failures_total", "Mirrored copies that could not be sent or got no answer.",
       &WorkerStats::mirror_failures},
      {"strait_mirror_skipped_total",
       "Requests not mirrored because their body was not held whole.",
       &WorkerStats::mirror_skipped},
      {"strait_outlier_ejections_total", "Endpoints ejected by outlier detection.",
       &WorkerStats::outlier_ejections},
      {"strait_rbac_denied_total",
       "Inbound requests and connections denied by an AuthorizationPolicy.",
       &WorkerStats::rbac_denied},
      {"strait_rbac_dry_run_denied_total",
       "Inbound requests and connections a dry-run AuthorizationPolicy would have denied.",
       &WorkerStats::rbac_dry_run_denied},
      {"strait_jwt_refused_total", "Inbound requests refused for an invalid JWT.",
       &WorkerStats::jwt_refused},
      {"strait_rbac_audited_total",
       "Inbound requests and connections an AUDIT AuthorizationPolicy matched.",
       &WorkerStats::rbac_audited},
  };
  for (const auto& metric : kUpstreamMetrics) {
    family(metric.name, "counter", metric.help);
    fmt::format_to(std::back_inserter(out), "{} {}\n", metric.name,
                   sum([&](WorkerStats& s) { return (s.*metric.counter).value(); }));
  }
  family("strait_worker_requests_total", "counter", "HTTP requests received, per worker.");
  for (const auto& w : workers) {
    std::uint64_t total = 0;
    for (const auto& l : w->stats().listeners) total += l.requests_total.value();
    fmt::format_to(std::back_inserter(out), "strait_worker_requests_total{{worker=\"{}\"}} {}\n",
                   w->index(), total);
  }
  const Snapshot& snapshot = server.snapshot();
  family("strait_config_version", "gauge", "Version of the config snapshot in use.");
  fmt::format_to(std::back_inserter(out), "strait_config_version {}\n", snapshot.version);
  family("strait_certificate_expiry_timestamp_seconds", "gauge", "When the workload certificate expires.");
  fmt::format_to(std::back_inserter(out), "strait_certificate_expiry_timestamp_seconds {}\n",
                 std::chrono::duration_cast<std::chrono::seconds>(
                     snapshot.tls.certificate.not_after.time_since_epoch())
                     .count());
  family("strait_rate_limited_total", "counter",
         "Requests refused by a RateLimitPolicy's limit, by limit.");
  for (const auto& limit : snapshot.rate_limits) {
    fmt::format_to(std::back_inserter(out), "strait_rate_limited_total{{limit=\"{}\"}} {}\n",
                   escape_label_value(limit.rule->name), limit.state->limited());
  }
  family("strait_rate_limit_sources", "gauge",
         "Callers holding a bucket of their own, by perSource limit.");
  for (const auto& limit : snapshot.rate_limits) {
    if (limit.rule->per_source)
      fmt::format_to(std::back_inserter(out), "strait_rate_limit_sources{{limit=\"{}\"}} {}\n",
                     escape_label_value(limit.rule->name), limit.state->sources());
  }
  family("strait_rate_limit_source_overflows_total", "counter",
         "Requests of callers that found no free bucket and shared the overflow bucket, by limit.");
  for (const auto& limit : snapshot.rate_limits) {
    if (limit.rule->per_source)
      fmt::format_to(std::back_inserter(out),
                     "strait_rate_limit_source_overflows_total{{limit=\"{}\"}} {}\n",
                     escape_label_value(limit.rule->name), limit.state->source_overflows());
  }
  family("strait_config_age_seconds", "gauge",
         "Seconds since the config snapshot in use was built.");
  fmt::format_to(
      std::back_inserter(out), "strait_config_age_seconds {}\n",
      std::chrono::duration<double>(std::chrono::system_clock::now() - snapshot.built_at).count());
  family("strait_worker_connections_active", "gauge",
         "Downstream connections open now, per worker.");
  for (const auto& w : workers) {
    fmt::format_to(std::back_inserter(out),
                   "strait_worker_connections_active{{worker=\"{}\"}} {}\n", w->index(),
                   w->active_connections());
  }
  family("strait_build_info", "gauge", "The proxy's version.");
  fmt::format_to(std::back_inserter(out), "strait_build_info{{version=\"{}\"}} 1\n", STRAIT_VERSION);
  std::vector<const IstioMetrics*> istio;
  istio.reserve(workers.size());
  for (const auto& w : workers) istio.push_back(&std::as_const(*w).istio_metrics());
  render_istio_metrics(istio, out);
  if (const auto* spans = server.span_exporter()) spans->render_metrics(out);
  if (const auto* access_log = server.access_log()) access_log->render_metrics(out);
  return out;
}

}  // namespace strait::proxy
