// Reads the SNI of the application's own TLS ClientHello at the start of an opaque connection, so
// that VirtualService tls[] routes can choose where it goes before the sidecar connects upstream.
// The bytes read stay in `buffer` and are relayed upstream first, untouched (TLS passthrough).
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "net/read_buffer.h"
#include "net/stream.h"

namespace strait::proxy {

struct SniffedHello {
  // "" when the connection does not start with a ClientHello, sends none, or does not finish its
  // first record within the timeout (the route is then chosen without a name).
  std::string server_name;
  bool peer_closed = false;  // the peer closed (or reset) first: do not read it again, do not relay
};

asio::awaitable<SniffedHello> sniff_server_name(net::Stream& stream, net::ReadBuffer& buffer,
                                                std::chrono::milliseconds timeout);

}  // namespace strait::proxy
