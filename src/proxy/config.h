// The proxy's configuration: what it is (workload), where it listens, what it serves and which
// services it can reach. Built once from the bootstrap file and flags (later from the control
// plane), then only ever read: a change builds a whole new ProxyConfig.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/mtls_mode.h"
#include "proxy/authorization.h"
#include "proxy/http_route.h"
#include "proxy/l4_route.h"
#include "proxy/rate_limiter.h"
#include "proxy/request_authentication.h"
#include "proxy/traffic_settings.h"

namespace strait::proxy {

using Duration = std::chrono::milliseconds;

// How an application speaks on a port, with Istio's port protocol names.
enum class Protocol : std::uint8_t { kHttp, kHttp2, kGrpc, kTcp, kTls };

[[nodiscard]] std::string_view name_of(Protocol protocol);
[[nodiscard]] bool is_http(Protocol protocol);  // HTTP-aware handling (http, http2, grpc)

struct HostPort {
  std::string host;  // IP literal for listen and endpoint addresses
  std::uint16_t port = 0;
  [[nodiscard]] std::string to_string() const;
};

struct WorkloadIdentity {
  std::string name;
  std::string ns = "default";
  std::string service_account = "default";
  std::string trust_domain = "cluster.local";
  std::map<std::string, std::string> labels;
  [[nodiscard]] std::string spiffe_id() const;
};

// A service this workload serves: traffic for `port` arriving on the inbound listener goes to the
// application on 127.0.0.1:target_port.
struct InboundService {
  std::string name;
  std::uint16_t port = 0;
  Protocol protocol = Protocol::kHttp;
  std::uint16_t target_port = 0;
};

// `--upstream 127.0.0.1:17001=ratings:9080`: a local port bound to one mesh service.
struct UpstreamBinding {
  HostPort listen;
  std::string service;  // host as written (short name or FQDN)
  std::uint16_t port = 0;
};

struct Endpoint {
  HostPort address;              // a sidecar's inbound address, or the workload itself without mTLS
  bool mtls = true;              // false: plaintext to a workload that has no sidecar
  std::string identity;          // SPIFFE ID of the sidecar expected there
  std::string workload;          // the workload's name ("" : unknown), for telemetry
  std::map<std::string, std::string> labels;
  // Service ports on which the workload's PeerAuthentication is DISABLE: its sidecar is called in
  // plaintext there (auto-mTLS), and tells the port from the request's authority.
  std::vector<std::uint16_t> plaintext_ports;
  // Whether a call to `port` of the service goes over the mesh's mTLS.
  [[nodiscard]] bool mtls_on(std::uint16_t port) const {
    return mtls && std::ranges::find(plaintext_ports, port) == plaintext_ports.end();
  }
};

struct ServicePort {
  std::uint16_t port = 0;
  Protocol protocol = Protocol::kHttp;
};

struct Service {
  std::string name;
  std::string ns;
  std::string fqdn;  // <name>.<ns>.svc.cluster.local
  std::vector<ServicePort> ports;
  std::vector<Endpoint> endpoints;
  // Identities allowed to serve this service: the endpoints' identities plus any listed
  // (Istio's subjectAltNames). The outbound side refuses a server with any other identity.
  std::vector<std::string> allowed_identities;
  // From the control plane: the routes of the VirtualService for this host (empty: every request
  // goes to every endpoint) and the DestinationRule's subsets.
  std::vector<HttpRoute> http_routes;
  std::vector<L4Route> tls_routes;  // the same VirtualService's tls[] and tcp[] routes
  std::vector<L4Route> tcp_routes;
  std::vector<Subset> subsets;
  // The DestinationRule's trafficPolicy with its portLevelSettings, for the endpoints of no subset
  // (each subset has its own); Istio's defaults without a rule.
  TrafficPolicySet traffic;
};

struct TlsFiles {
  std::string certificate_chain;
  std::string private_key;
  std::string trust_bundle;
};

struct Limits {
  std::size_t max_request_line = 8 * 1024;
  std::size_t max_head_size = 60 * 1024;
  std::size_t max_header_count = 100;
  Duration header_read_timeout{10'000};   // from a request's first byte to its complete head: 408
  Duration idle_timeout{300'000};         // a downstream connection with no request in flight
  Duration connect_timeout{10'000};       // upstream TCP connect plus TLS handshake
  Duration stream_idle_timeout{300'000};  // no byte either way while a request is in flight
  Duration drain_timeout{5'000};          // SIGTERM: how long in-flight requests may finish
  Duration tunnel_idle_timeout{3'600'000}; // CONNECT, upgrades and TCP: no byte either way
  std::size_t max_idle_upstream_per_endpoint = 64;
};

// Where spans go: each batch is sent to every target (docs/observability.md).
struct TraceExportTarget {
  std::string provider;  // strait, otel, zipkin
  bool zipkin = false;   // Zipkin v2 JSON; else OTLP/HTTP JSON
  std::string url;       // http://HOST:PORT/PATH
  std::string bearer_token;
  bool operator==(const TraceExportTarget&) const = default;
};

// Tracing as the Telemetry resources (or the bootstrap) set it for this workload.
struct TracingConfig {
  double sampling_percent = 1.0;  // of new traces; an incoming decision is honoured
  bool report_spans = true;       // false: context still propagated, no span sent
  std::vector<TraceExportTarget> targets;
  std::vector<std::string> missing_providers;  // named but not configured on straitd
  std::vector<std::string> decided_by;         // Telemetry resources, "namespace/name"
};

// Access logging: whether this workload writes a JSON line per request and per TCP connection (the
// Telemetry resources' accessLogging, or the bootstrap), and where (the proxy's --access-log-file;
// "": standard output).
struct AccessLogConfig {
  bool enabled = false;
  std::string path;
  std::vector<std::string> decided_by;  // Telemetry resources, "namespace/name"
};

struct ProxyConfig {
  WorkloadIdentity workload;
  std::string config_version;  // the control plane's version of the view in use ("" : bootstrap)
  HostPort outbound_addr{"127.0.0.1", 15001};
  HostPort inbound_addr{"127.0.0.1", 15006};
  HostPort admin_addr{"127.0.0.1", 15000};
  std::vector<InboundService> inbound_services;
  std::vector<UpstreamBinding> upstreams;
  std::vector<Service> services;
  // The RateLimitPolicies that apply to this workload, enforced on its inbound HTTP requests.
  std::vector<RateLimitRule> rate_limits;
  // The AuthorizationPolicies that apply to this workload, enforced on its inbound requests and
  // connections (authorization.h), in the order straitd sent them.
  std::vector<AuthzPolicy> authorization;
  // The RequestAuthentication rules that apply to this workload (request_authentication.h).
  std::vector<JwtRule> jwt_rules;
  // The PeerAuthentication modes of this workload's inbound ports (by application port). A static
  // bootstrap is STRICT unless it says otherwise; under straitd, Istio's resolution decides
  // (PERMISSIVE without any policy).
  EffectiveMtls inbound_mtls{.workload = {MtlsMode::kStrict, "bootstrap"}};
  TlsFiles tls;                // bootstrap mode
  bool control_plane = false;  // certificates and services come from straitd, not from files
  TracingConfig tracing;
  AccessLogConfig access_log;
  Limits limits;
  int concurrency = 0;  // 0: one worker per core
};

}  // namespace strait::proxy
