// Opening a listening TCP socket on an IP literal and port, with one-line errors.
#pragma once

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <expected>
#include <string>

namespace strait::net {

enum class ReusePort : bool { kNo = false, kYes = true };

// Opens, binds and listens `acceptor` on host:port. With ReusePort::kYes several acceptors (one per
// worker) can share the port and the kernel spreads connections across them. Returns the bound
// port (port 0 picks a free one). Errors: "'H' is not an IP address", "cannot listen on H:P: why".
[[nodiscard]] std::expected<std::uint16_t, std::string> open_listener(asio::ip::tcp::acceptor& acceptor,
                                                                      const std::string& host,
                                                                      std::uint16_t port,
                                                                      ReusePort reuse_port = ReusePort::kNo);

}  // namespace strait::net
