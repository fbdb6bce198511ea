#include "proxy/http_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <charconv>
#include <optional>

#include "http/parser.h"
#include "net/read_buffer.h"
#include "net/sleep.h"
#include "net/stream.h"
#include "net/watchdog.h"
#include "proxy/authorization_filter.h"
#include "proxy/body_forwarder.h"
#include "proxy/connection_telemetry.h"
#include "proxy/h1_to_h2.h"
#include "proxy/h2_proxy.h"
#include "proxy/http_head_writer.h"
#include "proxy/joined_field.h"
#include "proxy/local_reply.h"
#include "proxy/mirror.h"
#include "proxy/peer_metadata.h"
#include "proxy/rate_limit_filter.h"
#include "proxy/request_telemetry.h"
#include "proxy/retry_state.h"
#include "proxy/router.h"
#include "proxy/tls_sniff.h"
#include "proxy/upstream_connector.h"

namespace strait::proxy {
namespace {

using http::iequals;
using Clock = std::chrono::steady_clock;

// Lingering close after an answer that left a request body unread (as nginx's lingering_close):
// long enough for a caller on the same host or mesh to finish sending, bounded against a client
// that never stops.
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr std::size_t kLingerBytes = 64 * 1024 * 1024;

bool is_idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

enum class HeadRead : std::uint8_t { kOk, kClosedBeforeResponse, kFailed, kMalformed, kTimeout };

class HttpSession {
 public:
  HttpSession(Worker& worker, net::Stream downstream, DownstreamInfo info)
      : worker_(worker),
        downstream_(std::move(downstream)),
        info_(std::move(info)),
        stats_(worker.stats().listener(info_.kind)),
        limits_(worker.snapshot()->config->limits),
        parser_limits_{limits_.max_request_line, limits_.max_head_size, limits_.max_header_count},
        in_(limits_.max_head_size + 1),
        watchdog_(worker.io().get_executor()) {}

  asio::awaitable<void> run() {
    tracked_.stream = &downstream_;
    worker_.track(&tracked_);
    stats_.connections_total.add();
    stats_.connections_active.add(1);
    if (info_.kind == ListenerKind::kInbound && !info_.plaintext) {
      client_cert_ = "By=" + worker_.snapshot()->tls.certificate.spiffe_id + ";URI=" + info_.peer_identity;
    }
    // (No co_await inside && or ?: — GCC 12 miscompiles conditional co_await.)
    Preface preface = Preface::kHttp1;
    // Sidecars say HTTP/2 by ALPN; plaintext callers (and applications) by the preface.
    if (info_.kind != ListenerKind::kInbound || info_.plaintext) preface = co_await sniff_preface();
    if (preface == Preface::kHttp2) {
      // h2c with prior knowledge: the connection is HTTP/2 from its first byte.
      std::string initial(in_.data());
      DownstreamInfo info = info_;
      worker_.untrack(&tracked_);
      co_await serve_h2(worker_, std::move(downstream_), std::move(initial), std::move(info), false);
      stats_.connections_active.add(-1);
      co_return;
    }
    // (GCC 12 miscompiles co_await inside a loop condition; keep it in the body.)
    while (preface != Preface::kClosed) {
      const bool more = co_await serve_one();
      if (!more) break;
    }
    watchdog_.disarm();
    downstream_.shutdown_send();
    if (linger_) co_await drain_before_close();
    downstream_.close();
    worker_.untrack(&tracked_);
    stats_.connections_active.add(-1);
  }

 private:
  enum class Preface : std::uint8_t { kHttp1, kHttp2, kClosed };

  // Reads until the first bytes either match the HTTP/2 client preface or cannot. kClosed when the
  // client went away first: the socket must not be read again after EOF (Asio 1.22's epoll reactor
  // waits for a new edge that never comes, leaving the connection in CLOSE-WAIT).
  asio::awaitable<Preface> sniff_preface() {
    watchdog_.arm(limits_.header_read_timeout, &downstream_);
    while (true) {
      const std::string_view data = in_.data();
      const std::size_t n = std::min(data.size(), http2::kClientPreface.size());
      if (data.substr(0, n) != http2::kClientPreface.substr(0, n)) co_return Preface::kHttp1;
      if (n == http2::kClientPreface.size()) co_return Preface::kHttp2;
      auto [ec, read] = co_await downstream_.read_some(in_.prepare(4096));
      if (ec) co_return Preface::kClosed;
      in_.commit(read);
      stats_.bytes_received.add(read);
    }
  }

  // Reads the next request head into in_. False when the connection is done (an error reply, if
  // one is due, has been sent).
  asio::awaitable<bool> read_head(http::RequestHead& request) {
    tracked_.idle = in_.empty();
    bool header_timer = !in_.empty();
    watchdog_.arm(header_timer ? limits_.header_read_timeout : limits_.idle_timeout, &downstream_);
    while (true) {
      if (!in_.empty()) {
        const auto parsed = http::parse_request_head(in_.data(), parser_limits_, request);
        if (parsed.status == http::ParseStatus::kComplete) break;
        if (parsed.status == http::ParseStatus::kError) {
          stats_.parse_errors.add();
          co_await reply(http::status_for(parsed.error), LocalReason::kMalformedRequest,
                         "the request violates HTTP/1.1 framing or syntax", true,
                         http::name_of(parsed.error));
          co_return false;
        }
        if (in_.full()) {
          stats_.parse_errors.add();
          co_await reply(431, LocalReason::kMalformedRequest, "the request head is too large", true,
                         "head_too_large");
          co_return false;
        }
        if (!header_timer) {
          tracked_.idle = false;
          header_timer = true;
          watchdog_.arm(limits_.header_read_timeout, &downstream_);
        }
      } else if (worker_.draining()) {
        co_return false;
      }
      auto [ec, n] = co_await downstream_.read_some(in_.prepare(4096));
      if (ec) {
        if (watchdog_.expired() && !in_.empty()) {
          co_await reply(408, LocalReason::kHeaderTimeout, "the request head did not arrive in time",
                         true);
        }
        co_return false;
      }
      in_.commit(n);
      stats_.bytes_received.add(n);
    }
    tracked_.idle = false;
    co_return true;
  }

