// The HTTP/1.1 transport of straitd's API: accepts connections, reads requests (bodies up to
// kMaxApiBody, 413 beyond), hands them to ConfigApi, writes the responses. Keep-alive is supported;
// one request at a time per connection. Runs on straitd's main io_context.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <expected>
#include <string>

#include "control/config_api.h"
#include "proxy/config.h"

namespace strait::control {

class ApiServer {
 public:
  ApiServer(asio::io_context& io, ConfigApi& api) : io_(io), api_(api), acceptor_(io) {}
  // Binds and starts accepting; returns the bound address (port 0 is resolved).
  [[nodiscard]] std::expected<proxy::HostPort, std::string> listen(const proxy::HostPort& address);
  void close();

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::ip::tcp::socket socket);

  asio::io_context& io_;
  ConfigApi& api_;
  asio::ip::tcp::acceptor acceptor_;
};

}  // namespace strait::control
