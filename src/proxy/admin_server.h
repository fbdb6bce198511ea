// The admin endpoint, on the main thread and on 127.0.0.1 only by default: /ready, /healthz/ready,
// /config_dump (JSON), /stats/prometheus. One request per connection; it never touches a worker's
// connections, only the published snapshot and the workers' counters.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <expected>
#include <memory>
#include <string>

#include "proxy/config.h"

namespace strait::proxy {

class ProxyServer;

class AdminServer {
 public:
  AdminServer(asio::io_context& io, const ProxyServer& server);
  ~AdminServer();
  [[nodiscard]] std::expected<HostPort, std::string> listen(const HostPort& address);

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::ip::tcp::socket socket);

  asio::io_context& io_;
  const ProxyServer& server_;
  asio::ip::tcp::acceptor acceptor_;
};

// The admin pages, rendered from the server's state (admin_views.cc).
[[nodiscard]] std::string render_config_dump(const ProxyServer& server);
[[nodiscard]] std::string render_prometheus(const ProxyServer& server);

}  // namespace strait::proxy
