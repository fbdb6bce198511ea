// The HTTP/1 side of a listener: serves one downstream connection, request after request, until it
// closes. Requests are handled one at a time in arrival order, so pipelined requests are safe: the
// next head is not even parsed before the previous response has been fully forwarded.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <string>

#include "net/stream.h"
#include "proxy/router.h"
#include "proxy/stats.h"
#include "proxy/worker.h"

namespace strait::proxy {

asio::awaitable<void> serve_http(Worker& worker, net::Stream downstream, DownstreamInfo info);

}  // namespace strait::proxy