  // A local reply. `reason_name` overrides the reason's name in x-strait-reason (the parser's
  // error names, such as obs_fold, are more precise than malformed_request).
  asio::awaitable<void> reply(int status, LocalReason reason, std::string_view detail, bool close,
                              std::string_view reason_name = {}) {
    worker_.stats().count(reason);
    // A request refused before its head was whole (malformed, too slow) is reported too.
    const std::shared_ptr<const Snapshot> snapshot = worker_.snapshot();
    if (!telemetry_.active()) telemetry_.begin(*snapshot, 0, {});
    telemetry_.local_reply(status, reason);
    std::string response =
        build_local_reply(status, reason_name.empty() ? name_of(reason) : reason_name, detail, close);
    watchdog_.arm(limits_.stream_idle_timeout, &downstream_);
    co_await downstream_.write_all(asio::buffer(response));
    stats_.bytes_sent.add(response.size());
    telemetry_.add_response_bytes(response.size());
    telemetry_.finish();  // (a snapshot swap during the write must not outlive it)
  }

  // A response of the proxy's own to `request` (route answers, rate limits). True when the
  // connection may carry another request. A small Content-Length body is read and dropped first,
  // so the connection stays usable; after any other body the connection closes, lingering
  // (run()) so that the unread body does not make the kernel reset the connection, and the
  // answer with it.
  asio::awaitable<bool> answer(const http::RequestHead& request, const LocalResponse& response) {
    bool close = !request.keep_alive;
    std::size_t request_size = request.head_size;
    if (request.framing == http::BodyFraming::kContentLength &&
        request.head_size + request.content_length <= limits_.max_head_size) {
      request_size += request.content_length;
      const bool whole = co_await read_body_whole(request_size);
      if (!whole) co_return false;
    } else if (request.framing != http::BodyFraming::kNone) {
      close = true;
      linger_ = true;
    }
    worker_.stats().count(response.reason);
    telemetry_.local_reply(response.status, response.reason);
    telemetry_.add_request_bytes(request_size - request.head_size);
    const std::string bytes = build_local_response(response, close, request.method == "HEAD");
    watchdog_.arm(limits_.stream_idle_timeout, &downstream_);
    co_await downstream_.write_all(asio::buffer(bytes));
    stats_.bytes_sent.add(bytes.size());
    telemetry_.add_response_bytes(bytes.size());
    if (!close) in_.consume(request_size);
    co_return !close;
  }

  // After our half-close: reads and drops what the client still sends, until it closes, for at
  // most kLingerTime and kLingerBytes.
  asio::awaitable<void> drain_before_close() {
    watchdog_.arm(kLingerTime, &downstream_);  // never touched: a deadline
    std::size_t drained = 0;
    while (drained < kLingerBytes) {
      in_.consume(in_.size());
      auto [ec, n] = co_await downstream_.read_some(in_.prepare(16 * 1024));
      if (ec) break;
      drained += n;
    }
    watchdog_.disarm();
  }

  // The request's path to send and, for absolute-form targets, the authority it names.
  struct Target {
    std::string_view path;
    std::string_view authority;          // non-empty: absolute form, replaces Host
    std::string_view request_authority;  // the authority the request named (absolute form or Host)
  };

  std::expected<Destination, RouteError> route(const http::RequestHead& request,
                                               const Snapshot& snapshot, Target& target) {
    target.path = request.target;
    std::string_view authority;
    if (request.target.size() > 7 && iequals(request.target.substr(0, 7), "http://")) {
      const std::string_view rest = request.target.substr(7);
      const auto slash = rest.find_first_of("/?");
      authority = rest.substr(0, slash);
      target.path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
      target.authority = authority;
    } else if (!request.target.starts_with('/') && request.target != "*") {
      return std::unexpected(RouteError{400, LocalReason::kMalformedRequest,
                                        "unsupported request target (use origin form, http:// "
                                        "absolute form, or CONNECT for TLS)"});
    } else if (const auto* host = request.find("host")) {
      authority = host->value;
    }
    target.request_authority = authority;
    std::uint16_t stated_port = 0;
    if (info_.plaintext) {
      const auto* stated = request.find(kStatedPortHeader);
      stated_port = parse_stated_port(
          stated != nullptr ? std::optional<std::string_view>(stated->value) : std::nullopt);
    }
    auto destination = route_request(snapshot, info_, authority, stated_port);
    if (destination && destination->service != nullptr) {
      RequestAttributes attributes{request.method, target.path, authority, destination->port, &request,
                                   &find_h1_header};
      attributes.source_ip = info_.source_ip;
      if (auto routed = select_http_route(*destination, attributes, worker_.random()); !routed)
        return std::unexpected(routed.error());
      destination->hash = hash_key(*destination, attributes);
    }
    return destination;
  }

