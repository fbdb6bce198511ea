// HTTP/2 on the proxy's listeners: h2c (prior knowledge) from applications on the outbound
// listener and upstream bindings, h2 (ALPN) from other sidecars on the inbound listener. Each
// stream is routed like an HTTP/1 request and forwarded over HTTP/2 (to a peer sidecar, or to an
// application that speaks http2/grpc) or translated to HTTP/1.1 (to an application that speaks
// http).
#pragma once

#include <asio/awaitable.hpp>
#include <string_view>

#include "net/stream.h"
#include "proxy/router.h"
#include "proxy/worker.h"

namespace strait::proxy {

// Serves one downstream HTTP/2 connection until it ends. `initial` holds bytes already read.
// `count_connection` is false when the caller already counts this connection in the stats.
asio::awaitable<void> serve_h2(Worker& worker, net::Stream downstream, std::string initial,
                               DownstreamInfo info, bool count_connection = true);

}  // namespace strait::proxy
