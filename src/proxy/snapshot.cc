#include "proxy/snapshot.h"

#include <algorithm>
#include <asio/ip/address_v4.hpp>
#include <charconv>

#include "proxy/peer_metadata.h"

namespace strait::proxy {

const ResolvedService* Snapshot::find_service(std::string_view host) const {
  std::string name(host);
  if (!name.empty() && name.back() == '.') name.pop_back();
  std::ranges::transform(name, name.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto dots = std::ranges::count(name, '.');
  if (dots == 0) {
    name += "." + config->workload.ns + ".svc.cluster.local";
  } else if (dots == 1) {
    name += ".svc.cluster.local";
  } else if (name.ends_with(".svc")) {
    name += ".cluster.local";
  }
  auto it = services_by_fqdn.find(name);
  return it == services_by_fqdn.end() ? nullptr : &it->second;
}

namespace {

// The clusters of a service in place in the snapshot (they point at its endpoint sets). Sets with
// the same consistent-hash settings share one table.
void build_clusters(ResolvedService& resolved, CircuitRegistry* circuits) {
  const Service& service = *resolved.service;
  std::vector<const EndpointSubset*> sets{&resolved.all};
  for (const auto& subset : resolved.subsets) sets.push_back(&subset);
  std::vector<std::uint16_t> ports;
  for (const auto& port : service.ports) ports.push_back(port.port);
  if (ports.empty()) ports.push_back(0);
  struct BuiltTable {
    const EndpointSubset* set;
    LoadBalancer::Kind kind;
    std::uint64_t size;
    std::shared_ptr<const HashTable> table;
  };
  std::vector<BuiltTable> tables;
  resolved.clusters.reserve(sets.size() * ports.size());
  for (const auto* set : sets) {
    for (const std::uint16_t port : ports) {
      ResolvedCluster cluster;
      cluster.name = "outbound|" + std::to_string(port) + "|" + set->name + "|" + service.fqdn;
      cluster.service = &resolved;
      cluster.set = set;
      cluster.port = port;
      cluster.settings = &set->traffic->for_port(port);
      cluster.circuit = circuits != nullptr ? circuits->state_for(cluster.name)
                                            : std::make_shared<CircuitState>();
      const std::string sni = mesh_sni(port, service.fqdn);
      const std::size_t count = service.endpoints.size();
      cluster.http1_keys.resize(count);
      cluster.tcp_keys.resize(count);
      cluster.h2_keys.resize(count);
      for (const auto i : set->members) {
        const Endpoint& endpoint = service.endpoints[i];
        if (endpoint.mtls && !endpoint.mtls_on(port)) cluster.states_port = true;
        const std::string_view endpoint_sni =
            endpoint.mtls_on(port) ? std::string_view(sni) : std::string_view{};
        const auto& address = resolved.addresses[i];
        cluster.http1_keys[i] = pool_key(address, endpoint_sni, tls::kAlpnHttp11, cluster.name);
        cluster.tcp_keys[i] = pool_key(address, endpoint_sni, tls::kAlpnTcp, cluster.name);
        cluster.h2_keys[i] = pool_key(address, endpoint_sni, tls::kAlpnH2, cluster.name);
      }
      const LoadBalancer& lb = cluster.settings->lb;
      if (lb.hashed() && !set->members.empty()) {
        auto built = std::ranges::find_if(tables, [&](const BuiltTable& t) {
          return t.set == set && t.kind == lb.kind && t.size == lb.table_size;
        });
        if (built == tables.end()) {
          std::vector<std::string> ids;
          ids.reserve(set->members.size());
          for (const auto i : set->members) ids.push_back(service.endpoints[i].address.to_string());
          auto table = lb.kind == LoadBalancer::Kind::kMaglev
                           ? HashTable::maglev(ids, lb.table_size)
                           : HashTable::ring(ids, lb.table_size);
          tables.push_back({set, lb.kind, lb.table_size, std::move(table)});
          built = std::prev(tables.end());
        }
        cluster.table = built->table;
      }
      resolved.clusters.push_back(std::move(cluster));
    }
  }
}

}  // namespace

std::expected<std::shared_ptr<const Snapshot>, std::string> build_snapshot(
    std::shared_ptr<const ProxyConfig> config, tls::TlsContexts tls, std::uint64_t version,
    CircuitRegistry* circuits, RateLimitRegistry* rate_limits) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->version = version;
  snapshot->tls = std::move(tls);
  if (circuits != nullptr) circuits->forget_unused();
  if (rate_limits != nullptr) rate_limits->forget_unused();
  for (const auto& rule : config->rate_limits) {
    snapshot->rate_limits.push_back({&rule, rate_limits != nullptr
                                                ? rate_limits->state_for(rule)
                                                : std::make_shared<RateLimitState>(rule)});
  }
  for (const auto& service : config->services) {
    ResolvedService resolved{&service, {}};
    for (const auto& endpoint : service.endpoints) {
      std::error_code ec;
      auto ip = asio::ip::make_address(endpoint.address.host, ec);
      if (ec)
        return std::unexpected("service " + service.fqdn + ": endpoint address '" +
                               endpoint.address.host + "' is not an IP address");
      resolved.addresses.emplace_back(ip, endpoint.address.port);
      resolved.endpoint_names.push_back(endpoint.address.to_string());
      resolved.endpoint_labels.push_back(workload_labels(
          endpoint.workload, "", endpoint.mtls ? endpoint.identity : "", endpoint.labels));
    }
    resolved.labels = service_labels(service.fqdn, service.name, service.ns);
    resolved.all_sidecars =
        std::ranges::all_of(service.endpoints, [](const Endpoint& e) { return e.mtls; });
    for (const auto& port : service.ports)
      resolved.routes.push_back(PortRoute{port.port, mesh_sni(port.port, service.fqdn)});
    resolved.all = EndpointSubset{"", {}, service.fqdn, 0, &service.traffic};
    for (std::uint32_t i = 0; i < service.endpoints.size(); ++i) resolved.all.members.push_back(i);
    for (std::uint32_t k = 0; k < service.subsets.size(); ++k) {
      const auto& subset = service.subsets[k];
      EndpointSubset members{
          subset.name, {}, service.fqdn + "|" + subset.name, k + 1, &subset.traffic};
      for (std::uint32_t i = 0; i < service.endpoints.size(); ++i) {
        const auto& labels = service.endpoints[i].labels;
        const bool selected = std::ranges::all_of(subset.labels, [&](const auto& wanted) {
          auto it = labels.find(wanted.first);
          return it != labels.end() && it->second == wanted.second;
        });
        if (selected) members.members.push_back(i);
      }
      resolved.subsets.push_back(std::move(members));
    }
    snapshot->services_by_fqdn.emplace(service.fqdn, std::move(resolved));
  }
  // Routes point at other services and their subsets: resolved once every service is in place
  // (unordered_map keeps element addresses stable).
  auto resolve = [&](const std::vector<RouteTarget>& targets, std::vector<ResolvedTarget>& out,
                     std::uint64_t& total_weight) {
    for (const auto& target : targets) {
      ResolvedTarget t{&target, nullptr, nullptr};
      if (auto it = snapshot->services_by_fqdn.find(target.host);
          it != snapshot->services_by_fqdn.end()) {
        t.service = &it->second;
        for (const auto& subset : it->second.subsets) {
          if (subset.name == target.subset) t.subset = &subset;
        }
      }
      total_weight += target.weight;
      out.push_back(t);
    }
  };
  for (auto& [fqdn, resolved] : snapshot->services_by_fqdn) {
    build_clusters(resolved, circuits);
    for (const auto& route : resolved.service->http_routes) {
      ResolvedRoute out{&route, {}, 0};
      resolve(route.targets, out.targets, out.total_weight);
      resolved.http_routes.push_back(std::move(out));
    }
    for (const auto* l4 : {&resolved.service->tls_routes, &resolved.service->tcp_routes}) {
      auto& into = l4 == &resolved.service->tls_routes ? resolved.tls_routes : resolved.tcp_routes;
      for (const auto& route : *l4) {
        ResolvedL4Route out{&route, {}, 0};
        resolve(route.targets, out.targets, out.total_weight);
        into.push_back(std::move(out));
      }
    }
    std::vector<const HttpRoute*> routes;
    routes.reserve(resolved.service->http_routes.size());
    for (const auto& route : resolved.service->http_routes) routes.push_back(&route);
    resolved.route_index = RouteIndex::build(routes);
  }
  const WorkloadIdentity& self = config->workload;
  snapshot->self_spiffe_id = self.spiffe_id();
  snapshot->self_labels =
      workload_labels(self.name, self.ns, snapshot->self_spiffe_id, self.labels);
  snapshot->peer_metadata = encode_peer_metadata(snapshot->self_labels);
  snapshot->built_at = std::chrono::system_clock::now();
  for (const auto& inbound : config->inbound_services) {
    snapshot->inbound_labels.push_back(
        service_labels(inbound.name + "." + self.ns + ".svc.cluster.local", inbound.name, self.ns));
    snapshot->inbound_by_port.emplace(inbound.port, &inbound);
    snapshot->app_pool_keys.emplace(
        inbound.target_port,
        pool_key(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), inbound.target_port), "", "app"));
  }
  snapshot->config = std::move(config);
  return std::shared_ptr<const Snapshot>(std::move(snapshot));
}