  // Reads until in_ holds the next `size` bytes (a request body held whole for retries). False when
  // the client went away or stalled.
  asio::awaitable<bool> read_body_whole(std::size_t size) {
    watchdog_.arm(limits_.stream_idle_timeout, &downstream_);
    while (in_.size() < size) {
      auto [ec, n] = co_await downstream_.read_some(in_.prepare(size - in_.size()));
      if (ec) co_return false;
      in_.commit(n);
      stats_.bytes_received.add(n);
      watchdog_.touch();
    }
    co_return true;
  }

  // Repeated fields joined for policies (joined_field.h).
  static std::optional<std::string_view> find_h1_header_joined(const void* context,
                                                               std::string_view name) {
    return joined_field(
        static_cast<const http::RequestHead*>(context)->headers,
        [](const http::HeaderField& f) { return std::pair(f.name, f.value); },
        [&](std::string_view n) { return iequals(n, name); });
  }

  static std::optional<std::string_view> find_h1_header(const void* context, std::string_view name) {
    const auto* field = static_cast<const http::RequestHead*>(context)->find(name);
    return field != nullptr ? std::optional<std::string_view>(field->value) : std::nullopt;
  }

  asio::awaitable<ConnectOutcome> connect(const Destination& d, const Snapshot& snapshot,
                                          std::string_view alpn, bool pooled) {
    if (d.service == nullptr) co_return co_await connect_to_app(worker_, snapshot, d.app_port, pooled);
    co_return co_await connect_to_service(worker_, snapshot, *d.service, d.port, alpn, pooled, d.subset, d.hash,
                                          d.avoid_endpoint);
  }

  // A connection for `d`; when the service's maxConnections are all open, the request waits as a
  // pending request (at most http1MaxPendingRequests of them, across workers) for one to be freed,
  // looking every millisecond, up to the connect timeout.
  asio::awaitable<ConnectOutcome> connect_or_wait(const Destination& d, const Snapshot& snapshot, bool pooled) {
    auto outcome = co_await connect(d, snapshot, tls::kAlpnHttp11, pooled);
    if (outcome.connection || outcome.failure != LocalReason::kUpstreamOverflow) co_return outcome;
    const ResolvedCluster& cluster = *d.cluster();
    const ConnectionPoolPolicy& pool = cluster.pool();
    CircuitSlot pending(cluster.circuit->pending, pool.max_pending_requests);
    if (!pending.held()) {
      outcome.detail = cluster.name + ": connectionPool.tcp.maxConnections (" +
                       std::to_string(pool.max_connections) +
                       ") reached and connectionPool.http.http1MaxPendingRequests (" +
                       std::to_string(pool.max_pending_requests) + ") waiting";
      co_return outcome;
    }
    const auto wait =
        pool.connect_timeout.count() > 0 ? pool.connect_timeout : limits_.connect_timeout;
    const auto give_up = Clock::now() + wait;
    while (Clock::now() < give_up) {
      co_await net::sleep_for(std::chrono::milliseconds(1));
      outcome = co_await connect(d, snapshot, tls::kAlpnHttp11, pooled);
      if (outcome.connection || outcome.failure != LocalReason::kUpstreamOverflow) co_return outcome;
    }
    outcome.detail =
        cluster.name +
        ": no connection freed within the connect timeout (connectionPool.tcp.maxConnections " +
        std::to_string(pool.max_connections) + ")";
    co_return outcome;
  }

  static int status_for_connect_failure(LocalReason reason) {
    return reason == LocalReason::kUpstreamConnectTimeout ? 504 : 503;
  }

  asio::awaitable<HeadRead> read_response_head(UpstreamConnection& up, std::string_view method,
                                               http::ResponseHead& response) {
    bool received = !up.buffer.empty();
    while (true) {
      if (!up.buffer.empty()) {
        const auto parsed = http::parse_response_head(up.buffer.data(), parser_limits_, method, response);
        if (parsed.status == http::ParseStatus::kComplete) co_return HeadRead::kOk;
        if (parsed.status == http::ParseStatus::kError || up.buffer.full()) co_return HeadRead::kMalformed;
      }
      auto [ec, n] = co_await up.stream.read_some(up.buffer.prepare(16 * 1024));
      if (ec) {
        if (watchdog_.expired()) co_return HeadRead::kTimeout;
        co_return received ? HeadRead::kFailed : HeadRead::kClosedBeforeResponse;
      }
      received = true;
      up.buffer.commit(n);
      watchdog_.touch();
    }
  }

