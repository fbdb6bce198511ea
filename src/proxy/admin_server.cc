#include "proxy/admin_server.h"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include "http/parser.h"
#include "net/listener.h"
#include "net/read_buffer.h"
#include "net/stream.h"
#include "net/watchdog.h"
#include "proxy/local_reply.h"
#include "proxy/proxy_server.h"

namespace strait::proxy {
namespace {

std::string response(int status, std::string_view content_type, std::string_view body) {
  return fmt::format("HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                     status, reason_phrase(status), content_type, body.size(), body);
}

}  // namespace

AdminServer::AdminServer(asio::io_context& io, const ProxyServer& server)
    : io_(io), server_(server), acceptor_(io) {}

AdminServer::~AdminServer() {
  std::error_code ignored;
  acceptor_.close(ignored);
}

std::expected<HostPort, std::string> AdminServer::listen(const HostPort& address) {
  auto port = net::open_listener(acceptor_, address.host, address.port);
  if (!port) return std::unexpected(port.error());
  if (!acceptor_.local_endpoint().address().is_loopback())
    spdlog::warn("admin endpoint listens on non-loopback {}", address.host);
  asio::co_spawn(io_, accept_loop(), asio::detached);
  return HostPort{address.host, *port};
}

asio::awaitable<void> AdminServer::accept_loop() {
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(net::kAsTuple);
    if (ec) {
      if (!acceptor_.is_open()) co_return;
      continue;
    }
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> AdminServer::serve(asio::ip::tcp::socket socket) {
  net::Stream stream(std::move(socket));
  net::ReadBuffer buffer(16 * 1024);
  net::Watchdog watchdog(io_.get_executor());
  watchdog.arm(std::chrono::seconds(10), &stream);
  http::RequestHead request;
  const http::ParserLimits limits{4096, 16 * 1024, 64};
  while (true) {
    if (!buffer.empty()) {
      const auto parsed = http::parse_request_head(buffer.data(), limits, request);
      if (parsed.status == http::ParseStatus::kComplete) break;
      if (parsed.status == http::ParseStatus::kError || buffer.full()) {
        const std::string refused = response(400, "text/plain", "bad request\n");
        co_await stream.write_all(asio::buffer(refused));
        co_return;
      }
    }
    auto [ec, n] = co_await stream.read_some(buffer.prepare(4096));
    if (ec) co_return;
    buffer.commit(n);
  }
  std::string_view path = request.target;
  if (const auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  std::string out;
  if (request.method != "GET" && request.method != "HEAD") {
    out = response(405, "text/plain", "admin endpoints are read-only: use GET\n");
  } else if (path == "/ready") {
    out = server_.draining()  ? response(503, "text/plain", "DRAINING\n")
          : !server_.ready() ? response(503, "text/plain", "PRE_INITIALIZING\n")
                             : response(200, "text/plain", "LIVE\n");
  } else if (path == "/healthz/ready") {
    out = server_.draining()  ? response(503, "text/plain", "draining\n")
          : !server_.ready() ? response(503, "text/plain", "waiting for the first config from the control plane\n")
                             : response(200, "text/plain", "ready\n");
  } else if (path == "/config_dump") {
    out = response(200, "application/json", render_config_dump(server_));
  } else if (path == "/stats/prometheus" || path == "/stats") {
    out = response(200, "text/plain; version=0.0.4", render_prometheus(server_));
  } else {
    out = response(404, "text/plain",
                   "unknown admin path; try /ready, /healthz/ready, /config_dump, /stats/prometheus\n");
  }
  if (request.method == "HEAD") out.resize(out.find("\r\n\r\n") + 4);
  co_await stream.write_all(asio::buffer(out));
  stream.shutdown_send();
}

}  // namespace strait::proxy
