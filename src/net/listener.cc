#include "net/listener.h"

namespace strait::net {

std::expected<std::uint16_t, std::string> open_listener(asio::ip::tcp::acceptor& acceptor, const std::string& host,
                                                        std::uint16_t port, ReusePort reuse_port) {
  using SoReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
  std::error_code ec;
  const auto ip = asio::ip::make_address(host, ec);
  if (ec) return std::unexpected("'" + host + "' is not an IP address");
  const asio::ip::tcp::endpoint endpoint(ip, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && reuse_port == ReusePort::kYes) acceptor.set_option(SoReusePort(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::error_code ignored;
    acceptor.close(ignored);
    const std::string where = ip.is_v6() ? "[" + host + "]:" + std::to_string(port) : host + ":" + std::to_string(port);
    return std::unexpected("cannot listen on " + where + ": " + ec.message());
  }
  return acceptor.local_endpoint(ec).port();
}

}  // namespace strait::net
