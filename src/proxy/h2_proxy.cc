#include "proxy/h2_proxy.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <charconv>

#include "http/parser.h"
#include "net/event.h"
#include "net/sleep.h"
#include "net/stream.h"
#include "proxy/authorization_filter.h"
#include "proxy/h2_upstreams.h"
#include "proxy/http_head_writer.h"
#include "proxy/joined_field.h"
#include "proxy/mirror.h"
#include "proxy/peer_metadata.h"
#include "proxy/rate_limit_filter.h"
#include "proxy/request_telemetry.h"
#include "proxy/retry_state.h"
#include "proxy/trace_context.h"
#include "proxy/upstream_connector.h"

namespace strait::proxy {
namespace {

using http2::H2Connection;
using http2::H2Stream;
using http2::HeaderList;
using Kind = H2Stream::Received::Kind;
using Clock = std::chrono::steady_clock;


struct RequestView {
  std::string method;
  std::string scheme;
  std::string authority;
  std::string path;
  bool has_request_id = false;
  bool expects_continue = false;
  bool has_forwarded_proto = false;
};

std::optional<std::string_view> find_h2_header(const void* context, std::string_view name) {
  for (const auto& [n, value] : *static_cast<const HeaderList*>(context)) {
    if (n == name) return std::string_view(value);
  }
  return std::nullopt;
}

// Repeated fields joined for policies (joined_field.h).
std::optional<std::string_view> find_h2_header_joined(const void* context, std::string_view name) {
  return joined_field(
      *static_cast<const HeaderList*>(context),
      [](const auto& f) {
        return std::pair<std::string_view, std::string_view>(f.first, f.second);
      },
      [&](std::string_view n) { return n == name; });
}

RequestView read_pseudo_headers(const HeaderList& headers) {
  RequestView r;
  for (const auto& [name, value] : headers) {
    if (name == ":method") r.method = value;
    else if (name == ":scheme") r.scheme = value;
    else if (name == ":authority") r.authority = value;
    else if (name == ":path") r.path = value;
    else if (name == "host" && r.authority.empty()) r.authority = value;
    else if (name == "x-request-id") r.has_request_id = true;
    else if (name == "x-forwarded-proto") r.has_forwarded_proto = true;
    else if (name == "expect") r.expects_continue = value == "100-continue";
  }
  return r;
}

// Fields that HTTP/2 forbids or that describe one hop only (RFC 9113 8.2.2).
bool is_connection_specific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade" || name == "host";
}

// A response the proxy makes itself. Callers pass named strings only (GCC 12, see ARCHITECTURE.md).
asio::awaitable<void> send_local_reply(H2Stream& stream, int status, LocalReason reason,
                                       std::string_view detail, Worker& worker) {
  worker.stats().count(reason);
  const std::string body = fmt::format("{}: {}\n", name_of(reason), detail);
  const HeaderList head{{":status", std::to_string(status)},
                        {"content-type", "text/plain"},
                        {"content-length", std::to_string(body.size())},
                        {"x-strait-reason", std::string(name_of(reason))}};
  if (stream.send_headers(head, false)) co_await stream.send_data(body, true);
}

// A response the route asks for; a gRPC abort is a trailers-only response (HTTP 200 with
// grpc-status), as gRPC clients expect.
asio::awaitable<void> send_route_response(H2Stream& stream, const LocalResponse& response, Worker& worker,
                                          bool head_request) {
  worker.stats().count(response.reason);
  HeaderList head{{":status", std::to_string(response.status)},
                  {"x-strait-reason", std::string(name_of(response.reason))}};
  if (!response.location.empty()) head.emplace_back("location", response.location);
  if (response.grpc_status >= 0) {
    head.emplace_back("content-type", "application/grpc");
    head.emplace_back("grpc-status", std::to_string(response.grpc_status));
    head.emplace_back("grpc-message", std::string(name_of(response.reason)));
    for (const auto& field : response.fields) head.push_back(field);
    stream.send_headers(head, true);
    co_return;
  }
  if (!response.body.empty()) head.emplace_back("content-type", response.content_type);
  response.edits.apply(head);
  for (const auto& field : response.fields) head.push_back(field);
  if (response.status != 204 && response.status != 304)
    head.emplace_back("content-length", std::to_string(response.body.size()));
  if (response.body.empty() || !response_has_body(response.status, head_request)) {
    stream.send_headers(head, true);
    co_return;
  }
  if (stream.send_headers(head, false)) co_await stream.send_data(response.body, true);
}

class H2StreamProxy {
 public:
  H2StreamProxy(Worker& worker, std::shared_ptr<H2Stream> downstream, DownstreamInfo info,
                std::string client_cert)
      : worker_(worker),
        down_(std::move(downstream)),
        info_(std::move(info)),
        client_cert_(std::move(client_cert)),
        snapshot_(worker.snapshot()),
        limits_(snapshot_->config->limits) {}

