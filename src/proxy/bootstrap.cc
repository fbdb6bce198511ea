#include "proxy/bootstrap.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/duration.h"
#include "common/file.h"
#include "tls/spiffe_id.h"

namespace strait::proxy {
namespace {

// A failed conversion carries the path of the offending field.
struct FieldError {
  std::string path;
  std::string reason;
};
template <typename T>
using Field = std::expected<T, FieldError>;

Field<std::string> as_string(const YAML::Node& node, const std::string& path) {
  if (!node.IsScalar()) return std::unexpected(FieldError{path, "must be a string"});
  return node.Scalar();
}

Field<std::uint64_t> as_uint(const YAML::Node& node, const std::string& path, std::uint64_t max) {
  if (!node.IsScalar()) return std::unexpected(FieldError{path, "must be a number"});
  const std::string& s = node.Scalar();
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size() || value > max)
    return std::unexpected(
        FieldError{path, "must be a whole number from 0 to " + std::to_string(max) + ", got '" + s + "'"});
  return value;
}

Field<std::uint16_t> as_port(const YAML::Node& node, const std::string& path) {
  auto v = as_uint(node, path, 65535);
  if (!v) return std::unexpected(v.error());
  if (*v == 0) return std::unexpected(FieldError{path, "port must be from 1 to 65535"});
  return static_cast<std::uint16_t>(*v);
}

Field<bool> as_bool(const YAML::Node& node, const std::string& path) {
  if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false"))
    return node.Scalar() == "true";
  return std::unexpected(FieldError{path, "must be true or false"});
}

Field<Duration> as_duration(const YAML::Node& node, const std::string& path) {
  auto s = as_string(node, path);
  if (!s) return std::unexpected(s.error());
  auto d = parse_duration(*s);
  if (!d) return std::unexpected(FieldError{path, d.error()});
  return *d;
}

Field<std::map<std::string, std::string>> as_string_map(const YAML::Node& node,
                                                        const std::string& path) {
  std::map<std::string, std::string> out;
  if (!node.IsMap()) return std::unexpected(FieldError{path, "must be a map of strings"});
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    auto value = as_string(kv.second, path + "." + key);
    if (!value) return std::unexpected(value.error());
    out.emplace(key, *value);
  }
  return out;
}

// Rejects keys the schema does not know: a typo must not be silently ignored.
std::expected<void, FieldError> only_known(const YAML::Node& node, const std::string& path,
                                           std::initializer_list<std::string_view> known) {
  if (!node.IsMap()) return std::unexpected(FieldError{path.empty() ? "(top)" : path, "must be a map"});
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (std::ranges::find(known, key) == known.end()) {
      return std::unexpected(
          FieldError{path.empty() ? key : path + "." + key, "unknown field"});
    }
  }
  return {};
}

std::string join_path(const std::string& base, std::string_view key) {
  return base.empty() ? std::string(key) : base + "." + std::string(key);
}

std::string index_path(const std::string& base, std::size_t i) {
  return base + "[" + std::to_string(i) + "]";
}

#define STRAIT_TRY(var, expr)                                   \
  auto var = (expr);                                            \
  if (!var) return std::unexpected(std::move(var).error())

#define STRAIT_CHECK(expr)                                      \
  if (auto _checked = (expr); !_checked) return std::unexpected(std::move(_checked).error())

Field<HostPort> as_host_port(const YAML::Node& node, const std::string& path) {
  STRAIT_TRY(s, as_string(node, path));
  auto hp = parse_host_port(*s);
  if (!hp) return std::unexpected(FieldError{path, hp.error()});
  return *hp;
}

