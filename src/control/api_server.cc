#include "control/api_server.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <fmt/format.h>

#include "http/parser.h"
#include "net/listener.h"
#include "net/read_buffer.h"
#include "net/stream.h"
#include "net/watchdog.h"
#include "proxy/local_reply.h"

namespace strait::control {
namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr auto kLingerTimeout = std::chrono::seconds(2);

std::string serialize(const ApiResponse& r, bool close) {
  std::string more;
  for (const auto& [name, value] : r.headers) {
    // Every value is straitd's own; a line break would still never reach the wire.
    if (value.find_first_of("\r\n") == std::string::npos)
      more += fmt::format("{}: {}\r\n", name, value);
  }
  return fmt::format("HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\n{}{}\r\n{}",
                     r.status, proxy::reason_phrase(r.status), r.content_type, r.body.size(), more,
                     close ? "connection: close\r\n" : "", r.body);
}

std::string error_response(int status, std::string_view message) {
  const ApiResponse r{status, "application/json", fmt::format("{{\"error\": \"{}\"}}\n", message)};
  return serialize(r, true);
}

}  // namespace

std::expected<proxy::HostPort, std::string> ApiServer::listen(const proxy::HostPort& address) {
  auto port = net::open_listener(acceptor_, address.host, address.port);
  if (!port) return std::unexpected(port.error());
  asio::co_spawn(io_, accept_loop(), asio::detached);
  return proxy::HostPort{address.host, *port};
}

void ApiServer::close() {
  std::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> ApiServer::accept_loop() {
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(net::kAsTuple);
    if (ec) {
      if (!acceptor_.is_open()) co_return;
      continue;
    }
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> ApiServer::serve(asio::ip::tcp::socket socket) {
  net::Stream stream(std::move(socket));
  net::ReadBuffer buffer(64 * 1024);
  net::Watchdog watchdog(io_.get_executor());
  const http::ParserLimits limits{8 * 1024, 60 * 1024, 100};
  std::string body;
  std::string out;
  bool open = true;
  while (open) {
    watchdog.arm(kIdleTimeout, &stream);
    http::RequestHead request;
    bool have_head = false;
    while (!have_head) {
      if (!buffer.empty()) {
        const auto parsed = http::parse_request_head(buffer.data(), limits, request);
        if (parsed.status == http::ParseStatus::kComplete) {
          have_head = true;
          break;
        }
        if (parsed.status == http::ParseStatus::kError || buffer.full()) {
          out = error_response(parsed.status == http::ParseStatus::kError ? http::status_for(parsed.error) : 431,
                               parsed.status == http::ParseStatus::kError ? http::name_of(parsed.error)
                                                                          : "head_too_large");
          co_await stream.write_all(asio::buffer(out));
          co_return;
        }
      }
      auto [ec, n] = co_await stream.read_some(buffer.prepare(16 * 1024));
      if (ec) co_return;  // never read again after EOF (see ARCHITECTURE.md, Asio 1.22)
      buffer.commit(n);
    }
    // Copy what outlives the buffer, then read the body.
    const std::string method(request.method);
    const std::string target(request.target);
    // A field's value, copied ("" when absent).
    const auto field = [&](std::string_view name) {
      const auto* f = request.find(name);
      return f ? std::string(f->value) : std::string();
    };
    const std::string authorization = field("authorization");
    const std::string content_type = field("content-type");
    const std::string content_encoding = field("content-encoding");
    const std::string cookie = field("cookie");
    const std::string fetch_site = field("sec-fetch-site");
    const bool keep_alive = request.keep_alive;
    const auto framing = request.framing;
    const std::uint64_t length = request.content_length;
    buffer.consume(request.head_size);
    body.clear();
    if (framing == http::BodyFraming::kChunked) {
      out = error_response(411, "send the body with a Content-Length");
      co_await stream.write_all(asio::buffer(out));
      co_return;
    }
    if (length > kMaxApiBody) {
      out = error_response(413, fmt::format("the body is larger than {} bytes", kMaxApiBody));
      co_await stream.write_all(asio::buffer(out));
      // Lingering close: read and drop what the client is still sending (bounded in bytes and
      // time), so that it reads the 413 instead of a reset.
      stream.shutdown_send();
      watchdog.arm(kLingerTimeout, &stream);
      std::uint64_t dropped = 0;
      while (dropped < length) {
        buffer.consume(buffer.size());
        auto [ec, n] = co_await stream.read_some(buffer.prepare(16 * 1024));
        if (ec) break;
        dropped += n;
      }
      co_return;
    }
    while (body.size() < length) {
      if (buffer.empty()) {
        auto [ec, n] = co_await stream.read_some(buffer.prepare(16 * 1024));
        if (ec) co_return;
        buffer.commit(n);
      }
      const std::size_t take = std::min<std::size_t>(length - body.size(), buffer.size());
      body.append(buffer.data().substr(0, take));
      buffer.consume(take);
    }
    const ApiResponse response = api_.handle(ApiRequest{
        method, target, authorization, body, content_type, content_encoding, cookie, fetch_site});
    out = serialize(response, !keep_alive);
    if (co_await stream.write_all(asio::buffer(out))) co_return;
    open = keep_alive;
  }
  watchdog.disarm();
  stream.shutdown_send();
}

}  // namespace strait::control