  H2StreamProxy(const H2StreamProxy&) = delete;
  H2StreamProxy& operator=(const H2StreamProxy&) = delete;

  // Serves the stream, then records it.
  asio::awaitable<void> run() {
    co_await serve();
    if (!telemetry_.active()) co_return;
    telemetry_.set_status(down_->sent_status());
    telemetry_.add_request_bytes(down_->bytes_received());
    telemetry_.add_response_bytes(down_->bytes_sent());
    if (down_->sent_status() != 0 && !down_->response_complete() && down_->closed())
      telemetry_.add_flag(kFlagDownstreamTermination);
    telemetry_.finish();
  }

 private:
  asio::awaitable<void> serve() {
    auto first = co_await down_->receive();
    if (first.kind != Kind::kHeaders) co_return;
    request_ended_ = first.end_stream;
    worker_.stats().listener(info_.kind).requests_total.add();
    request_ = read_pseudo_headers(first.headers);
    telemetry_.begin(*snapshot_, 0, find_h2_header(&first.headers, "content-type").value_or(""));
    if (info_.kind == ListenerKind::kInbound && !info_.plaintext) {
      if (auto peer = find_h2_header(&first.headers, kPeerMetadataHeader))
        telemetry_.set_peer(*peer);
    }
    if (info_.kind == ListenerKind::kUpstreamBinding) {
      // The app called a local port; the server should see the service it reached.
      request_.authority = info_.fixed_host + ":" + std::to_string(info_.fixed_port);
    }
    {
      TraceHeaders incoming;
      for (const auto& [name, value] : first.headers) note_trace_header(incoming, name, value);
      telemetry_.begin_span(
          incoming, {.method = request_.method,
                     .authority = request_.authority,
                     .path = request_.path,
                     .protocol = "HTTP/2",
                     .request_id = find_h2_header(&first.headers, "x-request-id").value_or(""),
                     .user_agent = find_h2_header(&first.headers, "user-agent").value_or("")});
    }
    if (request_.expects_continue && !request_ended_) down_->send_interim(100);
    if (request_.method == "CONNECT") {
      co_await reply_locally(405, LocalReason::kMethodNotAllowed,
                             "CONNECT over HTTP/2 is not supported; use HTTP/1.1 CONNECT");
      co_return;
    }
    std::uint16_t stated_port = 0;
    if (info_.plaintext)
      stated_port = parse_stated_port(find_h2_header(&first.headers, kStatedPortHeader));
    auto destination = route_request(*snapshot_, info_, request_.authority, stated_port);
    if (destination && destination->service != nullptr) {
      RequestAttributes attributes{request_.method, request_.path, request_.authority, destination->port,
                                   &first.headers, &find_h2_header};
      attributes.source_ip = info_.source_ip;
      if (auto routed = select_http_route(*destination, attributes, worker_.random()); !routed)
        destination = std::unexpected(routed.error());
      else
        destination->hash = hash_key(*destination, attributes);
    }
    if (!destination) {
      co_await reply_locally(destination.error().status, destination.error().reason,
                             destination.error().detail);
      co_return;
    }
    destination_ = *destination;
    telemetry_.set_destination(destination_);
    // An inbound request passes the workload's authorization policies, then its rate limits.
    if (info_.kind == ListenerKind::kInbound &&
        (!snapshot_->config->authorization.empty() || !snapshot_->config->jwt_rules.empty())) {
      const RequestAttributes attributes{request_.method,   request_.path,  request_.authority,
                                         destination_.port, &first.headers, &find_h2_header_joined};
      if (auto denied =
              check_authorization(snapshot_->config->authorization, snapshot_->config->jwt_rules,
                                  info_, attributes, destination_.app_port, worker_.stats())) {
        const bool head_request = request_.method == "HEAD";
        co_await answer_locally(*denied, head_request);
        if (!request_ended_) down_->stop_request_after_response();
        co_return;
      }
    }
    if (info_.kind == ListenerKind::kInbound && !snapshot_->rate_limits.empty()) {
      const RequestAttributes attributes{request_.method,   request_.path,  request_.authority,
                                         destination_.port, &first.headers, &find_h2_header};
      if (auto refused = check_rate_limits(snapshot_->rate_limits, attributes, info_.peer_identity,
                                           steady_now_ns())) {
        const bool head_request = request_.method == "HEAD";
        co_await answer_locally(*refused, head_request);
        if (!request_ended_) down_->stop_request_after_response();
        co_return;
      }
    }
    // The matched route may answer itself (CORS preflight, directResponse, redirect, fault abort),
    // hold the request back (fault delay) before it goes upstream, or add CORS fields to the answer.
    if (destination_.route != nullptr) {
      const RequestAttributes attributes{request_.method, request_.path, request_.authority, destination_.port,
                                         &first.headers, &find_h2_header};
      RouteAction action = route_action(destination_, attributes, worker_.random(), worker_.random());
      response_fields_ = std::move(action.response_fields);
      if (action.delay.count() > 0) {
        worker_.stats().fault_delays.add();
        telemetry_.add_flag(kFlagDelayInjected);
        co_await net::sleep_for(action.delay);
        if (down_->closed()) co_return;  // the caller gave up during the delay
      }
      if (action.respond) {
        const bool head_request = request_.method == "HEAD";
        co_await answer_locally(*action.respond, head_request);
        // The request body, if still coming, is not wanted: end the stream so that its flow-control
        // window is released.
        if (!request_ended_) down_->stop_request_after_response();
        co_return;
      }
    }
    // A consistent hash on a cookie the request lacks: a generated one, set on the answer.
    if (auto cookie = generate_hash_cookie(destination_, worker_.random()))
      response_fields_.push_back(std::move(*cookie));
    if (destination_.route != nullptr && destination_.route->rewrite) {
      const Rewrite& rewrite = *destination_.route->rewrite;
      if (auto path = rewritten_path(rewrite, destination_.match, request_.path)) request_.path = std::move(*path);
      if (!rewrite.authority.empty()) request_.authority = rewrite.authority;
    }
    request_headers_ = build_upstream_headers(first.headers);
    // The destination's connectionPool.http.http2MaxRequests: past it, 503 at once.
    std::string overflow;
    const CircuitSlot request_slot = take_request_slot(destination_, overflow);
    if (!request_slot.held()) {
      co_await reply_locally(503, LocalReason::kUpstreamOverflow, overflow);
      if (!request_ended_) down_->stop_request_after_response();
      co_return;
    }
    if (speaks_h2()) {
      co_await forward_h2();
    } else {
      co_await forward_h1();
    }
  }