  // CONNECT host:port: an opaque tunnel to the service over mTLS.
  asio::awaitable<void> tunnel(const http::RequestHead& request, const Snapshot& snapshot) {
    auto authority = split_authority(request.target);
    if (!authority || authority->port == 0) {
      co_await reply(400, LocalReason::kMalformedRequest, "CONNECT needs host:port", true);
      co_return;
    }
    const ResolvedService* service = snapshot.find_service(authority->host);
    if (service == nullptr) {
      const std::string detail = "'" + std::string(authority->host) + "' is not a service of the mesh";
      co_await reply(404, LocalReason::kNoRoute, detail, true);
      co_return;
    }
    const auto& ports = service->service->ports;
    if (std::ranges::none_of(ports, [&](const ServicePort& p) { return p.port == authority->port; })) {
      const std::string detail = service->service->fqdn + " has no port " + std::to_string(authority->port);
      co_await reply(404, LocalReason::kNoRoute, detail, true);
      co_return;
    }
    in_.consume(request.head_size);
    // The VirtualService's tcp[] and tls[] routes choose where the tunnel goes. tls[] routes need
    // the SNI of the app's ClientHello, which comes only after the tunnel is established: then the
    // 200 goes first, and a failure to connect closes the tunnel instead of answering 503.
    Destination d{.service = service, .port = authority->port};
    d.protocol = std::ranges::find_if(ports, [&](const ServicePort& p) {
                   return p.port == authority->port;
                 })->protocol;
    static constexpr std::string_view kEstablished = "HTTP/1.1 200 Connection Established\r\n\r\n";
    const bool sniff = d.protocol == Protocol::kTls && !service->tls_routes.empty();
    std::string sni;
    if (sniff) {
      if (co_await downstream_.write_all(asio::buffer(kEstablished))) co_return;
      const SniffedHello hello =
          co_await sniff_server_name(downstream_, in_, limits_.header_read_timeout);
      if (hello.peer_closed) co_return;  // nothing to relay (and no read after EOF)
      sni = hello.server_name;
    }
    if (auto routed = select_l4_route(d, sni, worker_.random()); !routed) {
      if (!sniff)
        co_await reply(routed.error().status, routed.error().reason, routed.error().detail, true);
      else
        worker_.stats().count(routed.error().reason);
      co_return;
    }
    RequestAttributes source;  // a tunnel has no request to hash: only useSourceIp applies
    source.source_ip = info_.source_ip;
    d.hash = hash_key(d, source);
    auto outcome = co_await connect_to_service(worker_, snapshot, *d.service, d.port, tls::kAlpnTcp,
                                               false, d.subset, d.hash);
    if (!outcome.connection) {
      if (!sniff)
        co_await reply(status_for_connect_failure(outcome.failure), outcome.failure, outcome.detail,
                       true);
      else
        worker_.stats().count(outcome.failure);
      co_return;
    }
    if (!sniff) {  // (no co_await inside &&: GCC 12)
      if (co_await downstream_.write_all(asio::buffer(kEstablished))) co_return;
    }
    ConnectionTelemetry telemetry(
        worker_, snapshot, info_, {},
        {.service = d.service, .endpoint = outcome.endpoint, .port = d.port}, 0);
    co_await relay_with(*outcome.connection, d.cluster()->pool().tcp_idle_timeout, &telemetry);
  }

  // `idle_timeout` (0: the proxy's tunnel idle timeout) ends the relay when no byte moves.
  // `telemetry`: a CONNECT tunnel's istio_tcp_* series (an upgrade has none: its request counted).
  asio::awaitable<void> relay_with(UpstreamConnection& up,
                                   std::chrono::milliseconds idle_timeout = {},
                                   ConnectionTelemetry* telemetry = nullptr) {
    stats_.tunnels_total.add();
    watchdog_.arm(idle_timeout.count() > 0 ? idle_timeout : limits_.tunnel_idle_timeout,
                  &downstream_, &up.stream);
    RelayTally sent{.live = telemetry != nullptr ? telemetry->received() : nullptr};
    RelayTally received{.live = telemetry != nullptr ? telemetry->sent() : nullptr};
    co_await relay(downstream_, in_, up.stream, up.buffer, watchdog_, sent, received);
    stats_.bytes_received.add(sent.bytes);
    stats_.bytes_sent.add(received.bytes);
    if (telemetry != nullptr) telemetry->set_bytes(sent.bytes, received.bytes);
    watchdog_.disarm();
    up.stream.close();
  }

  // Serves one request. True when the connection may carry another.
  // This hop's span, from the request's trace headers (trace_context.h).
  void begin_span(const http::RequestHead& request, const Target& target) {
    TraceHeaders incoming;
    for (const auto& field : request.headers) note_trace_header(incoming, field.name, field.value);
    const auto* request_id = request.find("x-request-id");
    const auto* user_agent = request.find("user-agent");
    telemetry_.begin_span(incoming,
                          {.method = request.method,
                           .authority = target.request_authority,
                           .path = target.path,
                           .protocol = request.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1",
                           .request_id = request_id ? request_id->value : std::string_view{},
                           .user_agent = user_agent ? user_agent->value : std::string_view{}});
  }