std::expected<void, FieldError> read_workload(const YAML::Node& n, WorkloadIdentity& w) {
  const std::string p = "workload";
  STRAIT_CHECK(only_known(n, p, {"name", "namespace", "serviceAccount", "trustDomain", "labels"}));
  if (n["name"]) { STRAIT_TRY(v, as_string(n["name"], p + ".name")); w.name = *v; }
  if (n["namespace"]) { STRAIT_TRY(v, as_string(n["namespace"], p + ".namespace")); w.ns = *v; }
  if (n["serviceAccount"]) {
    STRAIT_TRY(v, as_string(n["serviceAccount"], p + ".serviceAccount"));
    w.service_account = *v;
  }
  if (n["trustDomain"]) {
    STRAIT_TRY(v, as_string(n["trustDomain"], p + ".trustDomain"));
    w.trust_domain = *v;
  }
  if (n["labels"]) { STRAIT_TRY(v, as_string_map(n["labels"], p + ".labels")); w.labels = *v; }
  return {};
}

std::expected<void, FieldError> read_listeners(const YAML::Node& n, ProxyConfig& c) {
  const std::string p = "listeners";
  STRAIT_CHECK(only_known(n, p, {"outbound", "inbound", "admin"}));
  if (n["outbound"]) { STRAIT_TRY(v, as_host_port(n["outbound"], p + ".outbound")); c.outbound_addr = *v; }
  if (n["inbound"]) { STRAIT_TRY(v, as_host_port(n["inbound"], p + ".inbound")); c.inbound_addr = *v; }
  if (n["admin"]) { STRAIT_TRY(v, as_host_port(n["admin"], p + ".admin")); c.admin_addr = *v; }
  return {};
}

Field<Protocol> as_protocol(const YAML::Node& node, const std::string& path) {
  STRAIT_TRY(s, as_string(node, path));
  auto proto = parse_protocol(*s);
  if (!proto) return std::unexpected(FieldError{path, proto.error()});
  return *proto;
}

std::expected<void, FieldError> read_inbound(const YAML::Node& n, ProxyConfig& c) {
  if (!n.IsSequence()) return std::unexpected(FieldError{"inbound", "must be a list"});
  for (std::size_t i = 0; i < n.size(); ++i) {
    const std::string p = index_path("inbound", i);
    const YAML::Node& item = n[i];
    STRAIT_CHECK(only_known(item, p, {"name", "port", "protocol", "targetPort"}));
    InboundService s;
    if (!item["name"]) return std::unexpected(FieldError{p + ".name", "is required"});
    if (!item["port"]) return std::unexpected(FieldError{p + ".port", "is required"});
    STRAIT_TRY(name, as_string(item["name"], p + ".name"));
    STRAIT_TRY(port, as_port(item["port"], p + ".port"));
    s.name = *name;
    s.port = *port;
    if (item["protocol"]) { STRAIT_TRY(v, as_protocol(item["protocol"], p + ".protocol")); s.protocol = *v; }
    if (item["targetPort"]) { STRAIT_TRY(v, as_port(item["targetPort"], p + ".targetPort")); s.target_port = *v; }
    c.inbound_services.push_back(std::move(s));
  }
  return {};
}

std::expected<void, FieldError> read_upstreams(const YAML::Node& n, ProxyConfig& c) {
  if (!n.IsSequence()) return std::unexpected(FieldError{"upstreams", "must be a list"});
  for (std::size_t i = 0; i < n.size(); ++i) {
    const std::string p = index_path("upstreams", i);
    const YAML::Node& item = n[i];
    STRAIT_CHECK(only_known(item, p, {"listen", "service"}));
    if (!item["listen"] || !item["service"])
      return std::unexpected(FieldError{p, "needs listen and service"});
    STRAIT_TRY(listen, as_string(item["listen"], p + ".listen"));
    STRAIT_TRY(service, as_string(item["service"], p + ".service"));
    auto binding = parse_upstream_flag(*listen + "=" + *service);
    if (!binding) return std::unexpected(FieldError{p, binding.error()});
    c.upstreams.push_back(std::move(*binding));
  }
  return {};
}

