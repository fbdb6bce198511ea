// Streams one HTTP/1 message body from one connection to another with backpressure: at most one
// read buffer of data is held at any time, whatever the body's size.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>

#include "http/message.h"
#include "net/read_buffer.h"
#include "net/stream.h"
#include "net/watchdog.h"
#include "proxy/stats.h"

namespace strait::proxy {

enum class BodyOutcome : std::uint8_t {
  kComplete,
  kReadFailed,   // the source failed or closed before the body was complete
  kWriteFailed,  // the destination failed
  kMalformed,    // invalid chunked framing
};

struct BodyTransfer {
  http::BodyFraming framing = http::BodyFraming::kNone;
  std::uint64_t content_length = 0;
  bool dechunk = false;  // send only the data of a chunked body (to an HTTP/1.0 recipient)
  // Bytes to send before the body (the message head). Sent in one write with the body bytes that
  // are already buffered, so a small message costs one syscall; sent alone, at once, otherwise.
  std::string_view prefix;
};

// Forwards the body that starts at the front of `source_buffer` (bytes already read from `source`).
// Chunked bodies are validated and forwarded verbatim (extensions and trailers included) unless
// `dechunk`. Counts forwarded bytes into `bytes`.
asio::awaitable<BodyOutcome> forward_body(net::Stream& source, net::ReadBuffer& source_buffer,
                                          net::Stream& destination, const BodyTransfer& transfer,
                                          net::Watchdog& watchdog, std::uint64_t& bytes);

// The bytes relayed one way: counted here, and as they move into `live` (a connection's
// istio_tcp_* series) when set.
struct RelayTally {
  std::uint64_t bytes = 0;
  Counter* live = nullptr;
};

// Relays bytes both ways until both directions have ended (half-close aware), starting with bytes
// already buffered on either side. Used by CONNECT, upgrades and opaque TCP.
asio::awaitable<void> relay(net::Stream& a, net::ReadBuffer& a_buffer, net::Stream& b,
                            net::ReadBuffer& b_buffer, net::Watchdog& watchdog, RelayTally& a_to_b,
                            RelayTally& b_to_a);

}  // namespace strait::proxy
