// The accept loops of a worker's listeners and what each does with a new connection:
//  - outbound: plaintext HTTP/1 from the application (forward-proxy, origin-form, CONNECT);
//  - inbound: mTLS from other sidecars; ALPN picks HTTP/1.1 or an opaque TCP stream, the SNI names
//    the service port;
//  - upstream bindings: a local port bound to one service (HTTP-aware when the service speaks HTTP,
//    an opaque TCP tunnel otherwise).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include "proxy/config.h"
#include "proxy/stats.h"
#include "proxy/worker.h"

namespace strait::proxy {

struct ListenerSpec {
  ListenerKind kind = ListenerKind::kOutbound;
  const UpstreamBinding* binding = nullptr;  // kUpstreamBinding
};

asio::awaitable<void> accept_loop(Worker& worker, asio::ip::tcp::acceptor& acceptor,
                                  ListenerSpec spec);

}  // namespace strait::proxy