std::expected<void, FieldError> read_services(const YAML::Node& n, ProxyConfig& c) {
  if (!n.IsSequence()) return std::unexpected(FieldError{"services", "must be a list"});
  for (std::size_t i = 0; i < n.size(); ++i) {
    const std::string p = index_path("services", i);
    const YAML::Node& item = n[i];
    STRAIT_CHECK(only_known(item, p, {"name", "namespace", "ports", "endpoints", "subjectAltNames"}));
    Service s;
    if (!item["name"]) return std::unexpected(FieldError{p + ".name", "is required"});
    STRAIT_TRY(name, as_string(item["name"], p + ".name"));
    s.name = *name;
    if (item["namespace"]) { STRAIT_TRY(v, as_string(item["namespace"], p + ".namespace")); s.ns = *v; }
    if (!item["ports"] || !item["ports"].IsSequence() || item["ports"].size() == 0)
      return std::unexpected(FieldError{p + ".ports", "is required: a list of {port, protocol}"});
    for (std::size_t k = 0; k < item["ports"].size(); ++k) {
      const std::string pp = index_path(p + ".ports", k);
      const YAML::Node& port_node = item["ports"][k];
      STRAIT_CHECK(only_known(port_node, pp, {"port", "protocol"}));
      ServicePort sp;
      if (!port_node["port"]) return std::unexpected(FieldError{pp + ".port", "is required"});
      STRAIT_TRY(port, as_port(port_node["port"], pp + ".port"));
      sp.port = *port;
      if (port_node["protocol"]) {
        STRAIT_TRY(v, as_protocol(port_node["protocol"], pp + ".protocol"));
        sp.protocol = *v;
      }
      s.ports.push_back(sp);
    }
    if (item["endpoints"]) {
      if (!item["endpoints"].IsSequence())
        return std::unexpected(FieldError{p + ".endpoints", "must be a list"});
      for (std::size_t k = 0; k < item["endpoints"].size(); ++k) {
        const std::string ep = index_path(p + ".endpoints", k);
        const YAML::Node& e = item["endpoints"][k];
        STRAIT_CHECK(only_known(e, ep, {"address", "identity", "mtls", "labels", "workload"}));
        Endpoint endpoint;
        if (!e["address"]) return std::unexpected(FieldError{ep + ".address", "is required"});
        STRAIT_TRY(addr, as_host_port(e["address"], ep + ".address"));
        if (addr->port == 0) return std::unexpected(FieldError{ep + ".address", "port must be from 1 to 65535"});
        endpoint.address = *addr;
        if (e["mtls"]) { STRAIT_TRY(v, as_bool(e["mtls"], ep + ".mtls")); endpoint.mtls = *v; }
        if (e["identity"]) {
          STRAIT_TRY(v, as_string(e["identity"], ep + ".identity"));
          if (!tls::parse_spiffe_id(*v))
            return std::unexpected(FieldError{ep + ".identity", "is not a spiffe://<td>/ns/<ns>/sa/<sa> ID"});
          endpoint.identity = *v;
        }
        if (endpoint.mtls && endpoint.identity.empty())
          return std::unexpected(FieldError{ep + ".identity", "is required for an mTLS endpoint"});
        if (e["labels"]) { STRAIT_TRY(v, as_string_map(e["labels"], ep + ".labels")); endpoint.labels = *v; }
        if (e["workload"]) {
          STRAIT_TRY(v, as_string(e["workload"], ep + ".workload"));
          endpoint.workload = *v;
        }
        s.endpoints.push_back(std::move(endpoint));
      }
    }
    if (item["subjectAltNames"]) {
      const YAML::Node& sans = item["subjectAltNames"];
      if (!sans.IsSequence()) return std::unexpected(FieldError{p + ".subjectAltNames", "must be a list"});
      for (std::size_t k = 0; k < sans.size(); ++k) {
        STRAIT_TRY(v, as_string(sans[k], index_path(p + ".subjectAltNames", k)));
        s.allowed_identities.push_back(*v);
      }
    }
    c.services.push_back(std::move(s));
  }
  return {};
}

