// Multiplexed HTTP/2 upstream connections: one per worker and endpoint (or local application
// port), shared by every stream on that worker that goes there.
#pragma once

#include <asio/awaitable.hpp>
#include <memory>
#include <string>

#include "http2/h2_connection.h"
#include "proxy/local_reply.h"
#include "proxy/router.h"
#include "proxy/worker.h"

namespace strait::proxy {

struct H2Upstream {
  std::shared_ptr<http2::H2Connection> connection;  // null on failure
  LocalReason failure = LocalReason::kUpstreamConnectFailed;
  std::string detail;
  std::size_t endpoint = static_cast<std::size_t>(-1);  // index into the service's endpoints
};

// Settings of every HTTP/2 connection the proxy makes or accepts.
[[nodiscard]] http2::ConnectionSettings h2_settings(const Limits& limits);

// A usable HTTP/2 connection to `destination`: a mesh endpoint over mTLS (ALPN h2), picked round
// robin with up to three attempts (passing over `destination.avoid_endpoint` while there is
// another), or the local application over h2c.
asio::awaitable<H2Upstream> h2_upstream(Worker& worker, const Snapshot& snapshot,
                                        const Destination& destination);

}  // namespace strait::proxy
