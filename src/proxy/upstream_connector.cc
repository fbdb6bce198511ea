#include "proxy/upstream_connector.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/ip/address_v4.hpp>
#include <cerrno>
#include <cstring>

#include "net/watchdog.h"
#include "proxy/peer_metadata.h"

namespace strait::proxy {
namespace {

constexpr std::size_t kUpstreamBufferMax = 64 * 1024;

// connectionPool.tcp.tcpKeepalive: the kernel probes an idle connection and drops it when the
// peer is gone (a zero field keeps the system's value). A refusal is only logged: the connection
// still works, without probes.
void set_keepalive(net::Tcp::socket& socket, const ConnectionPoolPolicy::Keepalive& keepalive) {
  const int fd = socket.native_handle();
  auto set = [&](int level, int name, int value, const char* what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0)
      spdlog::warn("upstream connection: cannot set {}: {}", what, std::strerror(errno));
  };
  set(SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
  if (keepalive.time.count() > 0)
    set(IPPROTO_TCP, TCP_KEEPIDLE,
        static_cast<int>(std::min<std::int64_t>(keepalive.time.count(), 32767)), "TCP_KEEPIDLE");
  if (keepalive.interval.count() > 0)
    set(IPPROTO_TCP, TCP_KEEPINTVL,
        static_cast<int>(std::min<std::int64_t>(keepalive.interval.count(), 32767)),
        "TCP_KEEPINTVL");
  if (keepalive.probes > 0)
    set(IPPROTO_TCP, TCP_KEEPCNT, static_cast<int>(std::min<std::uint32_t>(keepalive.probes, 127)),
        "TCP_KEEPCNT");
}

// One attempt at one address. For mTLS: TCP connect, handshake, then the identity check.
asio::awaitable<ConnectOutcome> connect_once(Worker& worker, const Snapshot& snapshot,
                                             const asio::ip::tcp::endpoint& address,
                                             const std::string& sni, std::string_view alpn,
                                             const std::vector<std::string>* allowed_identities,
                                             std::string key,
                                             const ConnectionPoolPolicy* pool = nullptr) {
  auto& stats = worker.stats();
  stats.upstream_connections_total.add();
  const auto timeout = pool != nullptr && pool->connect_timeout.count() > 0
                           ? pool->connect_timeout
                           : snapshot.config->limits.connect_timeout;
  net::Tcp::socket socket(worker.io());
  net::Stream stream = allowed_identities != nullptr
                           ? net::Stream(net::TlsStream(std::move(socket), *snapshot.tls.client))
                           : net::Stream(std::move(socket));
  net::Watchdog watchdog(worker.io().get_executor());
  watchdog.arm(timeout, &stream);
  auto [connect_error] = co_await stream.socket().async_connect(address, net::kAsTuple);
  ConnectOutcome out;
  if (connect_error) {
    stats.upstream_connect_failures.add();
    out.failure = watchdog.expired() ? LocalReason::kUpstreamConnectTimeout
                                     : LocalReason::kUpstreamConnectFailed;
    out.detail = address.address().to_string() + ":" + std::to_string(address.port()) + ": " +
                 (watchdog.expired() ? "timed out" : connect_error.message());
    co_return out;
  }
  std::error_code nodelay_error;
  stream.socket().set_option(net::Tcp::no_delay(true), nodelay_error);
  if (pool != nullptr && pool->keepalive) set_keepalive(stream.socket(), *pool->keepalive);
  std::string peer_identity;
  if (allowed_identities != nullptr) {
    if (!tls::prepare_client(stream.ssl(), sni, alpn)) {
      out.failure = LocalReason::kUpstreamTlsFailed;
      out.detail = "cannot set SNI/ALPN";
      co_return out;
    }
    auto handshake_error = co_await stream.handshake(asio::ssl::stream_base::client);
    if (handshake_error) {
      stats.upstream_connect_failures.add();
      out.failure = watchdog.expired() ? LocalReason::kUpstreamConnectTimeout
                                       : LocalReason::kUpstreamTlsFailed;
      out.detail = address.address().to_string() + ":" + std::to_string(address.port()) + ": " +
                   handshake_error.message();
      co_return out;
    }
    auto id = tls::verified_peer_spiffe_id(stream.ssl());
    if (!id || std::ranges::find(*allowed_identities, *id) == allowed_identities->end()) {
      stats.upstream_identity_mismatches.add();
      out.failure = LocalReason::kUpstreamIdentityMismatch;
      out.detail = "server identity " + id.value_or("(none)") + " may not serve " + sni;
      spdlog::warn("upstream {}: {}", address.address().to_string(), out.detail);
      stream.close();
      co_return out;
    }
    peer_identity = std::move(*id);
    if (alpn == tls::kAlpnTcp) {
      // An opaque connection to a sidecar starts by saying who calls (peer_metadata.h).
      const std::string preamble = peer_preamble(snapshot.peer_metadata);
      if (co_await stream.write_all(asio::buffer(preamble))) {
        stats.upstream_connect_failures.add();
        out.failure = LocalReason::kUpstreamConnectFailed;
        out.detail = address.address().to_string() + ":" + std::to_string(address.port()) +
                     ": closed after the handshake";
        co_return out;
      }
    }
  }
  watchdog.disarm();
  out.connection = std::make_unique<UpstreamConnection>(std::move(stream), std::move(key),
                                                        kUpstreamBufferMax);
  out.connection->peer_identity = std::move(peer_identity);
  co_return out;
}

}  // namespace

asio::awaitable<ConnectOutcome> connect_to_service(Worker& worker, const Snapshot& snapshot,
                                                   const ResolvedService& service,
                                                   std::uint16_t port, std::string_view alpn,
                                                   bool pooled, const EndpointSubset* subset,
                                                   std::optional<std::uint64_t> hash, std::size_t avoid) {
  const auto& endpoints = service.service->endpoints;
  const EndpointSubset& set = service.endpoint_set(subset);
  const std::size_t count = set.members.size();
  ConnectOutcome last;
  if (count == 0) {
    last.failure = LocalReason::kNoHealthyUpstream;
    last.detail = service.service->fqdn + (subset != nullptr ? " subset " + subset->name : std::string()) +
                  " has no endpoints";
    co_return last;
  }
  const PortRoute* route = service.route(port);
  if (route == nullptr) {
    last.detail = service.service->fqdn + " has no port " + std::to_string(port);
    co_return last;
  }
  const ResolvedCluster& cluster = service.cluster(subset, port);
  const std::vector<std::string>& keys = cluster.keys_for(alpn);
  const ConnectionPoolPolicy& limits = cluster.pool();
  const auto max_idle = limits.idle_timeout.count() > 0 ? limits.idle_timeout : snapshot.config->limits.idle_timeout;
  const EndpointOrder order = endpoints_to_try(worker, cluster, hash, avoid);
  for (std::size_t attempt = 0; attempt < order.size; ++attempt) {
    const std::size_t i = order.indices[attempt];
    const Endpoint& endpoint = endpoints[i];
    const auto& address = service.addresses[i];
    if (pooled) {
      if (auto idle = worker.pool().take(keys[i], max_idle)) {
        worker.stats().upstream_connections_reused.add();
        co_return ConnectOutcome{std::move(idle), {}, {}, i};
      }
    }
    // A new connection needs a unit of the cluster's maxConnections (shared by every worker).
    CircuitSlot counted(cluster.circuit->connections, limits.max_connections);
    if (!counted.held()) {
      last.failure = LocalReason::kUpstreamOverflow;
      last.detail = cluster.name + ": connectionPool.tcp.maxConnections (" +
                    std::to_string(limits.max_connections) + ") reached";
      co_return last;
    }
    if (attempt > 0) worker.stats().upstream_retries.add();
    std::string key = keys[i];
    last = co_await connect_once(
        worker, snapshot, address, route->sni, alpn,
        endpoint.mtls_on(port) ? &service.service->allowed_identities : nullptr, std::move(key),
        &limits);
    last.endpoint = i;
    if (last.connection) {
      last.connection->counted = std::move(counted);
      co_return last;
    }
    // An identity mismatch is a security finding, not a flaky endpoint: do not paper over it.
    if (last.failure == LocalReason::kUpstreamIdentityMismatch) co_return last;
    worker.outliers().record_local_failure(cluster, i, std::chrono::steady_clock::now());
  }
  co_return last;
}

EndpointOrder endpoints_to_try(Worker& worker, const ResolvedCluster& cluster,
                               std::optional<std::uint64_t> hash, std::size_t avoid) {
  const EndpointSubset& set = *cluster.set;
  const std::size_t count = set.members.size();
  EndpointOrder order;
  if (count == 0) return order;
  const std::size_t start = first_choice(worker, cluster, hash, avoid);
  const std::size_t wanted = std::min(kMaxConnectAttempts, count);
  const auto now = std::chrono::steady_clock::now();
  OutlierTracker& outliers = worker.outliers();
  if (outliers.ejecting(cluster, now)) {
    for (std::size_t k = 0; k < count && order.size < wanted; ++k) {
      const std::size_t i = set.members[(start + k) % count];
      if (!outliers.ejected(cluster, i, now)) order.indices[order.size++] = i;
    }
    if (order.size > 0) return order;  // else every endpoint of the subset is ejected: try them anyway
  }
  for (std::size_t k = 0; k < wanted; ++k) order.indices[order.size++] = set.members[(start + k) % count];
  return order;
}

namespace {

std::size_t balanced_slot(Worker& worker, const ResolvedCluster& cluster,
                          std::optional<std::uint64_t> hash) {
  const EndpointSubset& set = *cluster.set;
  const std::size_t count = set.members.size();
  switch (cluster.lb().kind) {
    case LoadBalancer::Kind::kRandom:
      return worker.random() % count;
    case LoadBalancer::Kind::kRingHash:
    case LoadBalancer::Kind::kMaglev:
      if (hash && cluster.table) return cluster.table->member(*hash);
      return worker.random() % count;
    case LoadBalancer::Kind::kLeastRequest: {
      // Two choices: the round-robin next one and another at random; the one with fewer requests
      // in flight wins, the round-robin one on a tie (so that an idle service is spread evenly).
      const std::size_t next = worker.next_round_robin(set.round_robin_key) % count;
      if (count == 1) return next;
      std::size_t other = worker.random() % (count - 1);
      if (other >= next) ++other;
      const auto& names = cluster.service->endpoint_names;
      return worker.active_requests(names[set.members[other]]) < worker.active_requests(names[set.members[next]])
                 ? other
                 : next;
    }
    case LoadBalancer::Kind::kRoundRobin:
      break;
  }
  return worker.next_round_robin(set.round_robin_key) % count;
}

}  // namespace

std::size_t first_choice(Worker& worker, const ResolvedCluster& cluster,
                         std::optional<std::uint64_t> hash, std::size_t avoid) {
  const EndpointSubset& set = *cluster.set;
  const std::size_t count = set.members.size();
  if (count == 0) return 0;
  const std::size_t slot = balanced_slot(worker, cluster, hash);
  if (count > 1 && set.members[slot] == avoid) return (slot + 1) % count;
  return slot;
}

asio::awaitable<ConnectOutcome> connect_to_endpoint(Worker& worker, const Snapshot& snapshot,
                                                    const ResolvedCluster& cluster,
                                                    std::size_t index, std::string_view alpn) {
  const ResolvedService& service = *cluster.service;
  const Endpoint& endpoint = service.service->endpoints[index];
  const auto& address = service.addresses[index];
  const std::string sni = mesh_sni(cluster.port, service.service->fqdn);
  std::string key = cluster.keys_for(alpn)[index];
  co_return co_await connect_once(
      worker, snapshot, address, sni, alpn,
      endpoint.mtls_on(cluster.port) ? &service.service->allowed_identities : nullptr,
      std::move(key), &cluster.pool());
}

asio::awaitable<ConnectOutcome> connect_to_app(Worker& worker, const Snapshot& snapshot,
                                               std::uint16_t app_port, bool pooled) {
  const asio::ip::tcp::endpoint address(asio::ip::address_v4::loopback(), app_port);
  const auto known = snapshot.app_pool_keys.find(app_port);
  std::string computed;
  if (known == snapshot.app_pool_keys.end()) computed = pool_key(address, "", "app");
  const std::string& key = known != snapshot.app_pool_keys.end() ? known->second : computed;
  if (pooled) {
    if (auto idle = worker.pool().take(key, snapshot.config->limits.idle_timeout)) {
      worker.stats().upstream_connections_reused.add();
      co_return ConnectOutcome{std::move(idle), {}, {}};
    }
  }
  std::string owned_key = key;
  co_return co_await connect_once(worker, snapshot, address, "", "", nullptr, std::move(owned_key));
}

}  // namespace strait::proxy