std::expected<void, FieldError> read_tls(const YAML::Node& n, ProxyConfig& c, const std::string& base) {
  const std::string p = "tls";
  STRAIT_CHECK(only_known(n, p, {"certificateChain", "privateKey", "trustBundle"}));
  auto file = [&](std::string_view key, std::string& out) -> std::expected<void, FieldError> {
    const std::string path = join_path(p, key);
    if (!n[std::string(key)]) return std::unexpected(FieldError{path, "is required"});
    STRAIT_TRY(v, as_string(n[std::string(key)], path));
    std::filesystem::path f(*v);
    out = f.is_absolute() || base.empty() ? f.string() : (std::filesystem::path(base) / f).string();
    return {};
  };
  STRAIT_CHECK(file("certificateChain", c.tls.certificate_chain));
  STRAIT_CHECK(file("privateKey", c.tls.private_key));
  STRAIT_CHECK(file("trustBundle", c.tls.trust_bundle));
  return {};
}

Field<MtlsMode> as_mtls_mode(const YAML::Node& node, const std::string& path) {
  STRAIT_TRY(s, as_string(node, path));
  for (const MtlsMode mode : {MtlsMode::kStrict, MtlsMode::kPermissive, MtlsMode::kDisable}) {
    if (*s == name_of(mode)) return mode;
  }
  return std::unexpected(FieldError{path, "must be STRICT, PERMISSIVE or DISABLE"});
}

// peerAuthentication: {mode: STRICT, portLevelMtls: {19080: PERMISSIVE}}: the inbound modes a
// static sidecar applies, by application port.
std::expected<void, FieldError> read_peer_authentication(const YAML::Node& n, EffectiveMtls& out) {
  const std::string p = "peerAuthentication";
  STRAIT_CHECK(only_known(n, p, {"mode", "portLevelMtls"}));
  if (n["mode"]) {
    STRAIT_TRY(mode, as_mtls_mode(n["mode"], p + ".mode"));
    out.workload = {*mode, "bootstrap"};
  }
  if (const YAML::Node& ports = n["portLevelMtls"]; ports) {
    if (!ports.IsMap())
      return std::unexpected(FieldError{p + ".portLevelMtls", "must be a map of port to mode"});
    for (const auto& entry : ports) {
      const std::string pp = p + ".portLevelMtls." + entry.first.Scalar();
      STRAIT_TRY(port, as_port(entry.first, pp));
      STRAIT_TRY(mode, as_mtls_mode(entry.second, pp));
      out.ports[*port] = {*mode, "bootstrap/portLevelMtls/" + std::to_string(*port)};
    }
  }
  return {};
}

// tracing: {samplingPercentage: 100, reportSpans: true, otlp: URL, zipkin: URL}: a static
// sidecar's tracing; with neither receiver, the context is propagated and no span sent.
std::expected<void, FieldError> read_tracing(const YAML::Node& n, TracingConfig& out) {
  const std::string p = "tracing";
  STRAIT_CHECK(only_known(n, p, {"samplingPercentage", "reportSpans", "otlp", "zipkin"}));
  out.decided_by = {"bootstrap"};
  if (n["samplingPercentage"]) {
    double percent = -1;
    if (!YAML::convert<double>::decode(n["samplingPercentage"], percent) || percent < 0 ||
        percent > 100)
      return std::unexpected(
          FieldError{p + ".samplingPercentage", "must be a number from 0 to 100"});
    out.sampling_percent = percent;
  }
  if (n["reportSpans"]) {
    STRAIT_TRY(v, as_bool(n["reportSpans"], p + ".reportSpans"));
    out.report_spans = *v;
  }
  for (const char* provider : {"otlp", "zipkin"}) {
    if (!n[provider]) continue;
    STRAIT_TRY(url, as_string(n[provider], p + "." + provider));
    if (!url->starts_with("http://"))
      return std::unexpected(FieldError{p + "." + provider, "must be an http:// URL"});
    const bool zipkin = std::string_view(provider) == "zipkin";
    out.targets.push_back({zipkin ? "zipkin" : "otel", zipkin, *url, {}});
  }
  return {};
}