  // A response the proxy makes itself (callers pass named strings, GCC 12).
  asio::awaitable<void> reply_locally(int status, LocalReason reason, std::string_view detail) {
    telemetry_.local_reply(status, reason);
    co_await send_local_reply(*down_, status, reason, detail, worker_);
  }
  asio::awaitable<void> answer_locally(const LocalResponse& response, bool head_request) {
    telemetry_.local_reply(response.status, response.reason);
    co_await send_route_response(*down_, response, worker_, head_request);
  }
  // Mesh hops are HTTP/2 between sidecars; applications get the protocol they declared.
  bool speaks_h2() const {
    const bool app_speaks_h2 = destination_.protocol == Protocol::kHttp2 || destination_.protocol == Protocol::kGrpc;
    if (destination_.service == nullptr) return app_speaks_h2;
    // Endpoints without a sidecar get the protocol their port declares.
    const auto& endpoints = destination_.service->service->endpoints;
    return std::ranges::all_of(endpoints, [](const Endpoint& e) { return e.mtls; }) || app_speaks_h2;
  }

  HeaderList build_upstream_headers(const HeaderList& in) {
    HeaderList out;
    out.reserve(in.size() + 4);
    out.emplace_back(":method", request_.method);
    out.emplace_back(":scheme", "http");
    out.emplace_back(":authority", request_.authority);
    out.emplace_back(":path", request_.path);
    for (const auto& [name, value] : in) {
      if (name.starts_with(':') || is_connection_specific(name) ||
          name == "x-forwarded-client-cert" || name == kStatedPortHeader ||
          name == kPeerMetadataHeader || is_trace_header(name))
        continue;
      if ((name == "te" && value != "trailers") || name == "expect") continue;
      out.emplace_back(name, value);
    }
    if (!request_.has_request_id) {
      out.emplace_back("x-request-id", format_request_id(worker_.random(), worker_.random()));
      telemetry_.set_request_id(out.back().second);
    }
    if (const auto* trace = telemetry_.outgoing_trace()) {
      for (const auto& field : trace->fields())
        out.emplace_back(std::string(field.name), std::string(field.value));
    }
    if (!request_.has_forwarded_proto) out.emplace_back("x-forwarded-proto", "http");
    if (!client_cert_.empty()) out.emplace_back("x-forwarded-client-cert", client_cert_);
    // A sidecar tells the sidecars it calls who calls (their metrics' source_* labels).
    if (destination_.service != nullptr && destination_.service->all_sidecars)
      out.emplace_back(std::string(kPeerMetadataHeader), snapshot_->peer_metadata);
    if (destination_.service != nullptr && destination_.cluster()->states_port)
      out.emplace_back(std::string(kStatedPortHeader), std::to_string(destination_.port));
    destination_.request_edits().apply(out);
    return out;
  }

