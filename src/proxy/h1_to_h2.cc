#include "proxy/h1_to_h2.h"

#include <fmt/format.h>

#include "http/parser.h"
#include "proxy/h2_upstreams.h"
#include "proxy/http_head_writer.h"
#include "proxy/local_reply.h"
#include "proxy/peer_metadata.h"
#include "proxy/trace_context.h"

namespace strait::proxy {
namespace {

using http2::H2Stream;
using Kind = H2Stream::Received::Kind;
constexpr std::size_t kReadChunk = 16 * 1024;

asio::awaitable<bool> write_local_reply(net::Stream& downstream, Worker& worker,
                                        RequestTelemetry& telemetry, int status, LocalReason reason,
                                        std::string_view detail) {
  worker.stats().count(reason);
  telemetry.local_reply(status, reason);
  const std::string reply = build_local_reply(status, reason, detail, true);
  if (!co_await downstream.write_all(asio::buffer(reply)))
    telemetry.add_response_bytes(reply.size());
  co_return false;
}

// Request body, HTTP/1.1 framing in, HTTP/2 DATA out.
asio::awaitable<bool> send_body(net::Stream& downstream, net::ReadBuffer& in, H2Stream& up,
                                const H1ToH2Request& request, net::Watchdog& watchdog) {
  if (request.framing == http::BodyFraming::kContentLength) {
    std::uint64_t remaining = request.content_length;
    while (remaining > 0) {
      if (in.empty()) {
        auto [ec, n] = co_await downstream.read_some(in.prepare(kReadChunk));
        if (ec) co_return false;
        in.commit(n);
        watchdog.touch();
      }
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, in.size()));
      remaining -= take;
      if (!co_await up.send_data(in.data().substr(0, take), remaining == 0)) co_return false;
      in.consume(take);
    }
    co_return true;
  }
  http::ChunkedDecoder decoder;
  std::string trailer_lines;
  decoder.capture_trailers(&trailer_lines);
  while (true) {
    const std::string_view available = in.data();
    std::size_t used = 0;
    while (used < available.size() && !decoder.done()) {
      const auto step = decoder.next(available.substr(used));
      if (step.status == http::ChunkedDecoder::Status::kError) co_return false;
      used += step.consumed;
      if (step.status == http::ChunkedDecoder::Status::kData && !co_await up.send_data(step.data, false))
        co_return false;
      if (step.status == http::ChunkedDecoder::Status::kNeedMore) break;
    }
    in.consume(used);
    if (decoder.done()) {
      if (!trailer_lines.empty()) co_return up.send_trailers(http2::trailers_from_http1(trailer_lines));
      co_return co_await up.send_data({}, true);
    }
    auto [ec, n] = co_await downstream.read_some(in.prepare(kReadChunk));
    if (ec) co_return false;
    in.commit(n);
    watchdog.touch();
  }
}

}  // namespace

http2::HeaderList build_h2_request(const http::RequestHead& head, const RequestEdits& edits) {
  http2::HeaderList out;
  std::string_view authority = edits.authority;
  if (authority.empty()) {
    if (const auto* host = head.find("host")) authority = host->value;
  }
  out.emplace_back(":method", std::string(head.method));
  out.emplace_back(":scheme", "http");
  out.emplace_back(":authority", std::string(authority));
  out.emplace_back(":path", std::string(edits.path));
  for (const auto& field : head.headers) {
    if (is_hop_by_hop(field.name, head.headers) || http::iequals(field.name, "host") ||
        http::iequals(field.name, "expect") ||
        http::iequals(field.name, "x-forwarded-client-cert") ||
        http::iequals(field.name, kStatedPortHeader) ||
        http::iequals(field.name, kPeerMetadataHeader) ||
        (edits.trace != nullptr && is_trace_header(field.name)))
      continue;
    std::string name(field.name);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.emplace_back(std::move(name), std::string(field.value));
  }
  if (const auto* te = head.find("te"); te && http::list_contains_token(te->value, "trailers"))
    out.emplace_back("te", "trailers");
  if (!edits.request_id.empty()) out.emplace_back("x-request-id", std::string(edits.request_id));
  if (edits.add_forwarded_proto) out.emplace_back("x-forwarded-proto", "http");
  if (!edits.client_cert.empty()) out.emplace_back("x-forwarded-client-cert", std::string(edits.client_cert));
  if (edits.stated_port != 0)
    out.emplace_back(std::string(kStatedPortHeader), std::to_string(edits.stated_port));
  if (!edits.peer_metadata.empty())
    out.emplace_back(std::string(kPeerMetadataHeader), std::string(edits.peer_metadata));
  if (edits.trace != nullptr) {
    for (const auto& field : edits.trace->fields())
      out.emplace_back(std::string(field.name), std::string(field.value));
  }
  edits.headers.apply(out);
  return out;
}

