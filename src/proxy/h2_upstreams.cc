#include "proxy/h2_upstreams.h"

#include <fmt/format.h>

#include <algorithm>

#include "proxy/upstream_connector.h"

namespace strait::proxy {
namespace {

using http2::H2Connection;


// Turns a fresh connection into a running HTTP/2 client session registered under `key`.
H2Upstream adopt(Worker& worker, const Snapshot& snapshot, const std::string& key,
                 ConnectOutcome outcome, bool mtls) {
  if (!outcome.connection) return H2Upstream{nullptr, outcome.failure, std::move(outcome.detail)};
  if (mtls && tls::negotiated_alpn(outcome.connection->stream.ssl()) != tls::kAlpnH2) {
    return H2Upstream{nullptr, LocalReason::kUpstreamProtocolError,
                      "the peer sidecar did not accept HTTP/2"};
  }
  auto connection = H2Connection::create(worker.io().get_executor(),
                                         std::move(outcome.connection->stream),
                                         H2Connection::Role::kClient,
                                         h2_settings(snapshot.config->limits), {});
  auto& connections = worker.h2_upstreams();
  connection->start({}, [&connections, key, weak = std::weak_ptr<H2Connection>(connection)] {
    auto it = connections.find(key);
    if (it != connections.end() && it->second == weak.lock()) connections.erase(it);
  });
  connections[key] = connection;
  return H2Upstream{std::move(connection), {}, {}};
}

}  // namespace

http2::ConnectionSettings h2_settings(const Limits& limits) {
  http2::ConnectionSettings s;
  s.max_header_list_size = limits.max_head_size;
  s.idle_timeout = limits.stream_idle_timeout;
  return s;
}

asio::awaitable<H2Upstream> h2_upstream(Worker& worker, const Snapshot& snapshot,
                                        const Destination& destination) {
  auto& connections = worker.h2_upstreams();
  if (destination.service == nullptr) {
    const std::string key = "app|" + std::to_string(destination.app_port);
    if (auto it = connections.find(key); it != connections.end() && it->second->usable())
      co_return H2Upstream{it->second, {}, {}};
    auto outcome = co_await connect_to_app(worker, snapshot, destination.app_port, false);
    co_return adopt(worker, snapshot, key, std::move(outcome), false);
  }
  const auto& service = *destination.service;
  const EndpointSubset* subset = destination.subset;
  const EndpointSubset& set = service.endpoint_set(subset);
  const std::size_t count = set.members.size();
  if (count == 0) {
    co_return H2Upstream{nullptr, LocalReason::kNoHealthyUpstream,
                         service.service->fqdn + (subset != nullptr ? " subset " + subset->name : std::string()) +
                             " has no endpoints"};
  }
  H2Upstream last;
  const ResolvedCluster& cluster = *destination.cluster();
  const EndpointOrder order =
      endpoints_to_try(worker, cluster, destination.hash, destination.avoid_endpoint);
  for (std::size_t attempt = 0; attempt < order.size; ++attempt) {
    const std::size_t index = order.indices[attempt];
    const bool mtls = service.service->endpoints[index].mtls_on(cluster.port);
    const std::string& key = cluster.h2_keys[index];
    if (auto it = connections.find(key); it != connections.end() && it->second->usable())
      co_return H2Upstream{it->second, {}, {}, index};
    if (attempt > 0) worker.stats().upstream_retries.add();
    auto outcome = co_await connect_to_endpoint(worker, snapshot, cluster, index, tls::kAlpnH2);
    last = adopt(worker, snapshot, key, std::move(outcome), mtls);
    last.endpoint = index;
    if (last.connection || last.failure == LocalReason::kUpstreamIdentityMismatch) co_return last;
    worker.outliers().record_local_failure(cluster, index, std::chrono::steady_clock::now());
  }
  co_return last;
}

}  // namespace strait::proxy