  asio::awaitable<bool> serve_one() {
    // The heads and serialization buffers are members, reused request after request: their
    // capacity stays, so a request costs no allocation for them.
    http::RequestHead& request = request_;
    watchdog_.clear_deadline();  // the previous request's route timeout
    if (!co_await read_head(request)) co_return false;
    stats_.requests_total.add();
    const std::shared_ptr<const Snapshot> snapshot = worker_.snapshot();

    if (iequals(request.method, "CONNECT")) {
      if (info_.kind != ListenerKind::kOutbound) {
        co_await reply(405, LocalReason::kMethodNotAllowed,
                       "CONNECT is accepted on the outbound listener only", true);
        co_return false;
      }
      co_await tunnel(request, *snapshot);
      co_return false;
    }
    const auto* content_type = request.find("content-type");
    telemetry_.begin(*snapshot, request.head_size,
                     content_type != nullptr ? content_type->value : std::string_view{});
    // Declared after `snapshot`: the request is recorded before its snapshot may go.
    const TelemetryScope record_on_exit(telemetry_);
    if (info_.kind == ListenerKind::kInbound && !info_.plaintext) {
      if (const auto* peer = request.find(kPeerMetadataHeader)) telemetry_.set_peer(peer->value);
    }

    Target target;
    auto destination = route(request, *snapshot, target);
    if (destination) telemetry_.set_destination(*destination);
    begin_span(request, target);
    if (!destination) {
      // Without a destination the body cannot be skipped safely: close when there is one.
      const bool close = request.framing != http::BodyFraming::kNone || !request.keep_alive;
      linger_ =
          request.framing != http::BodyFraming::kNone;  // the unread body must not reset the reply
      co_await reply(destination.error().status, destination.error().reason,
                     destination.error().detail, close);
      if (!close) in_.consume(request.head_size);
      co_return !close;
    }

    // An inbound request passes the workload's authorization policies, then its rate limits.
    if (info_.kind == ListenerKind::kInbound &&
        (!snapshot->config->authorization.empty() || !snapshot->config->jwt_rules.empty())) {
      const RequestAttributes attributes{request.method,    target.path, target.request_authority,
                                         destination->port, &request,    &find_h1_header_joined};
      if (auto denied =
              check_authorization(snapshot->config->authorization, snapshot->config->jwt_rules,
                                  info_, attributes, destination->app_port, worker_.stats())) {
        co_return co_await answer(request, *denied);
      }
    }
    if (info_.kind == ListenerKind::kInbound && !snapshot->rate_limits.empty()) {
      const RequestAttributes attributes{request.method,    target.path, target.request_authority,
                                         destination->port, &request,    &find_h1_header};
      if (auto refused = check_rate_limits(snapshot->rate_limits, attributes, info_.peer_identity,
                                           steady_now_ns())) {
        co_return co_await answer(request, *refused);
      }
    }

    // The matched route may answer itself (CORS preflight, directResponse, redirect, fault abort),
    // hold the request back (fault delay) before it goes upstream, or add CORS fields to the answer.
    std::vector<std::pair<std::string, std::string>> answer_fields;  // set on the upstream's answer
    if (destination->route != nullptr) {
      const RequestAttributes attributes{request.method, target.path, target.request_authority, destination->port,
                                         &request, &find_h1_header};
      RouteAction action = route_action(*destination, attributes, worker_.random(), worker_.random());
      answer_fields = std::move(action.response_fields);
      if (action.delay.count() > 0) {
        worker_.stats().fault_delays.add();
        telemetry_.add_flag(kFlagDelayInjected);
        co_await net::sleep_for(action.delay);
      }
      if (action.respond) co_return co_await answer(request, *action.respond);
    }
    // A consistent hash on a cookie the request lacks: a generated one, set on the answer.
    if (auto cookie = generate_hash_cookie(*destination, worker_.random()))
      answer_fields.push_back(std::move(*cookie));

    // Everything needed after the head leaves the buffer is copied or serialized now.
    const std::string method(request.method);
    const auto framing = request.framing;
    const auto content_length = request.content_length;
    const bool client_keep_alive = request.keep_alive;
    const bool client_http10 = request.version_minor == 0;
    // Expect: 100-continue is answered here and not forwarded (as Envoy does): an application
    // that ignores Expect cannot then stall the request, and the body streams as usual.
    const bool expect_continue = request.expect_continue && framing != http::BodyFraming::kNone;
    const bool upgrade = request.upgrade;
    std::string request_id;
    if (request.find("x-request-id") == nullptr)
      request_id = format_request_id(worker_.random(), worker_.random());
    RequestEdits edits;
    edits.path = target.path;
    edits.authority = target.authority;
    std::string binding_authority;
    if (info_.kind == ListenerKind::kUpstreamBinding && target.authority.empty()) {
      // The app called a local port; the server should see the service it reached.
      binding_authority = info_.fixed_host + ":" + std::to_string(info_.fixed_port);
      edits.authority = binding_authority;
    }
    // The route's rewrite and header edits.
    std::string path_after_rewrite;
    if (destination->route != nullptr && destination->route->rewrite) {
      const Rewrite& rewrite = *destination->route->rewrite;
      if (auto path = rewritten_path(rewrite, destination->match, target.path)) {
        path_after_rewrite = std::move(*path);
        edits.path = path_after_rewrite;
      }
      if (!rewrite.authority.empty()) edits.authority = rewrite.authority;
    }
    edits.headers = destination->request_edits();
    edits.request_id = request_id;
    if (!request_id.empty()) telemetry_.set_request_id(request_id);
    edits.trace = telemetry_.outgoing_trace();
    edits.add_forwarded_proto = request.find("x-forwarded-proto") == nullptr;
    edits.client_cert = client_cert_;
    // A sidecar tells the sidecars it calls who calls (their metrics' source_* labels).
    if (destination->service != nullptr && destination->service->all_sidecars)
      edits.peer_metadata = snapshot->peer_metadata;
    if (destination->service != nullptr && destination->cluster()->states_port)
      edits.stated_port = destination->port;
    // An h2c-only application (this sidecar's own app, or a mesh endpoint without a sidecar) gets
    // this request translated to HTTP/2; a peer sidecar takes HTTP/1.1 as it is.
    const bool h2_only = destination->protocol == Protocol::kHttp2 || destination->protocol == Protocol::kGrpc;
    const bool to_plain_endpoint =
        destination->service != nullptr &&
        std::ranges::any_of(destination->service->service->endpoints, [](const Endpoint& e) { return !e.mtls; });
    if (!upgrade && h2_only && (destination->service == nullptr || to_plain_endpoint)) {
      H1ToH2Request translated{.headers = build_h2_request(request, edits),
                               .framing = framing,
                               .content_length = content_length,
                               .head_method = method == "HEAD",
                               .client_http10 = client_http10,
                               .client_keep_alive = client_keep_alive};
      in_.consume(request.head_size);
      if (expect_continue) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        if (co_await downstream_.write_all(asio::buffer(kContinue))) co_return false;
      }
      watchdog_.arm(limits_.stream_idle_timeout, &downstream_);
      const bool keep = co_await forward_h1_as_h2(worker_, *snapshot, *destination, downstream_,
                                                  in_, translated, watchdog_, stats_, telemetry_);
      watchdog_.disarm();
      co_return keep && !worker_.draining();
    }
    // The destination's connectionPool.http.http2MaxRequests: past it, 503 at once.
    std::string overflow;
    const CircuitSlot request_slot = take_request_slot(*destination, overflow);
    if (!request_slot.held()) {
      const bool close = framing != http::BodyFraming::kNone || !client_keep_alive;
      linger_ = framing != http::BodyFraming::kNone;  // the unread body must not reset the reply
      co_await reply(503, LocalReason::kUpstreamOverflow, overflow, close);
      if (!close) in_.consume(request.head_size);
      co_return !close;
    }
    std::string& upstream_head = upstream_head_;
    write_request_head(request, edits, upstream_head);
    // The route's mirrors get the same request with a "-shadow" authority.
    std::vector<MirrorCopy> mirrors;
    std::string mirror_head;
    if (!upgrade && destination->route != nullptr && !destination->route->mirrors.empty()) {
      mirrors = mirror_copies(*destination, *snapshot, worker_);
      if (!mirrors.empty()) {
        RequestEdits mirror_edits = edits;
        const std::string shadow =
            shadow_authority(edits.authority.empty() ? target.request_authority : edits.authority);
        mirror_edits.authority = shadow;
        mirror_edits.stated_port = 0;  // the primary destination's port, not the mirror's
        write_request_head(request, mirror_edits, mirror_head);
      }
    }
    in_.consume(request.head_size);