// accessLog: {enabled: true, path: FILE}: a static sidecar's access log (path: else standard
// output, or --access-log-file).
std::expected<void, FieldError> read_access_log(const YAML::Node& n, AccessLogConfig& out) {
  const std::string p = "accessLog";
  STRAIT_CHECK(only_known(n, p, {"enabled", "path"}));
  out.decided_by = {"bootstrap"};
  if (n["enabled"]) {
    STRAIT_TRY(v, as_bool(n["enabled"], p + ".enabled"));
    out.enabled = *v;
  }
  if (n["path"]) {
    STRAIT_TRY(path, as_string(n["path"], p + ".path"));
    out.path = *path;
  }
  return {};
}

std::expected<void, FieldError> read_limits(const YAML::Node& n, Limits& l) {
  const std::string p = "limits";
  STRAIT_CHECK(only_known(n, p, {"maxRequestLine", "maxHeadSize", "maxHeaderCount",
                                 "headerReadTimeout", "idleTimeout", "connectTimeout",
                                 "streamIdleTimeout", "drainTimeout", "tunnelIdleTimeout",
                                 "maxIdleUpstreamPerEndpoint"}));
  auto size = [&](std::string_view key, std::size_t& out, std::uint64_t max) -> std::expected<void, FieldError> {
    if (!n[std::string(key)]) return {};
    STRAIT_TRY(v, as_uint(n[std::string(key)], join_path(p, key), max));
    if (*v == 0) return std::unexpected(FieldError{join_path(p, key), "must be positive"});
    out = *v;
    return {};
  };
  auto duration = [&](std::string_view key, Duration& out) -> std::expected<void, FieldError> {
    if (!n[std::string(key)]) return {};
    STRAIT_TRY(v, as_duration(n[std::string(key)], join_path(p, key)));
    if (v->count() <= 0) return std::unexpected(FieldError{join_path(p, key), "must be at least 1ms"});
    out = *v;
    return {};
  };
  STRAIT_CHECK(size("maxRequestLine", l.max_request_line, 1 << 20));
  STRAIT_CHECK(size("maxHeadSize", l.max_head_size, 1 << 20));
  STRAIT_CHECK(size("maxHeaderCount", l.max_header_count, 10'000));
  STRAIT_CHECK(duration("headerReadTimeout", l.header_read_timeout));
  STRAIT_CHECK(duration("idleTimeout", l.idle_timeout));
  STRAIT_CHECK(duration("connectTimeout", l.connect_timeout));
  STRAIT_CHECK(duration("streamIdleTimeout", l.stream_idle_timeout));
  STRAIT_CHECK(duration("drainTimeout", l.drain_timeout));
  STRAIT_CHECK(duration("tunnelIdleTimeout", l.tunnel_idle_timeout));
  STRAIT_CHECK(size("maxIdleUpstreamPerEndpoint", l.max_idle_upstream_per_endpoint, 10'000));
  return {};
}

}  // namespace

std::expected<HostPort, std::string> parse_host_port(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::unexpected("'" + std::string(text) + "' is not [IPv6]:PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return std::unexpected("'" + std::string(text) + "' is not HOST:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    // "::1:80" could be [::1]:80 or the address ::1:80: an IPv6 host must be bracketed.
    if (host.find(':') != std::string_view::npos)
      return std::unexpected("'" + std::string(text) + "' is not HOST:PORT (write IPv6 as [ADDR]:PORT)");
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc{} || end != port.data() + port.size() ||
      value > 65535)
    return std::unexpected("'" + std::string(text) + "' is not HOST:PORT with a port from 0 to 65535");
  return HostPort{std::string(host), static_cast<std::uint16_t>(value)};
}

std::expected<Protocol, std::string> parse_protocol(std::string_view text) {
  std::string lower(text);
  std::ranges::transform(lower, lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (lower == "http" || lower == "http1" || lower == "http/1.1") return Protocol::kHttp;
  if (lower == "http2" || lower == "h2c") return Protocol::kHttp2;
  if (lower == "grpc") return Protocol::kGrpc;
  if (lower == "tcp") return Protocol::kTcp;
  if (lower == "tls") return Protocol::kTls;
  return std::unexpected("unknown protocol '" + std::string(text) +
                         "' (use http, http2, grpc, tcp or tls)");
}

std::expected<InboundService, std::string> parse_service_flag(std::string_view text) {
  InboundService s;
  const auto first = text.find(':');
  if (first == std::string_view::npos || first == 0)
    return std::unexpected("--service '" + std::string(text) +
                           "' is not NAME:PORT[:PROTOCOL[:APP_PORT]]");
  s.name = text.substr(0, first);
  std::string_view rest = text.substr(first + 1);
  std::string_view port = rest;
  std::string_view app_port;
  if (const auto second = rest.find(':'); second != std::string_view::npos) {
    port = rest.substr(0, second);
    std::string_view protocol = rest.substr(second + 1);
    if (const auto third = protocol.find(':'); third != std::string_view::npos) {
      app_port = protocol.substr(third + 1);
      protocol = protocol.substr(0, third);
    }
    auto proto = parse_protocol(protocol);
    if (!proto) return std::unexpected("--service '" + std::string(text) + "': " + proto.error());
    s.protocol = *proto;
  }
  const auto port_number = [](std::string_view digits) -> std::uint16_t {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end != digits.data() + digits.size() || value == 0 || value > 65535)
      return 0;
    return static_cast<std::uint16_t>(value);
  };
  s.port = port_number(port);
  if (s.port == 0)
    return std::unexpected("--service '" + std::string(text) + "': port must be from 1 to 65535");
  if (!app_port.empty() || rest.ends_with(':')) {
    s.target_port = port_number(app_port);
    if (s.target_port == 0)
      return std::unexpected("--service '" + std::string(text) +
                             "': the application's port must be from 1 to 65535");
  }
  return s;
}

std::expected<UpstreamBinding, std::string> parse_upstream_flag(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos)
    return std::unexpected("--upstream '" + std::string(text) + "' is not LOCAL_ADDR=SERVICE:PORT");
  auto listen = parse_host_port(text.substr(0, eq));
  if (!listen) return std::unexpected("--upstream local address: " + listen.error());
  auto target = parse_host_port(text.substr(eq + 1));
  if (!target || target->port == 0)
    return std::unexpected("--upstream '" + std::string(text) + "': target is not SERVICE:PORT");
  return UpstreamBinding{*listen, target->host, target->port};
}

std::expected<std::map<std::string, std::string>, std::string> parse_labels(std::string_view text) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view pair = text.substr(0, comma);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return std::unexpected("label '" + std::string(pair) + "' is not KEY=VALUE");
    out.emplace(std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1)));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::expected<void, std::string> finalize_config(ProxyConfig& config) {
  if (config.workload.name.empty()) return std::unexpected("workload name is required (--workload)");
  if (!tls::parse_spiffe_id(config.workload.spiffe_id()))
    return std::unexpected("namespace, service account and trust domain do not form a valid SPIFFE ID: " +
                           config.workload.spiffe_id());
  std::set<std::string> hosts;
  for (auto& service : config.services) {
    if (service.ns.empty()) service.ns = config.workload.ns;
    if (service.fqdn.empty()) service.fqdn = service.name + "." + service.ns + ".svc.cluster.local";
    if (!hosts.insert(service.fqdn).second)
      return std::unexpected("service " + service.fqdn + " is listed twice");
    std::set<std::string> ids(service.allowed_identities.begin(), service.allowed_identities.end());
    for (const auto& e : service.endpoints) {
      if (!e.identity.empty()) ids.insert(e.identity);
    }
    service.allowed_identities.assign(ids.begin(), ids.end());
  }
  std::set<std::uint16_t> ports;
  for (auto& s : config.inbound_services) {
    if (!ports.insert(s.port).second)
      return std::unexpected("two inbound services use port " + std::to_string(s.port));
    if (s.target_port == 0)
      return std::unexpected("inbound service " + s.name + ":" + std::to_string(s.port) +
                             " has no application port (--app-port or targetPort)");
  }
  if (!config.control_plane && (config.tls.certificate_chain.empty() || config.tls.private_key.empty() ||
                                 config.tls.trust_bundle.empty()))
    return std::unexpected("TLS files are required (tls.certificateChain, privateKey, trustBundle)");
  if (config.concurrency < 0 || config.concurrency > 256)
    return std::unexpected("concurrency must be from 1 to 256");
  return {};
}