asio::awaitable<bool> forward_h1_as_h2(Worker& worker, const Snapshot& snapshot,
                                       const Destination& destination, net::Stream& downstream,
                                       net::ReadBuffer& in, const H1ToH2Request& request,
                                       net::Watchdog& watchdog, ListenerStats& stats,
                                       RequestTelemetry& telemetry) {
  auto upstream = co_await h2_upstream(worker, snapshot, destination);
  telemetry.set_endpoint(upstream.endpoint);
  if (!upstream.connection) {
    const int status = upstream.failure == LocalReason::kUpstreamConnectTimeout ? 504 : 503;
    co_return co_await write_local_reply(downstream, worker, telemetry, status, upstream.failure,
                                         upstream.detail);
  }
  const bool has_body = request.framing != http::BodyFraming::kNone &&
                        !(request.framing == http::BodyFraming::kContentLength && request.content_length == 0);
  auto up = upstream.connection->open(request.headers, !has_body);
  if (!up) {
    co_return co_await write_local_reply(downstream, worker, telemetry, 503,
                                         LocalReason::kUpstreamResetBeforeResponse,
                                         "the upstream connection refused a new stream");
  }
  worker.stats().upstream_requests_total.add();
  telemetry.upstream_started();
  if (has_body && !co_await send_body(downstream, in, *up, request, watchdog)) {
    up->reset(NGHTTP2_CANCEL);
    telemetry.add_flag(kFlagDownstreamTermination);
    co_return false;
  }
  if (request.framing == http::BodyFraming::kContentLength)
    telemetry.add_request_bytes(request.content_length);

  // Response: HTTP/2 events in, HTTP/1.1 out.
  bool chunked = false;
  bool close = false;
  bool head_written = false;
  std::string out;
  while (true) {
    auto event = co_await up->receive();
    out.clear();
    switch (event.kind) {
      case Kind::kHeaders: {
        if (!head_written) {
          destination.response_edits().apply(event.headers);
          telemetry.upstream_answered();
        }
        int status = 502;
        bool has_length = false;
        std::string fields;
        for (const auto& [name, value] : event.headers) {
          if (name == ":status") {
            status = std::atoi(value.c_str());
            continue;
          }
          if (name == "grpc-status") telemetry.note_grpc_status(value);
          if (name.starts_with(':')) continue;
          has_length = has_length || name == "content-length";
          fields.append(name).append(": ").append(value).append("\r\n");
        }
        const bool bodiless = request.head_method || status == 204 || status == 304;
        chunked = !event.end_stream && !has_length && !bodiless && !request.client_http10;
        close = !request.client_keep_alive || (!event.end_stream && !has_length && !chunked && !bodiless);
        out = fmt::format("HTTP/1.1 {} {}\r\n{}", status, reason_phrase(status), fields);
        if (chunked) out.append("transfer-encoding: chunked\r\n");
        if (event.end_stream && !has_length && !bodiless) out.append("content-length: 0\r\n");
        if (close) out.append("connection: close\r\n");
        out.append("\r\n");
        head_written = true;
        telemetry.set_status(status);
        if (co_await downstream.write_all(asio::buffer(out))) {
          telemetry.add_flag(kFlagDownstreamTermination);
          co_return false;
        }
        stats.bytes_sent.add(out.size());
        telemetry.add_response_bytes(out.size());
        if (event.end_stream) co_return !close;
        break;
      }
      case Kind::kData:
        if (event.data.empty()) break;
        if (chunked) out = fmt::format("{:x}\r\n", event.data.size());
        out.append(event.data);
        if (chunked) out.append("\r\n");
        if (co_await downstream.write_all(asio::buffer(out))) {
          up->reset(NGHTTP2_CANCEL);
          telemetry.add_flag(kFlagDownstreamTermination);
          co_return false;
        }
        stats.bytes_sent.add(event.data.size());
        telemetry.add_response_bytes(out.size());
        watchdog.touch();
        break;
      case Kind::kTrailers:
        for (const auto& [name, value] : event.headers) {
          if (name == "grpc-status") telemetry.note_grpc_status(value);
        }
        if (chunked) {
          out = "0\r\n";
          for (const auto& [name, value] : event.headers) out.append(name).append(": ").append(value).append("\r\n");
          out.append("\r\n");
          if (co_await downstream.write_all(asio::buffer(out))) co_return false;
          chunked = false;
          co_return request.client_keep_alive;
        }
        break;
      case Kind::kEnd:
        if (chunked) {
          const std::string_view last = "0\r\n\r\n";
          if (co_await downstream.write_all(asio::buffer(last))) co_return false;
          co_return request.client_keep_alive;
        }
        // A body with content-length is complete; a close-delimited one ends with the connection.
        co_return head_written && !close;
      case Kind::kReset:
        if (!head_written) {
          const std::string detail = fmt::format("the upstream reset the stream (HTTP/2 error {})", event.error);
          co_return co_await write_local_reply(downstream, worker, telemetry, 502,
                                               LocalReason::kUpstreamResetBeforeResponse, detail);
        }
        telemetry.add_flag(kFlagUpstreamTermination);
        co_return false;
    }
  }
}

}  // namespace strait::proxy