  // Tries the request on HTTP/2 upstreams until one answers or the route's retry policy, its
  // budget or its deadline says stop. A retry sends the request again from the copy kept of its
  // body, so only a request that has ended, with a body within the head size limit, is retried.
  asio::awaitable<void> forward_h2() {
    const RetryPolicy* policy = destination_.retry_policy();
    RetryState retry(worker_, policy, destination_.cluster());
    retry_ = &retry;
    std::vector<MirrorCopy> mirrors = mirror_copies(destination_, *snapshot_, worker_);
    replayable_ = (policy != nullptr && policy->attempts > 0) || !mirrors.empty();
    auto executor = co_await asio::this_coro::executor;
    // The route's timeout covers every try and the whole response: when it passes, the upstream
    // stream is reset (a 504 if no head was sent yet, else the downstream stream is reset too).
    asio::steady_timer route_timer(executor);
    if (destination_.timeout().count() > 0) {
      deadline_ = Clock::now() + destination_.timeout();
      route_timer.expires_at(deadline_);
      route_timer.async_wait([this, alive = std::weak_ptr<int>(lifetime_)](std::error_code ec) {
        if (ec || alive.expired()) return;  // cancelled, or the proxy is gone
        route_timed_out_ = true;
        if (up_) up_->reset(NGHTTP2_CANCEL);
      });
    }
    bool first_try = true;
    std::optional<EndpointRequest> in_flight;  // this try, on its endpoint (least request)
    while (true) {
      auto upstream = co_await h2_upstream(worker_, *snapshot_, destination_);
      if (policy != nullptr && policy->avoid_previous_host) destination_.avoid_endpoint = upstream.endpoint;
      try_endpoint_ = upstream.endpoint;
      telemetry_.set_endpoint(upstream.endpoint);
      in_flight.reset();
      if (destination_.service != nullptr && upstream.endpoint != kNoEndpoint)
        in_flight.emplace(worker_, destination_.service->endpoint_names[upstream.endpoint]);
      if (!upstream.connection) {
        if (co_await retry.again(AttemptFailure::kConnectFailure, deadline_)) continue;
        const int status = upstream.failure == LocalReason::kUpstreamConnectTimeout ? 504 : 503;
        co_await reply_locally(status, upstream.failure, upstream.detail);
        co_return;
      }
      // A caller that reset its stream already (a rapid-reset flood sends HEADERS and RST_STREAM
      // together) gets no upstream stream: forwarding such resets one for one would make the
      // upstream refuse the shared connection that other callers' streams ride on.
      if (down_->closed()) co_return;
      const bool replay = !first_try;
      const bool ends_with_head = request_ended_ && (!replay || (replay_body_.empty() && replay_trailers_.empty()));
      up_ = upstream.connection->open(request_headers_, ends_with_head);
      if (!up_) {
        if (co_await retry.again(AttemptFailure::kRefusedStream, deadline_)) continue;
        co_await reply_locally(503, LocalReason::kUpstreamResetBeforeResponse,
                               "the upstream connection refused a new stream");
        co_return;
      }
      worker_.stats().upstream_requests_total.add();
      telemetry_.upstream_started();
      first_try = false;
      if (route_timed_out_) up_->reset(NGHTTP2_CANCEL);  // the deadline passed while connecting
      if (replay && !ends_with_head) {
        bool sent = true;
        if (!replay_body_.empty()) sent = co_await up_->send_data(replay_body_, replay_trailers_.empty());
        if (sent && !replay_trailers_.empty()) up_->send_trailers(replay_trailers_);
      }
      asio::steady_timer per_try_timer(executor);
      per_try_timer_ = nullptr;
      per_try_expired_ = false;
      if (policy != nullptr && policy->per_try_timeout.count() > 0) {
        per_try_timer_ = &per_try_timer;
        per_try_timer.expires_after(policy->per_try_timeout);
        per_try_timer.async_wait([this, alive = std::weak_ptr<int>(lifetime_),
                                  stream = std::weak_ptr<H2Stream>(up_)](std::error_code ec) {
          if (ec || alive.expired()) return;
          per_try_expired_ = true;
          if (auto s = stream.lock()) s->reset(NGHTTP2_CANCEL);
        });
      }
      try_again_ = false;
      using namespace asio::experimental::awaitable_operators;
      co_await (pump_request() && pump_response());
      per_try_timer_ = nullptr;
      if (!try_again_) break;
    }
    retry_ = nullptr;
    // The upstream answered before the request's body was all sent (a 429 or other early answer):
    // the caller stops sending once the answer is out, or its stream would wait on a window that
    // no one opens.
    if (!request_ended_) down_->stop_request_after_response();
    // The route's mirrors get the request once it has ended (its body kept whole), answer or not.
    if (!mirrors.empty()) {
      if (!request_ended_ || !replayable_) {
        worker_.stats().mirror_skipped.add();
        co_return;
      }
      for (const auto& copy : mirrors) {
        const auto& endpoints = copy.destination.service->service->endpoints;
        const bool h2 = copy.destination.protocol == Protocol::kHttp2 || copy.destination.protocol == Protocol::kGrpc ||
                        std::ranges::all_of(endpoints, [](const Endpoint& e) { return e.mtls; });
        if (!h2) {
          worker_.stats().mirror_skipped.add();  // an HTTP/1.1 endpoint without a sidecar: no translation yet
          continue;
        }
        HeaderList headers = request_headers_;
        for (auto& [name, value] : headers) {
          if (name == ":authority") value = shadow_authority(value);
        }
        // The stated port is the primary destination's, not the mirror's.
        std::erase_if(headers, [](const auto& field) { return field.first == kStatedPortHeader; });
        std::string body = replay_body_;
        HeaderList trailers = replay_trailers_;
        std::shared_ptr<const Snapshot> held = snapshot_;
        asio::co_spawn(worker_.io(),
                       send_h2_mirror(worker_, std::move(held), copy, std::move(headers), std::move(body),
                                      std::move(trailers)),
                       asio::detached);
      }
    }
  }