const std::vector<std::string>& ResolvedCluster::keys_for(std::string_view alpn) const {
  if (alpn == tls::kAlpnTcp) return tcp_keys;
  if (alpn == tls::kAlpnH2) return h2_keys;
  return http1_keys;
}

const ResolvedCluster& ResolvedService::cluster(const EndpointSubset* subset,
                                                std::uint16_t port) const {
  const auto& ports = service->ports;
  std::size_t port_index = 0;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (ports[i].port == port) {
      port_index = i;
      break;
    }
  }
  const std::size_t per_set = std::max<std::size_t>(ports.size(), 1);
  const std::size_t set_index = subset != nullptr ? subset->index : 0;
  return clusters[set_index * per_set + port_index];
}

const ServiceLabels* Snapshot::inbound_service_labels(std::uint16_t port) const {
  const auto& services = config->inbound_services;
  for (std::size_t i = 0; i < services.size(); ++i) {
    if (services[i].port == port) return &inbound_labels[i];
  }
  return nullptr;
}

const PortRoute* ResolvedService::route(std::uint16_t port) const {
  for (const auto& r : routes) {
    if (r.port == port) return &r;
  }
  return nullptr;
}

std::string pool_key(const asio::ip::tcp::endpoint& address, std::string_view sni,
                     std::string_view alpn, std::string_view cluster) {
  std::string key = address.address().to_string();
  key.append(":").append(std::to_string(address.port())).append("|").append(sni).append("|").append(alpn);
  if (!cluster.empty()) key.append("|").append(cluster);
  return key;
}

std::string mesh_sni(std::uint16_t port, std::string_view fqdn) {
  return "p" + std::to_string(port) + "." + std::string(fqdn);
}

std::uint16_t port_from_mesh_sni(std::string_view sni) {
  if (!sni.starts_with('p')) return 0;
  const auto dot = sni.find('.');
  const char* last = sni.data() + (dot == std::string_view::npos ? sni.size() : dot);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(sni.data() + 1, last, value);
  if (ec != std::errc{} || end != last || value > 65535) return 0;
  return static_cast<std::uint16_t>(value);
}

}  // namespace strait::proxy
