// An HTTP/1.1 request forwarded as an HTTP/2 stream: for an HTTP/1.1 caller of an application that
// speaks only h2c (protocol http2 or grpc). The response is written back as HTTP/1.1 (chunked when
// its length is unknown, with HTTP/2 trailers as chunked trailers).
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <string>

#include "http/message.h"
#include "http2/h2_connection.h"
#include "net/read_buffer.h"
#include "net/stream.h"
#include "net/watchdog.h"
#include "proxy/request_telemetry.h"
#include "proxy/router.h"
#include "proxy/stats.h"
#include "proxy/worker.h"

namespace strait::proxy {

struct H1ToH2Request {
  http2::HeaderList headers;  // pseudo-headers first, then the forwarded fields (lower case)
  http::BodyFraming framing = http::BodyFraming::kNone;
  std::uint64_t content_length = 0;
  bool head_method = false;
  bool client_http10 = false;
  bool client_keep_alive = true;
};

struct RequestEdits;

// The HTTP/2 request for an HTTP/1.1 head: pseudo-headers from the request line and Host (or the
// edits' authority), hop-by-hop fields dropped, names lower-cased, the edits applied.
[[nodiscard]] http2::HeaderList build_h2_request(const http::RequestHead& head,
                                                 const RequestEdits& edits);

// Forwards one request whose head has been consumed from `in` (the body follows there), telling
// `telemetry` how it went. Returns true when the downstream connection may carry another request.
asio::awaitable<bool> forward_h1_as_h2(Worker& worker, const Snapshot& snapshot,
                                       const Destination& destination, net::Stream& downstream,
                                       net::ReadBuffer& in, const H1ToH2Request& request,
                                       net::Watchdog& watchdog, ListenerStats& stats,
                                       RequestTelemetry& telemetry);

}  // namespace strait::proxy