  void note_grpc_status(const HeaderList& fields) {
    for (const auto& [name, value] : fields) {
      if (name == "grpc-status") telemetry_.note_grpc_status(value);
    }
  }

  // The route's headers.response edits, then the fields the proxy sets (CORS, a generated hash
  // cookie), as replaced_by_proxy_fields says.
  void edit_response_head(HeaderList& head) const {
    destination_.response_edits().apply(head);
    if (response_fields_.empty()) return;
    std::erase_if(head, [&](const auto& field) {
      return replaced_by_proxy_fields(field.first, response_fields_);
    });
    head.insert(head.end(), response_fields_.begin(), response_fields_.end());
  }

  // Whether the request could be sent again now: it has ended and its body was kept.
  [[nodiscard]] bool can_resend() const { return retry_ != nullptr && replayable_ && request_ended_; }

  // Request body and trailers, downstream to upstream; a copy is kept for retries while it is small.
  asio::awaitable<void> pump_request() {
    if (request_ended_) co_return;
    bool trailers_sent = false;
    while (true) {
      auto event = co_await down_->receive();
      switch (event.kind) {
        case Kind::kData:
          if (replayable_) {
            if (replay_body_.size() + event.data.size() <= limits_.max_head_size) {
              replay_body_.append(event.data);
            } else {
              replayable_ = false;
              std::string().swap(replay_body_);
            }
          }
          if (!co_await up_->send_data(event.data, false)) co_return;
          break;
        case Kind::kTrailers:
          if (replayable_) replay_trailers_ = event.headers;
          trailers_sent = up_->send_trailers(event.headers);
          break;
        case Kind::kEnd:
          request_ended_ = true;
          if (!trailers_sent) co_await up_->send_data({}, true);
          co_return;
        case Kind::kHeaders:
          break;
        case Kind::kReset:
          up_->reset(NGHTTP2_CANCEL);
          co_return;
      }
    }
  }

  // Tells outlier detection how a try on a mesh endpoint went: its response head, or (null) a
  // reset before one.
  void record_outcome(const HeaderList* head) {
    if (destination_.service == nullptr || try_endpoint_ == static_cast<std::size_t>(-1)) return;
    const auto now = Clock::now();
    if (head == nullptr) {
      worker_.outliers().record_local_failure(*destination_.cluster(), try_endpoint_, now);
      return;
    }
    for (const auto& [name, value] : *head) {
      int status = 0;
      if (name == ":status" && std::from_chars(value.data(), value.data() + value.size(), status).ec == std::errc{}) {
        if (status >= 200)
          worker_.outliers().record_status(*destination_.cluster(), try_endpoint_, status, now);
        return;
      }
    }
  }

  // Whether a response head calls for another try by the route's policy.
  [[nodiscard]] bool retriable_head(const HeaderList& headers) const {
    const RetryPolicy* policy = destination_.retry_policy();
    if (policy == nullptr || !can_resend()) return false;
    int status = 0;
    std::optional<int> grpc_status;
    bool rate_limited = false;
    for (const auto& [name, value] : headers) {
      int parsed = 0;
      const bool number = std::from_chars(value.data(), value.data() + value.size(), parsed).ec == std::errc{};
      if (name == ":status" && number) status = parsed;
      else if (name == "grpc-status" && number) grpc_status = parsed;
      else if (name == "x-envoy-ratelimited") rate_limited = true;
    }
    return status >= 200 && retriable(*policy, status, grpc_status, rate_limited);
  }