    if (expect_continue) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      if (co_await downstream_.write_all(asio::buffer(kContinue))) co_return false;
    }
    // Calls to mesh services follow the route's retry policy and timeout (upgrades do not).
    const RetryPolicy* policy = upgrade ? nullptr : destination->retry_policy();
    // A body small enough for the head buffer is read whole and sent with the head, so that a retry
    // can send it again; a longer or chunked body streams once and is retried only on a connect
    // failure (before any of it is read).
    bool body_sent = framing == http::BodyFraming::kNone;
    const bool wants_whole_body = (policy != nullptr && policy->attempts > 0) || !mirrors.empty();
    if (wants_whole_body && framing == http::BodyFraming::kContentLength && content_length <= limits_.max_head_size) {
      if (!co_await read_body_whole(static_cast<std::size_t>(content_length))) co_return false;
      const std::string_view body = in_.data().substr(0, static_cast<std::size_t>(content_length));
      upstream_head.append(body);
      if (!mirrors.empty()) mirror_head.append(body);
      in_.consume(static_cast<std::size_t>(content_length));
      telemetry_.add_request_bytes(content_length);
      body_sent = true;
    }
    if (!mirrors.empty()) {
      if (body_sent) {
        for (const auto& copy : mirrors) {
          std::string bytes = mirror_head;
          std::shared_ptr<const Snapshot> held = snapshot;
          asio::co_spawn(worker_.io(), send_h1_mirror(worker_, std::move(held), copy, std::move(bytes)), asio::detached);
        }
      } else {
        worker_.stats().mirror_skipped.add();  // a chunked or long body streams once, to the destination only
      }
    }
    const bool replayable = body_sent;
    // The route's timeout runs from here (the request held whole, or its head sent on).
    const auto route_deadline = upgrade || destination->timeout().count() == 0
                                    ? Clock::time_point::max()
                                    : Clock::now() + destination->timeout();
    watchdog_.set_deadline(route_deadline);
    RetryState retry(worker_, policy, destination->cluster());
    auto& worker_stats = worker_.stats();
    http::ResponseHead& response = response_;
    std::unique_ptr<UpstreamConnection> up;
    std::optional<EndpointRequest> in_flight;  // this try, on its endpoint (least request)
    HeadRead head_read = HeadRead::kFailed;
    while (true) {  // one try per turn
      const bool per_try = policy != nullptr && policy->per_try_timeout.count() > 0;
      auto outcome = co_await connect_or_wait(*destination, *snapshot, !upgrade);
      if (policy != nullptr && policy->avoid_previous_host) destination->avoid_endpoint = outcome.endpoint;
      if (!outcome.connection) {
        const bool overflow = outcome.failure == LocalReason::kUpstreamOverflow;
        if (!overflow) {  // (no co_await inside &&: GCC 12)
          const bool again = co_await retry.again(AttemptFailure::kConnectFailure, route_deadline);
          if (again) continue;
        }
        const bool close = !body_sent || !client_keep_alive;
        linger_ = !body_sent;  // the body is still coming: it must not reset the reply
        co_await reply(status_for_connect_failure(outcome.failure), outcome.failure, outcome.detail, close);
        co_return !close;
      }
      up = std::move(outcome.connection);
      std::size_t try_endpoint = outcome.endpoint;
      telemetry_.set_endpoint(try_endpoint);
      in_flight.reset();
      if (destination->service != nullptr && try_endpoint != kNoEndpoint)
        in_flight.emplace(worker_, destination->service->endpoint_names[try_endpoint]);
      if (per_try) watchdog_.set_deadline(std::min(route_deadline, Clock::now() + policy->per_try_timeout));

      // Send the head (and body), then read the response head. A pooled connection that the
      // upstream closed while idle fails before any response byte: such a request is sent again once
      // on a fresh connection when that is safe (the whole request held here, idempotent method).
      int stale_retries = body_sent && is_idempotent(method) ? 1 : 0;
      while (true) {
        worker_stats.upstream_requests_total.add();
        telemetry_.upstream_started();
        watchdog_.arm(limits_.stream_idle_timeout, &downstream_, &up->stream);
        // A request held whole is written alone (so that it can be sent again); otherwise the head
        // goes out together with the body bytes already received.
        std::error_code write_error;
        if (body_sent) write_error = co_await up->stream.write_all(asio::buffer(upstream_head));
        if (!write_error) {
          if (!body_sent) {
            std::uint64_t bytes = 0;
            const BodyTransfer transfer{framing, content_length, false, upstream_head};
            const auto sent = co_await forward_body(downstream_, in_, up->stream, transfer, watchdog_, bytes);
            stats_.bytes_received.add(bytes);
            telemetry_.add_request_bytes(bytes);
            if (sent == BodyOutcome::kReadFailed) {  // the client went away
              telemetry_.add_flag(kFlagDownstreamTermination);
              co_return false;
            }
            if (sent == BodyOutcome::kMalformed) {
              co_await reply(400, LocalReason::kMalformedRequest, "invalid chunked framing in the body",
                             true, "invalid_chunked_body");
              co_return false;
            }
            if (sent == BodyOutcome::kWriteFailed) {
              linger_ = true;  // the rest of the body is still coming
              co_await reply(502, LocalReason::kUpstreamResetBeforeResponse,
                             "the upstream closed while the request body was sent", true);
              co_return false;
            }
            body_sent = true;
          }
          head_read = co_await read_response_head(*up, method, response);
        } else {
          head_read = HeadRead::kClosedBeforeResponse;
        }
        if (head_read == HeadRead::kClosedBeforeResponse && up->reused && stale_retries-- > 0) {
          worker_stats.upstream_retries.add();
          up->stream.close();
          auto fresh = co_await connect(*destination, *snapshot, tls::kAlpnHttp11, false);
          if (!fresh.connection) {
            co_await reply(status_for_connect_failure(fresh.failure), fresh.failure, fresh.detail,
                           !client_keep_alive);
            co_return client_keep_alive;
          }
          up = std::move(fresh.connection);
          try_endpoint = fresh.endpoint;
          telemetry_.set_endpoint(try_endpoint);
          continue;
        }
        break;
      }
      if (head_read == HeadRead::kOk) telemetry_.upstream_answered();
      // Interim responses: 100 Continue releases the body; others (102, 103) are relayed as they are.
      while (head_read == HeadRead::kOk && response.status >= 100 && response.status < 200 &&
             response.status != 101) {
        if (!client_http10 && response.status != 100) {
          std::string interim;
          write_response_head(response, {}, interim);
          if (co_await downstream_.write_all(asio::buffer(interim))) co_return false;
        }
        up->buffer.consume(response.head_size);
        head_read = co_await read_response_head(*up, method, response);
      }
      // Whether this try's outcome calls for another (the route's policy, the retry budget, a
      // request that can be sent again, time left before the route's deadline).
      const bool timed_out = head_read == HeadRead::kTimeout && watchdog_.deadline_passed();
      const bool route_timed_out = timed_out && Clock::now() >= route_deadline;
      if (timed_out && !route_timed_out) worker_stats.per_try_timeouts.add();
      // Outlier detection learns from every try on a mesh endpoint.
      if (destination->service != nullptr && try_endpoint != kNoEndpoint) {
        if (head_read == HeadRead::kOk) {
          worker_.outliers().record_status(*destination->cluster(), try_endpoint, response.status,
                                           Clock::now());
        } else {
          worker_.outliers().record_local_failure(*destination->cluster(), try_endpoint,
                                                  Clock::now());
        }
      }
      bool again = false;
      if (replayable && !route_timed_out) {
        if (head_read == HeadRead::kOk) {
          const auto* grpc = response.find("grpc-status");
          std::optional<int> grpc_status;
          int parsed = 0;
          if (grpc != nullptr &&
              std::from_chars(grpc->value.data(), grpc->value.data() + grpc->value.size(), parsed).ec == std::errc{})
            grpc_status = parsed;
          if (policy != nullptr && retriable(*policy, response.status, grpc_status,
                                             response.find("x-envoy-ratelimited") != nullptr))
            again = co_await retry.again_for_response(route_deadline);
        } else if (timed_out) {
          again = co_await retry.again(AttemptFailure::kPerTryTimeout, route_deadline);
        } else if (head_read == HeadRead::kClosedBeforeResponse || head_read == HeadRead::kFailed) {
          again = co_await retry.again(AttemptFailure::kReset, route_deadline);
        }
      }
      if (!again) break;
      up->stream.close();  // the answer is not wanted; the connection is not reused
      watchdog_.set_deadline(route_deadline);
    }
    watchdog_.set_deadline(route_deadline);  // a perTryTimeout bounds the wait for the head only
    if (head_read != HeadRead::kOk) {
      up->stream.close();
      const bool timed_out = head_read == HeadRead::kTimeout && watchdog_.deadline_passed();
      switch (head_read) {
        case HeadRead::kTimeout:
          if (timed_out) {
            const bool route_timed_out = Clock::now() >= route_deadline;
            if (route_timed_out) worker_stats.route_timeouts.add();
            co_await reply(504, LocalReason::kUpstreamResponseTimeout,
                           route_timed_out ? "no response within the route's timeout"
                                           : "no response within the route's perTryTimeout",
                           true);
          } else {
            co_await reply(504, LocalReason::kUpstreamTimeout, "no response within the stream idle timeout", true);
          }
          break;
        case HeadRead::kMalformed:
          co_await reply(502, LocalReason::kUpstreamProtocolError, "malformed response head", true);
          break;
        default:
          co_await reply(502, LocalReason::kUpstreamResetBeforeResponse,
                         "the upstream closed the connection before responding", !client_keep_alive || !body_sent);
          co_return client_keep_alive && body_sent;
      }
      co_return false;
    }