std::expected<ProxyConfig, std::string> parse_bootstrap(std::string_view yaml,
                                                        const std::string& base_dir) {
  YAML::Node root;
  try {  // yaml-cpp reports syntax errors by exception; this runs at start-up only.
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return std::unexpected("invalid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  ProxyConfig config;
  auto fail = [](const FieldError& e) { return std::unexpected(e.path + ": " + e.reason); };
  if (auto ok = only_known(root, "",
                           {"workload", "listeners", "inbound", "upstreams", "services", "tls",
                            "limits", "concurrency", "peerAuthentication", "tracing", "accessLog"});
      !ok)
    return fail(ok.error());
  try {
    if (root["workload"]) { if (auto ok = read_workload(root["workload"], config.workload); !ok) return fail(ok.error()); }
    if (root["listeners"]) { if (auto ok = read_listeners(root["listeners"], config); !ok) return fail(ok.error()); }
    if (root["inbound"]) { if (auto ok = read_inbound(root["inbound"], config); !ok) return fail(ok.error()); }
    if (root["upstreams"]) { if (auto ok = read_upstreams(root["upstreams"], config); !ok) return fail(ok.error()); }
    if (root["services"]) { if (auto ok = read_services(root["services"], config); !ok) return fail(ok.error()); }
    if (root["tls"]) { if (auto ok = read_tls(root["tls"], config, base_dir); !ok) return fail(ok.error()); }
    if (root["limits"]) { if (auto ok = read_limits(root["limits"], config.limits); !ok) return fail(ok.error()); }
    if (root["peerAuthentication"]) {
      if (auto ok = read_peer_authentication(root["peerAuthentication"], config.inbound_mtls); !ok)
        return fail(ok.error());
    }
    if (root["tracing"]) {
      if (auto ok = read_tracing(root["tracing"], config.tracing); !ok) return fail(ok.error());
    }
    if (root["accessLog"]) {
      if (auto ok = read_access_log(root["accessLog"], config.access_log); !ok)
        return fail(ok.error());
    }
    if (root["concurrency"]) {
      auto v = as_uint(root["concurrency"], "concurrency", 256);
      if (!v) return fail(v.error());
      config.concurrency = static_cast<int>(*v);
    }
  } catch (const YAML::Exception& e) {
    return std::unexpected("invalid bootstrap at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return config;
}

std::expected<ProxyConfig, std::string> load_bootstrap_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return std::unexpected(path + ": cannot read the file");
  auto config = parse_bootstrap(*text, std::filesystem::path(path).parent_path().string());
  if (!config) return std::unexpected(path + ": " + config.error());
  return config;
}

}  // namespace strait::proxy