  // Response head, body and trailers, upstream to downstream; or, when the try failed in a way the
  // retry policy covers, nothing (try_again_ is set and the caller tries again).
  asio::awaitable<void> pump_response() {
    bool head_sent = false;
    bool trailers_sent = false;
    while (true) {
      auto event = co_await up_->receive();
      if (event.kind == Kind::kHeaders && !head_sent) {
        if (per_try_timer_ != nullptr) per_try_timer_->cancel();  // bounds the wait for the head only
        telemetry_.upstream_answered();
        record_outcome(&event.headers);
        if (retriable_head(event.headers)) {
          const bool again = co_await retry_->again_for_response(deadline_);
          if (again) {
            if (!event.end_stream) up_->reset(NGHTTP2_CANCEL);
            try_again_ = true;
            co_return;
          }
        }
      }
      if (event.kind == Kind::kReset && !head_sent) {
        record_outcome(nullptr);
        if (route_timed_out_) {
          worker_.stats().route_timeouts.add();
          const std::string detail = "no response within the route's timeout";
          co_await reply_locally(504, LocalReason::kUpstreamResponseTimeout, detail);
          co_return;
        }
        AttemptFailure failure = AttemptFailure::kReset;
        if (per_try_expired_) {
          worker_.stats().per_try_timeouts.add();
          failure = AttemptFailure::kPerTryTimeout;
        } else if (event.error == NGHTTP2_REFUSED_STREAM) {
          failure = AttemptFailure::kRefusedStream;
        }
        if (can_resend()) {
          const bool again = co_await retry_->again(failure, deadline_);
          if (again) {
            try_again_ = true;
            co_return;
          }
        }
        if (per_try_expired_) {
          const std::string detail = "no response within the route's perTryTimeout";
          co_await reply_locally(504, LocalReason::kUpstreamResponseTimeout, detail);
        } else {
          const std::string detail = fmt::format("the upstream reset the stream (HTTP/2 error {})", event.error);
          co_await reply_locally(502, LocalReason::kUpstreamResetBeforeResponse, detail);
        }
        co_return;
      }
      switch (event.kind) {
        case Kind::kHeaders: {
          HeaderList head;
          for (auto& [name, value] : event.headers) {
            if (!is_connection_specific(name)) head.emplace_back(std::move(name), std::move(value));
          }
          if (!head_sent) edit_response_head(head);
          note_grpc_status(head);
          head_sent = down_->send_headers(head, event.end_stream);
          if (event.end_stream) co_return;
          break;
        }
        case Kind::kData:
          if (!co_await down_->send_data(event.data, false)) {
            up_->reset(NGHTTP2_CANCEL);
            co_return;
          }
          break;
        case Kind::kTrailers:
          note_grpc_status(event.headers);
          trailers_sent = down_->send_trailers(event.headers);
          break;
        case Kind::kEnd:
          if (!trailers_sent) co_await down_->send_data({}, true);
          co_return;
        case Kind::kReset:
          telemetry_.add_flag(kFlagUpstreamTermination);
          // After the head: the response is cut short (by the upstream, or the route's timeout).
          if (route_timed_out_) worker_.stats().route_timeouts.add();
          down_->reset(event.error == NGHTTP2_NO_ERROR ? static_cast<std::uint32_t>(NGHTTP2_INTERNAL_ERROR) : event.error);
          co_return;
      }
    }
  }

  // --- HTTP/2 downstream, HTTP/1.1 upstream (an application that speaks http) ---