    const bool upgraded = response.status == 101 && upgrade;
    if (response.status == 101 && !upgrade) {
      co_await reply(502, LocalReason::kUpstreamProtocolError, "101 without an upgrade request", true);
      co_return false;
    }
    const bool dechunk = response.framing == http::BodyFraming::kChunked && client_http10;
    const bool close_downstream = !client_keep_alive || worker_.draining() || !body_sent ||
                                  response.framing == http::BodyFraming::kUntilClose || dechunk;
    ResponseEdits response_edits{.close = close_downstream,
                                 .keep_alive_10 = client_http10 && !close_downstream,
                                 .dechunk = dechunk,
                                 .upgrade = upgraded,
                                 .headers = destination->response_edits(),
                                 .fields = answer_fields.empty() ? nullptr : &answer_fields};
    std::string& downstream_head = downstream_head_;
    write_response_head(response, response_edits, downstream_head);
    telemetry_.set_status(response.status);
    if (const auto* grpc = response.find("grpc-status")) telemetry_.note_grpc_status(grpc->value);
    telemetry_.add_response_bytes(downstream_head.size());
    const bool upstream_reusable = response.keep_alive && body_sent && !upgraded &&
                                   response.framing != http::BodyFraming::kUntilClose;
    up->buffer.consume(response.head_size);
    stats_.bytes_sent.add(downstream_head.size());
    if (upgraded) {
      if (co_await downstream_.write_all(asio::buffer(downstream_head))) co_return false;
      co_await relay_with(*up);
      co_return false;
    }
    // The head goes out with the body bytes already buffered: one write for a small response.
    std::uint64_t bytes = 0;
    const BodyTransfer transfer{response.framing, response.content_length, dechunk, downstream_head};
    const auto forwarded = co_await forward_body(up->stream, up->buffer, downstream_, transfer,
                                                 watchdog_, bytes);
    stats_.bytes_sent.add(bytes);
    telemetry_.add_response_bytes(bytes);
    if (forwarded == BodyOutcome::kWriteFailed) telemetry_.add_flag(kFlagDownstreamTermination);
    if (forwarded == BodyOutcome::kReadFailed || forwarded == BodyOutcome::kMalformed)
      telemetry_.add_flag(kFlagUpstreamTermination);
    if (forwarded != BodyOutcome::kComplete && watchdog_.expired() && watchdog_.deadline_passed())
      worker_stats.route_timeouts.add();  // cut off mid-body: the connection closes
    watchdog_.disarm();
    if (forwarded != BodyOutcome::kComplete) co_return false;
    // connectionPool.http.maxRequestsPerConnection: a connection that has served its share closes.
    const std::uint32_t per_connection =
        destination->service != nullptr ? destination->cluster()->pool().max_requests_per_connection
                                        : 0;
    if (upstream_reusable && (per_connection == 0 || ++up->requests < per_connection)) {
      worker_.pool().give_back(std::move(up), limits_.max_idle_upstream_per_endpoint);
    }
    in_.shrink_if_idle();
    co_return !close_downstream;
  }

  Worker& worker_;
  net::Stream downstream_;
  DownstreamInfo info_;
  ListenerStats& stats_;
  const Limits limits_;
  const http::ParserLimits parser_limits_;
  net::ReadBuffer in_;
  net::Watchdog watchdog_;
  TrackedConnection tracked_;
  std::string client_cert_;
  http::RequestHead request_;
  http::ResponseHead response_;
  std::string upstream_head_;
  std::string downstream_head_;
  bool linger_ = false;  // an answer left a request body unread: drain it before closing
  RequestTelemetry telemetry_{worker_, info_};  // the request being served
};

}  // namespace

asio::awaitable<void> serve_http(Worker& worker, net::Stream downstream, DownstreamInfo info) {
  HttpSession session(worker, std::move(downstream), std::move(info));
  co_await session.run();
}

}  // namespace strait::proxy
