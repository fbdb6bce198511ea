#include "proxy/listeners.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/steady_timer.hpp>
#include <optional>

#include "net/read_buffer.h"
#include "net/watchdog.h"
#include "proxy/authorization_filter.h"
#include "proxy/body_forwarder.h"
#include "proxy/connection_telemetry.h"
#include "proxy/h2_proxy.h"
#include "proxy/http_session.h"
#include "proxy/peer_metadata.h"
#include "proxy/router.h"
#include "proxy/tls_sniff.h"
#include "proxy/upstream_connector.h"
#include "tls/client_hello.h"

namespace strait::proxy {
namespace {

constexpr std::size_t kTunnelBuffer = 16 * 1024;

// The downstream peer's address as text, for useSourceIp hashing ("" when it is gone already).
std::string peer_ip(const asio::ip::tcp::socket& socket) {
  std::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  return ec ? std::string() : remote.address().to_string();
}

// An opaque TCP stream between a downstream connection and an upstream one. `downstream_buffer`
// may hold bytes already read from downstream (a sniffed ClientHello): they go upstream first.
// `idle_timeout` (0: the proxy's tunnel idle timeout) closes both when no byte moves either way.
// The connection is reported in the istio_tcp_* metrics with `info`, `peer` (the caller's
// metadata, inbound over mTLS) and `target` (the service port; outbound, the endpoint is the
// outcome's).
asio::awaitable<void> relay_connection(Worker& worker, const DownstreamInfo& info,
                                       const PeerMetadata& peer, TelemetryTarget target,
                                       net::Stream downstream, ConnectOutcome outcome,
                                       net::ReadBuffer downstream_buffer,
                                       std::chrono::milliseconds idle_timeout = {}) {
  const ListenerKind kind = info.kind;
  auto& stats = worker.stats().listener(kind);
  stats.connections_total.add();
  stats.connections_active.add(1);
  TrackedConnection tracked{&downstream, false};
  worker.track(&tracked);
  const auto snapshot = worker.snapshot();
  if (target.service != nullptr) target.endpoint = outcome.endpoint;
  ConnectionTelemetry telemetry(worker, *snapshot, info, peer, target,
                                outcome.connection ? 0 : response_flag_for(outcome.failure));
  if (outcome.connection) {
    stats.tunnels_total.add();
    net::Watchdog watchdog(worker.io().get_executor());
    watchdog.arm(idle_timeout.count() > 0 ? idle_timeout
                                          : worker.snapshot()->config->limits.tunnel_idle_timeout,
                 &downstream, &outcome.connection->stream);
    RelayTally sent{.live = telemetry.received()};
    RelayTally received{.live = telemetry.sent()};
    co_await relay(downstream, downstream_buffer, outcome.connection->stream,
                   outcome.connection->buffer, watchdog, sent, received);
    stats.bytes_received.add(sent.bytes);
    stats.bytes_sent.add(received.bytes);
    telemetry.set_bytes(sent.bytes, received.bytes);
  } else {
    worker.stats().count(outcome.failure);
    spdlog::debug("tcp {}: {}", name_of(kind), outcome.detail);
  }
  downstream.close();
  worker.untrack(&tracked);
  stats.connections_active.add(-1);
}

// Whether bytes a connection starts with can be an HTTP/1 request line or the HTTP/2 preface
// ("PRI * HTTP/2.0"): a method token of upper-case letters, then a space. A prefix of one counts.
bool looks_like_http(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size() && bytes[i] >= 'A' && bytes[i] <= 'Z') ++i;
  return i > 0 && (i == bytes.size() || bytes[i] == ' ');
}

// A connection that reached the inbound listener without the mesh's mTLS: a caller without a
// sidecar (in plaintext, or with the application's own TLS), or a sidecar calling a port whose
// PeerAuthentication is DISABLE. It has no peer identity. HTTP goes
// to an HTTP session, which finds the port from each request's host and refuses requests to a
// STRICT port; anything else can only be the workload's one opaque port.
asio::awaitable<void> serve_plaintext_inbound(Worker& worker, net::Stream stream,
                                              std::string first_bytes) {
  const auto snapshot = worker.snapshot();
  const ProxyConfig& config = *snapshot->config;
  worker.stats().listener(ListenerKind::kInbound).plaintext_connections.add();
  std::error_code ignored;
  DownstreamInfo info{.kind = ListenerKind::kInbound};
  info.plaintext = true;
  info.source_ip = stream.socket().remote_endpoint(ignored).address().to_string();
  info.local_ip = stream.socket().local_endpoint(ignored).address().to_string();
  const InboundService* opaque = nullptr;
  std::size_t opaque_count = 0;
  bool serves_http = false;
  for (const auto& service : config.inbound_services) {
    if (is_http(service.protocol)) {
      serves_http = true;
    } else {
      opaque = &service;
      ++opaque_count;
    }
  }
  if (opaque_count != 1 || (serves_http && looks_like_http(first_bytes))) {
    co_await serve_http(worker, std::move(stream), std::move(info));
    co_return;
  }
  const MtlsSetting& mtls = config.inbound_mtls.for_port(opaque->target_port);
  if (mtls.mode == MtlsMode::kStrict) {
    worker.stats().count(LocalReason::kMtlsRequired);
    spdlog::info(
        "inbound: refused a plaintext connection from {} to port {}: PeerAuthentication "
        "{} is STRICT",
        info.source_ip, opaque->port, mtls.source);
    stream.close();
    co_return;
  }
  if (!authorize_connection(config.authorization, info, opaque->port, opaque->target_port,
                            worker.stats())) {
    stream.close();
    co_return;
  }
  ConnectOutcome outcome = co_await connect_to_app(worker, *snapshot, opaque->target_port, false);
  net::ReadBuffer buffer(kTunnelBuffer);
  const PeerMetadata no_peer;
  co_await relay_connection(worker, info, no_peer, {.port = opaque->port}, std::move(stream),
                            std::move(outcome), std::move(buffer));
}

constexpr unsigned char kTlsHandshakeRecord = 22;  // the content type of a ClientHello's record
constexpr std::size_t kMaxClientHello = 16 * 1024 + 5;  // one TLS record

// The SNI of the ClientHello waiting in the socket, peeked (the bytes stay for whoever reads
// next); nullopt when it is not a readable ClientHello, or not whole within `timeout`. A
// ClientHello nearly always arrives in one segment; when it does not, the socket is peeked again
// every 5 ms.
asio::awaitable<std::optional<std::string>> peek_client_hello_sni(
    Worker& worker, net::Stream& plain, std::chrono::milliseconds timeout) {
  std::string bytes(kMaxClientHello, '\0');
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer pause(worker.io());
  while (true) {
    auto [error, peeked] = co_await plain.socket().async_receive(
        asio::buffer(bytes), asio::socket_base::message_peek, net::kAsTuple);
    if (error || peeked == 0) co_return std::nullopt;
    const auto hello = tls::read_client_hello_sni(std::string_view(bytes.data(), peeked));
    if (hello.status == tls::ClientHelloSni::Status::kDone) co_return hello.server_name;
    if (hello.status == tls::ClientHelloSni::Status::kNotTls || peeked == bytes.size() ||
        std::chrono::steady_clock::now() >= deadline)
      co_return std::nullopt;
    pause.expires_after(std::chrono::milliseconds(5));
    co_await pause.async_wait(net::kAsTuple);
  }
}

// Whether the workload has an opaque (tcp/tls) inbound port that takes plaintext: where a TLS
// client of the application's own, without a sidecar, can go.
bool serves_opaque_without_mtls(const ProxyConfig& config) {
  return std::ranges::any_of(config.inbound_services, [&](const InboundService& s) {
    return !is_http(s.protocol) &&
           config.inbound_mtls.for_port(s.target_port).mode != MtlsMode::kStrict;
  });
}

asio::awaitable<void> serve_inbound(Worker& worker, asio::ip::tcp::socket socket) {
  const auto snapshot = worker.snapshot();
  auto& stats = worker.stats().listener(ListenerKind::kInbound);
  net::Watchdog watchdog(worker.io().get_executor());
  // mTLS or plaintext, told by the first byte (peeked: it stays in the socket for either).
  net::Stream plain(std::move(socket));
  watchdog.arm(snapshot->config->limits.header_read_timeout, &plain);
  std::array<char, 16> first{};
  auto [peek_error, peeked] = co_await plain.socket().async_receive(
      asio::buffer(first), asio::socket_base::message_peek, net::kAsTuple);
  watchdog.disarm();
  if (peek_error || peeked == 0) {  // gone, or silent for headerReadTimeout
    plain.close();
    co_return;
  }
  bool mesh_tls = static_cast<unsigned char>(first[0]) == kTlsHandshakeRecord;
  if (mesh_tls && serves_opaque_without_mtls(*snapshot->config)) {
    // A sidecar always names a mesh SNI (p<port>.<fqdn>); any other ClientHello is the
    // application's own TLS from a caller without a sidecar, relayed as it is.
    watchdog.arm(snapshot->config->limits.header_read_timeout, &plain);
    const auto sni =
        co_await peek_client_hello_sni(worker, plain, snapshot->config->limits.header_read_timeout);
    watchdog.disarm();
    if (sni && port_from_mesh_sni(*sni) == 0) mesh_tls = false;
  }
  if (!mesh_tls) {
    std::string first_bytes(first.data(), peeked);  // a named argument (GCC 12 and coroutines)
    co_await serve_plaintext_inbound(worker, std::move(plain), std::move(first_bytes));
    co_return;
  }
  net::Stream stream(net::TlsStream(std::move(plain.socket()), *snapshot->tls.server));
  watchdog.arm(snapshot->config->limits.header_read_timeout, &stream);
  const auto error = co_await stream.handshake(asio::ssl::stream_base::server);
  watchdog.disarm();
  auto peer = error ? std::nullopt : tls::verified_peer_spiffe_id(stream.ssl());
  const auto peer_id = peer ? tls::parse_spiffe_id(*peer) : std::nullopt;
  if (error || !peer_id || peer_id->trust_domain != snapshot->config->workload.trust_domain) {
    stats.tls_handshake_failures.add();
    std::error_code ignored;
    const auto remote = stream.socket().remote_endpoint(ignored);
    spdlog::info("inbound: refused {} ({})", remote.address().to_string(),
                 error ? error.message()
                       : "the client certificate has no SPIFFE identity of trust domain " +
                             snapshot->config->workload.trust_domain);
    stream.close();
    co_return;
  }
  const char* sni = SSL_get_servername(stream.ssl(), TLSEXT_NAMETYPE_host_name);
  const std::uint16_t port = port_from_mesh_sni(sni != nullptr ? sni : "");
  const std::string_view alpn = tls::negotiated_alpn(stream.ssl());
  std::error_code ignored;
  DownstreamInfo info{
      .kind = ListenerKind::kInbound, .peer_identity = std::move(*peer), .inbound_port = port};
  info.peer_namespace = peer_id->ns;
  info.source_ip = stream.socket().remote_endpoint(ignored).address().to_string();
  info.local_ip = stream.socket().local_endpoint(ignored).address().to_string();
  info.sni = sni != nullptr ? sni : "";
  if (alpn == tls::kAlpnH2) {
    std::string no_preface_bytes;  // a named argument: GCC 12 and coroutine prvalues
    co_await serve_h2(worker, std::move(stream), std::move(no_preface_bytes), std::move(info));
    co_return;
  }
  if (alpn == tls::kAlpnTcp) {
    // The caller's sidecar says first who calls (peer_metadata.h).
    net::ReadBuffer buffer(kTunnelBuffer);
    PreambleRead preamble;
    watchdog.arm(snapshot->config->limits.header_read_timeout, &stream);
    while (preamble.status == PreambleRead::Status::kNeedMore) {
      auto [read_error, n] =
          co_await stream.read_some(buffer.prepare(kTunnelBuffer - buffer.size()));
      if (read_error) break;
      buffer.commit(n);
      preamble = read_peer_preamble(buffer.data());
    }
    watchdog.disarm();
    if (preamble.status != PreambleRead::Status::kDone) {
      spdlog::info("inbound: refused a TCP connection from {}: no peer preamble", info.source_ip);
      stream.close();
      co_return;
    }
    PeerMetadataCopy peer_metadata;
    peer_metadata.assign(preamble.text);
    buffer.consume(preamble.size);
    const auto it = snapshot->inbound_by_port.find(port);
    ConnectOutcome outcome;
    if (it == snapshot->inbound_by_port.end()) {
      outcome.failure = LocalReason::kUnknownInboundPort;
      outcome.detail = "no inbound service on port " + std::to_string(port);
    } else if (!authorize_connection(snapshot->config->authorization, info, port,
                                     it->second->target_port, worker.stats())) {
      stream.close();  // denied: closed before any byte reaches the application
      co_return;
    } else {
      outcome = co_await connect_to_app(worker, *snapshot, it->second->target_port, false);
    }
    co_await relay_connection(worker, info, peer_metadata.get(), {.port = port}, std::move(stream),
                              std::move(outcome), std::move(buffer));
    co_return;
  }
  // Arguments are named objects, never prvalues: GCC 12 can destroy a prvalue argument of a
  // coroutine twice.
  co_await serve_http(worker, std::move(stream), std::move(info));
}

asio::awaitable<void> serve_binding(Worker& worker, asio::ip::tcp::socket socket,
                                    const UpstreamBinding* binding) {
  const auto snapshot = worker.snapshot();
  const ResolvedService* service = snapshot->find_service(binding->service);
  const ServicePort* port = nullptr;
  if (service != nullptr) {
    for (const auto& p : service->service->ports) {
      if (p.port == binding->port) port = &p;
    }
  }
  if (port != nullptr && is_http(port->protocol)) {
    DownstreamInfo info{.kind = ListenerKind::kUpstreamBinding,
                        .fixed_host = binding->service,
                        .fixed_port = binding->port,
                        .source_ip = peer_ip(socket)};
    net::Stream stream(std::move(socket));
    co_await serve_http(worker, std::move(stream), std::move(info));
    co_return;
  }
  DownstreamInfo info{.kind = ListenerKind::kUpstreamBinding, .source_ip = peer_ip(socket)};
  const std::string& source_ip = info.source_ip;
  net::Stream stream(std::move(socket));
  net::ReadBuffer buffer(kTunnelBuffer);
  ConnectOutcome outcome;
  TelemetryTarget target{.service = service, .port = binding->port};
  std::chrono::milliseconds idle_timeout{0};
  if (port == nullptr) {
    outcome.failure = LocalReason::kNoRoute;
    outcome.detail = binding->service + ":" + std::to_string(binding->port) + " is not a mesh service port";
  } else {
    // The VirtualService's tls[] (by the app's SNI) and tcp[] routes choose where the connection
    // goes.
    Destination d{.service = service, .port = port->port, .protocol = port->protocol};
    SniffedHello hello;
    if (port->protocol == Protocol::kTls && !service->tls_routes.empty())
      hello =
          co_await sniff_server_name(stream, buffer, snapshot->config->limits.header_read_timeout);
    if (hello.peer_closed) co_return;  // the app left before its ClientHello: nothing to relay
    if (auto routed = select_l4_route(d, hello.server_name, worker.random()); !routed) {
      outcome.failure = routed.error().reason;
      outcome.detail = routed.error().detail;
    } else {
      RequestAttributes source;  // a connection has no request: only useSourceIp can hash it
      source.source_ip = source_ip;
      d.hash = hash_key(d, source);
      outcome = co_await connect_to_service(worker, *snapshot, *d.service, d.port, tls::kAlpnTcp,
                                            false, d.subset, d.hash);
      idle_timeout = d.cluster()->pool().tcp_idle_timeout;
      target = {.service = d.service, .port = d.port};
    }
  }
  const PeerMetadata no_peer;
  co_await relay_connection(worker, info, no_peer, target, std::move(stream), std::move(outcome),
                            std::move(buffer), idle_timeout);
}

}  // namespace

asio::awaitable<void> accept_loop(Worker& worker, asio::ip::tcp::acceptor& acceptor,
                                  ListenerSpec spec) {
  while (true) {
    auto [ec, socket] = co_await acceptor.async_accept(net::kAsTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      spdlog::warn("{} listener: accept failed: {}", name_of(spec.kind), ec.message());
      continue;  // EMFILE and friends: keep serving the connections we have
    }
    std::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    switch (spec.kind) {
      case ListenerKind::kOutbound: {
        DownstreamInfo info{.kind = ListenerKind::kOutbound};
        info.source_ip = peer_ip(socket);
        net::Stream stream(std::move(socket));
        asio::co_spawn(worker.io(), serve_http(worker, std::move(stream), std::move(info)),
                       asio::detached);
        break;
      }
      case ListenerKind::kInbound:
        asio::co_spawn(worker.io(), serve_inbound(worker, std::move(socket)), asio::detached);
        break;
      case ListenerKind::kUpstreamBinding:
        asio::co_spawn(worker.io(), serve_binding(worker, std::move(socket), spec.binding),
                       asio::detached);
        break;
      case ListenerKind::kCount:
        break;
    }
  }
}

}  // namespace strait::proxy