  asio::awaitable<void> forward_h1() {
    if (down_->closed()) co_return;  // reset by the caller already: no upstream work for it
    // (No co_await inside ?: — GCC 12 destroys the result twice.)
    ConnectOutcome outcome;
    if (destination_.service == nullptr) {
      outcome = co_await connect_to_app(worker_, *snapshot_, destination_.app_port, true);
    } else {
      outcome = co_await connect_to_service(worker_, *snapshot_, *destination_.service,
                                            destination_.port, tls::kAlpnHttp11, true, destination_.subset,
                                            destination_.hash);
    }
    if (!outcome.connection) {
      co_await reply_locally(outcome.failure == LocalReason::kUpstreamConnectTimeout ? 504 : 503,
                             outcome.failure, outcome.detail);
      co_return;
    }
    auto up = std::move(outcome.connection);
    telemetry_.set_endpoint(outcome.endpoint);
    worker_.stats().upstream_requests_total.add();
    telemetry_.upstream_started();
    bool has_length = false;
    std::string head = request_.method + " " + request_.path + " HTTP/1.1\r\nhost: " + request_.authority + "\r\n";
    for (const auto& [name, value] : request_headers_) {
      if (name.starts_with(':')) continue;
      has_length = has_length || name == "content-length";
      head.append(name).append(": ").append(value).append("\r\n");
    }
    bool chunked = !request_ended_ && !has_length;
    if (chunked) head.append("transfer-encoding: chunked\r\n");
    head.append("\r\n");
    if (co_await up->stream.write_all(asio::buffer(head))) {
      co_await reply_locally(502, LocalReason::kUpstreamResetBeforeResponse,
                             "write to the application failed");
      co_return;
    }
    std::string frame;
    while (!request_ended_) {
      auto event = co_await down_->receive();
      if (event.kind == Kind::kReset) co_return;
      if (event.kind == Kind::kData && !event.data.empty()) {
        frame.clear();
        if (chunked) frame = fmt::format("{:x}\r\n", event.data.size());
        frame.append(event.data);
        if (chunked) frame.append("\r\n");
        if (co_await up->stream.write_all(asio::buffer(frame))) co_return;
      } else if (event.kind == Kind::kTrailers && chunked) {
        frame = "0\r\n";
        for (const auto& [name, value] : event.headers) frame.append(name).append(": ").append(value).append("\r\n");
        frame.append("\r\n");
        if (co_await up->stream.write_all(asio::buffer(frame))) co_return;
        chunked = false;
      } else if (event.kind == Kind::kEnd) {
        request_ended_ = true;
        if (chunked && co_await up->stream.write_all(asio::buffer(std::string_view("0\r\n\r\n")))) co_return;
      }
    }

    http::ResponseHead response;
    const http::ParserLimits limits{limits_.max_request_line, limits_.max_head_size, limits_.max_header_count};
    while (true) {
      if (!up->buffer.empty()) {
        const auto parsed = http::parse_response_head(up->buffer.data(), limits, request_.method, response);
        if (parsed.status == http::ParseStatus::kComplete) {
          if (response.status >= 100 && response.status < 200) {
            up->buffer.consume(response.head_size);
            continue;
          }
          telemetry_.upstream_answered();
          break;
        }
        if (parsed.status == http::ParseStatus::kError || up->buffer.full()) {
          co_await reply_locally(502, LocalReason::kUpstreamProtocolError,
                                 "malformed response head");
          co_return;
        }
      }
      auto [ec, n] = co_await up->stream.read_some(up->buffer.prepare(16 * 1024));
      if (ec) {
        co_await reply_locally(502, LocalReason::kUpstreamResetBeforeResponse,
                               "the application closed the connection before responding");
        co_return;
      }
      up->buffer.commit(n);
    }
    HeaderList head_out{{":status", std::to_string(response.status)}};
    const auto* connection_header = response.find("connection");
    for (const auto& field : response.headers) {
      std::string name(field.name);
      std::ranges::transform(name, name.begin(), [](unsigned char c) { return std::tolower(c); });
      if (is_connection_specific(name) || name == "te" || name == "proxy-authenticate") continue;
      if (connection_header && http::list_contains_token(connection_header->value, name)) continue;
      head_out.emplace_back(std::move(name), std::string(field.value));
    }
    // A Content-Length of 0 ends the stream with the head (a trailers-only gRPC answer, for one).
    const bool no_body = response.framing == http::BodyFraming::kNone ||
                         (response.framing == http::BodyFraming::kContentLength && response.content_length == 0);
    const bool reusable = response.keep_alive && response.framing != http::BodyFraming::kUntilClose;
    up->buffer.consume(response.head_size);
    edit_response_head(head_out);
    note_grpc_status(head_out);
    down_->send_headers(head_out, no_body);
    if (!no_body && !co_await forward_h1_body(*up, response)) {
      down_->reset(NGHTTP2_INTERNAL_ERROR);
      co_return;
    }
    if (reusable) worker_.pool().give_back(std::move(up), limits_.max_idle_upstream_per_endpoint);
  }

