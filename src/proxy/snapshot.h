// An immutable view of everything a worker needs to route a request: the config, resolved
// addresses and the TLS contexts. The main thread builds a new Snapshot on every change and posts
// it to each worker, which swaps its pointer between two requests; nothing in a Snapshot is ever
// modified after publication, so workers read it without locks.
#pragma once

#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/config.h"
#include "proxy/route_index.h"
#include "proxy/workload_labels.h"
#include "tls/credentials.h"

namespace strait::proxy {

// A port of a service as a client sidecar calls it: the SNI it sends there.
struct PortRoute {
  std::uint16_t port = 0;
  std::string sni;
};

// A DestinationRule subset: the endpoints whose labels it selects (or every endpoint).
struct EndpointSubset {
  std::string name;                    // "" : every endpoint
  std::vector<std::uint32_t> members;  // indices into service->endpoints
  std::string round_robin_key;
  std::uint32_t index = 0;  // 0: every endpoint; i + 1: service->subsets[i]
  const TrafficPolicySet* traffic = nullptr;
};

struct ResolvedService;

// What Envoy calls a cluster: one port of a service, over one endpoint set, with the traffic
// settings resolved for it. Its connection-pool limits, outlier detection and retry budget count
// what goes to it alone, as Istio's per-subset and per-port clusters do.
struct ResolvedCluster {
  std::string name;  // Istio's cluster name: outbound|<port>|<subset>|<fqdn>
  const ResolvedService* service = nullptr;
  const EndpointSubset* set = nullptr;
  std::uint16_t port = 0;
  const TrafficSettings* settings = nullptr;
  // Some endpoint of the set has a sidecar that takes this port in plaintext (DISABLE): requests
  // carry the port in kStatedPortHeader (router.h).
  bool states_port = false;
  std::shared_ptr<CircuitState> circuit;  // what is in flight to it (every worker)
  // The consistent hash over the set's members (hashed lb only).
  std::shared_ptr<const HashTable> table;
  // For each endpoint of the service (parallel to service->endpoints; "" outside the set), the
  // key of the worker's pool of connections to it for each protocol, computed once per snapshot
  // so that choosing a pooled connection builds no string. Each cluster has its own pools, as in
  // Envoy: its connections count against its own limits and carry its own settings.
  std::vector<std::string> http1_keys;
  std::vector<std::string> tcp_keys;
  std::vector<std::string> h2_keys;
  [[nodiscard]] const std::vector<std::string>& keys_for(std::string_view alpn) const;
  [[nodiscard]] const LoadBalancer& lb() const { return settings->lb; }
  [[nodiscard]] const ConnectionPoolPolicy& pool() const { return settings->pool; }
};

// A route's destination with its service and subset looked up once per snapshot.
struct ResolvedTarget {
  const RouteTarget* target = nullptr;
  const ResolvedService* service = nullptr;  // null: the host is not a service of the mesh
  const EndpointSubset* subset = nullptr;    // null: every endpoint (or, if target->subset is set, undefined)
};

struct ResolvedRoute {
  const HttpRoute* route = nullptr;
  std::vector<ResolvedTarget> targets;
  std::uint64_t total_weight = 0;
};

struct ResolvedL4Route {
  const L4Route* route = nullptr;
  std::vector<ResolvedTarget> targets;
  std::uint64_t total_weight = 0;
};

struct ResolvedService {
  const Service* service = nullptr;
  std::vector<asio::ip::tcp::endpoint> addresses;  // parallel to service->endpoints
  std::vector<std::string> endpoint_names;         // "host:port", parallel to service->endpoints
  std::vector<PortRoute> routes;                   // one per service port
  std::vector<EndpointSubset> subsets;
  EndpointSubset all;  // every endpoint
  // One per endpoint set and service port: clusters[set.index * ports + port's index] (a service
  // without ports has one per set).
  std::vector<ResolvedCluster> clusters;
  std::vector<ResolvedRoute> http_routes;          // the VirtualService's, in order
  std::vector<ResolvedL4Route> tls_routes;
  std::vector<ResolvedL4Route> tcp_routes;
  std::shared_ptr<const RouteIndex> route_index;   // null: few routes, walked in order
  ServiceLabels labels;                            // for telemetry
  std::vector<WorkloadLabels> endpoint_labels;     // parallel to service->endpoints
  bool all_sidecars =
      false;  // every endpoint has a sidecar (they are told who calls: peer_metadata.h)
  [[nodiscard]] const PortRoute* route(std::uint16_t port) const;
  // The endpoints a request may go to: `subset`, or all of them when it is null.
  [[nodiscard]] const EndpointSubset& endpoint_set(const EndpointSubset* subset) const {
    return subset != nullptr ? *subset : all;
  }
  // The cluster of `port` over `subset` (null: every endpoint); a port the service does not have
  // gives its first port's.
  [[nodiscard]] const ResolvedCluster& cluster(const EndpointSubset* subset,
                                               std::uint16_t port) const;
};

struct Snapshot {
  std::uint64_t version = 0;
  std::shared_ptr<const ProxyConfig> config;
  tls::TlsContexts tls;
  std::unordered_map<std::string, ResolvedService> services_by_fqdn;
  std::unordered_map<std::uint16_t, const InboundService*> inbound_by_port;
  std::unordered_map<std::uint16_t, std::string> app_pool_keys;  // by application port
  std::vector<ActiveRateLimit> rate_limits;                      // parallel to config->rate_limits
  // Telemetry: this workload's labels, its peer metadata text (peer_metadata.h) and the labels of
  // the services it serves (parallel to config->inbound_services).
  WorkloadLabels self_labels;
  std::string self_spiffe_id;  // this workload's identity (the caller, in outbound access logs)
  std::string peer_metadata;
  std::vector<ServiceLabels> inbound_labels;
  // When the snapshot was built (system clock), for strait_config_age_seconds.
  std::chrono::system_clock::time_point built_at;

  // Resolves a host as an application writes it ("reviews", "reviews.prod",
  // "reviews.prod.svc.cluster.local"; any case, optional trailing dot), with short names taken in
  // the workload's namespace as Istio does. nullptr when the mesh has no such service.
  [[nodiscard]] const ResolvedService* find_service(std::string_view host) const;
  // The labels of the inbound service on `port` (null: none).
  [[nodiscard]] const ServiceLabels* inbound_service_labels(std::uint16_t port) const;
};

// Builds a snapshot; fails when an address is not an IP literal. `circuits` carries each cluster's
// in-flight counts over from the previous snapshot, `rate_limits` each limit's buckets (null: fresh
// ones, for tests and tools).
[[nodiscard]] std::expected<std::shared_ptr<const Snapshot>, std::string> build_snapshot(
    std::shared_ptr<const ProxyConfig> config, tls::TlsContexts tls, std::uint64_t version,
    CircuitRegistry* circuits = nullptr, RateLimitRegistry* rate_limits = nullptr);

// The key of the per-worker pool for connections to `address` with this SNI ("" without mTLS) and
// protocol, for `cluster` (by name; "" : the local application).
[[nodiscard]] std::string pool_key(const asio::ip::tcp::endpoint& address, std::string_view sni,
                                   std::string_view alpn, std::string_view cluster = {});

// The SNI a client sidecar sends for <port> of <fqdn>, and its inverse on the server side.
[[nodiscard]] std::string mesh_sni(std::uint16_t port, std::string_view fqdn);
[[nodiscard]] std::uint16_t port_from_mesh_sni(std::string_view sni);

}  // namespace strait::proxy