  asio::awaitable<bool> forward_h1_body(UpstreamConnection& up, const http::ResponseHead& response) {
    std::uint64_t remaining = response.content_length;
    http::ChunkedDecoder decoder;
    std::string trailer_lines;
    decoder.capture_trailers(&trailer_lines);
    while (true) {
      const std::string_view available = up.buffer.data();
      std::size_t used = 0;
      if (response.framing == http::BodyFraming::kContentLength) {
        used = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, available.size()));
        remaining -= used;
        if (used > 0 && !co_await down_->send_data(available.substr(0, used), remaining == 0)) co_return false;
        up.buffer.consume(used);
        if (remaining == 0) co_return true;
      } else if (response.framing == http::BodyFraming::kChunked) {
        while (used < available.size() && !decoder.done()) {
          const auto step = decoder.next(available.substr(used));
          if (step.status == http::ChunkedDecoder::Status::kError) co_return false;
          used += step.consumed;
          if (step.status == http::ChunkedDecoder::Status::kData && !co_await down_->send_data(step.data, false))
            co_return false;
          if (step.status == http::ChunkedDecoder::Status::kNeedMore) break;
        }
        up.buffer.consume(used);
        if (decoder.done()) {
          // The chunked body's trailers (grpc-status over HTTP/1.1, for one) become HTTP/2 trailers.
          if (!trailer_lines.empty()) {
            const HeaderList trailers = http2::trailers_from_http1(trailer_lines);
            note_grpc_status(trailers);
            co_return down_->send_trailers(trailers);
          }
          co_return co_await down_->send_data({}, true);
        }
      } else {
        if (!available.empty() && !co_await down_->send_data(available, false)) co_return false;
        up.buffer.consume(available.size());
      }
      auto [ec, n] = co_await up.stream.read_some(up.buffer.prepare(16 * 1024));
      if (ec) {
        if (response.framing == http::BodyFraming::kUntilClose && net::is_end_of_stream(ec))
          co_return co_await down_->send_data({}, true);
        co_return false;
      }
      up.buffer.commit(n);
    }
  }

  Worker& worker_;
  std::shared_ptr<H2Stream> down_;
  std::shared_ptr<H2Stream> up_;
  DownstreamInfo info_;
  std::string client_cert_;
  std::shared_ptr<const Snapshot> snapshot_;
  Limits limits_;
  RequestView request_;
  HeaderList request_headers_;
  Destination destination_;
  bool request_ended_ = false;
  // Retries and timeouts of the HTTP/2 path (forward_h2).
  RetryState* retry_ = nullptr;         // while forward_h2 runs
  bool replayable_ = false;             // replay_body_ holds the whole body received so far
  std::string replay_body_;
  HeaderList replay_trailers_;
  Clock::time_point deadline_ = Clock::time_point::max();
  asio::steady_timer* per_try_timer_ = nullptr;
  bool route_timed_out_ = false;
  bool per_try_expired_ = false;
  bool try_again_ = false;
  HeaderList response_fields_;  // CORS fields for the upstream's answer
  std::size_t try_endpoint_ = static_cast<std::size_t>(-1);  // the endpoint of the current try
  std::shared_ptr<int> lifetime_ = std::make_shared<int>(0);  // timers' handlers check it is alive
  RequestTelemetry telemetry_{worker_, info_};
};

asio::awaitable<void> proxy_stream(Worker& worker, std::shared_ptr<H2Stream> stream,
                                   DownstreamInfo info, std::string client_cert) {
  H2StreamProxy proxy(worker, std::move(stream), std::move(info), std::move(client_cert));
  co_await proxy.run();
}

}  // namespace

asio::awaitable<void> serve_h2(Worker& worker, net::Stream downstream, std::string initial,
                               DownstreamInfo info, bool count_connection) {
  auto& stats = worker.stats().listener(info.kind);
  if (count_connection) {
    stats.connections_total.add();
    stats.connections_active.add(1);
  }
  std::string client_cert;
  if (info.kind == ListenerKind::kInbound && !info.plaintext) {
    client_cert = "By=" + worker.snapshot()->tls.certificate.spiffe_id + ";URI=" + info.peer_identity;
  }
  auto on_request = [&worker, info, client_cert](std::shared_ptr<H2Stream> stream) {
    DownstreamInfo stream_info = info;
    std::string cert = client_cert;
    asio::co_spawn(worker.io(), proxy_stream(worker, std::move(stream), std::move(stream_info), std::move(cert)),
                   asio::detached);
  };
  auto connection = H2Connection::create(worker.io().get_executor(), std::move(downstream),
                                         H2Connection::Role::kServer,
                                         h2_settings(worker.snapshot()->config->limits), on_request);
  net::Event closed(worker.io().get_executor());
  TrackedConnection tracked{nullptr, false, [weak = std::weak_ptr<H2Connection>(connection)] {
                              if (auto c = weak.lock()) c->shutdown_gracefully();
                            }};
  worker.track(&tracked);
  connection->start(initial, [&closed] { closed.notify(); });
  if (worker.draining()) connection->shutdown_gracefully();
  connection.reset();
  co_await closed.wait();
  worker.untrack(&tracked);
  if (count_connection) stats.connections_active.add(-1);
}

}  // namespace strait::proxy
