#include "proxy/body_forwarder.h"

#include <asio/experimental/awaitable_operators.hpp>
#include <algorithm>
#include <utility>

#include "http/parser.h"

namespace strait::proxy {
namespace {

constexpr std::size_t kReadChunk = 16 * 1024;

// Writes `data` to `destination`, preceded by whatever is left of `prefix` (then cleared).
asio::awaitable<std::error_code> write_with_prefix(net::Stream& destination, std::string_view& prefix,
                                                   std::string_view data) {
  if (prefix.empty()) co_return co_await destination.write_all(asio::buffer(data.data(), data.size()));
  const std::string_view head = std::exchange(prefix, {});
  co_return co_await destination.write_all(asio::buffer(head.data(), head.size()),
                                           asio::buffer(data.data(), data.size()));
}

// Sends the prefix alone when the body has nothing buffered yet: the head must not wait for it.
asio::awaitable<bool> flush_prefix_if_idle(net::Stream& destination, std::string_view& prefix,
                                           const net::ReadBuffer& buffer) {
  if (prefix.empty() || !buffer.empty()) co_return true;
  const std::string_view head = std::exchange(prefix, {});
  co_return !co_await destination.write_all(asio::buffer(head.data(), head.size()));
}

asio::awaitable<bool> fill(net::Stream& source, net::ReadBuffer& buffer, net::Watchdog& watchdog) {
  auto space = buffer.prepare(kReadChunk);
  if (space.size() == 0) co_return false;
  auto [ec, n] = co_await source.read_some(space);
  if (ec) co_return false;
  buffer.commit(n);
  watchdog.touch();
  co_return true;
}

asio::awaitable<BodyOutcome> forward_length(net::Stream& source, net::ReadBuffer& buffer,
                                            net::Stream& destination, std::uint64_t remaining,
                                            std::string_view prefix, net::Watchdog& watchdog,
                                            std::uint64_t& bytes) {
  if (remaining == 0 && !prefix.empty()) {
    if (co_await destination.write_all(asio::buffer(prefix.data(), prefix.size())))
      co_return BodyOutcome::kWriteFailed;
  }
  while (remaining > 0) {
    if (!co_await flush_prefix_if_idle(destination, prefix, buffer)) co_return BodyOutcome::kWriteFailed;
    if (buffer.empty() && !co_await fill(source, buffer, watchdog)) co_return BodyOutcome::kReadFailed;
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buffer.size()));
    if (co_await write_with_prefix(destination, prefix, buffer.data().substr(0, take)))
      co_return BodyOutcome::kWriteFailed;
    watchdog.touch();
    buffer.consume(take);
    remaining -= take;
    bytes += take;
  }
  co_return BodyOutcome::kComplete;
}

asio::awaitable<BodyOutcome> forward_until_close(net::Stream& source, net::ReadBuffer& buffer,
                                                 net::Stream& destination, std::string_view prefix,
                                                 net::Watchdog& watchdog, std::uint64_t& bytes) {
  while (true) {
    if (!co_await flush_prefix_if_idle(destination, prefix, buffer)) co_return BodyOutcome::kWriteFailed;
    if (!buffer.empty()) {
      if (co_await write_with_prefix(destination, prefix, buffer.data()))
        co_return BodyOutcome::kWriteFailed;
      watchdog.touch();
      bytes += buffer.size();
      buffer.consume(buffer.size());
    }
    auto [ec, n] = co_await source.read_some(buffer.prepare(kReadChunk));
    if (ec) co_return net::is_end_of_stream(ec) ? BodyOutcome::kComplete : BodyOutcome::kReadFailed;
    buffer.commit(n);
    watchdog.touch();
  }
}

asio::awaitable<BodyOutcome> forward_chunked(net::Stream& source, net::ReadBuffer& buffer,
                                             net::Stream& destination, bool dechunk,
                                             std::string_view prefix, net::Watchdog& watchdog,
                                             std::uint64_t& bytes) {
  http::ChunkedDecoder decoder;
  while (true) {
    if (!co_await flush_prefix_if_idle(destination, prefix, buffer)) co_return BodyOutcome::kWriteFailed;
    const std::string_view available = buffer.data();
    std::size_t position = 0;
    bool malformed = false;
    while (position < available.size() && !decoder.done()) {
      const auto step = decoder.next(available.substr(position));
      if (step.status == http::ChunkedDecoder::Status::kError) {
        malformed = true;
        break;
      }
      position += step.consumed;
      if (step.status == http::ChunkedDecoder::Status::kData) {
        bytes += step.data.size();
        if (dechunk && co_await write_with_prefix(destination, prefix, step.data))
          co_return BodyOutcome::kWriteFailed;
      }
      if (step.status == http::ChunkedDecoder::Status::kNeedMore) break;
    }
    // Verbatim mode forwards everything validated so far, framing included, before failing on
    // malformed input: the recipient then sees a truncated body, never a re-interpreted one.
    if (!dechunk && position > 0 &&
        co_await write_with_prefix(destination, prefix, available.substr(0, position)))
      co_return BodyOutcome::kWriteFailed;
    if (!prefix.empty() && (malformed || decoder.done()) &&
        co_await destination.write_all(asio::buffer(prefix.data(), prefix.size())))
      co_return BodyOutcome::kWriteFailed;
    buffer.consume(position);
    if (malformed) co_return BodyOutcome::kMalformed;
    if (decoder.done()) co_return BodyOutcome::kComplete;
    if (!co_await fill(source, buffer, watchdog)) co_return BodyOutcome::kReadFailed;
  }
}

// One direction of a relay: on EOF, half-closes the destination and returns.
asio::awaitable<void> pump(net::Stream& source, net::ReadBuffer& buffer, net::Stream& destination,
                           net::Watchdog& watchdog, RelayTally& tally) {
  while (true) {
    if (!buffer.empty()) {
      if (co_await destination.write_all(asio::buffer(buffer.data().data(), buffer.size()))) break;
      watchdog.touch();
      tally.bytes += buffer.size();
      if (tally.live != nullptr) tally.live->add(buffer.size());
      buffer.consume(buffer.size());
    }
    auto [ec, n] = co_await source.read_some(buffer.prepare(kReadChunk));
    if (ec) {
      if (net::is_end_of_stream(ec)) {
        destination.shutdown_send();
        co_return;
      }
      break;
    }
    buffer.commit(n);
    watchdog.touch();
  }
  // A failure in one direction ends both.
  source.close();
  destination.close();
}

}  // namespace

asio::awaitable<BodyOutcome> forward_body(net::Stream& source, net::ReadBuffer& source_buffer,
                                          net::Stream& destination, const BodyTransfer& transfer,
                                          net::Watchdog& watchdog, std::uint64_t& bytes) {
  // An if-chain, not a switch: GCC 12 miscompiles co_await inside switch cases.
  BodyOutcome outcome = BodyOutcome::kComplete;
  const std::string_view prefix = transfer.prefix;
  if (transfer.framing == http::BodyFraming::kContentLength) {
    outcome = co_await forward_length(source, source_buffer, destination, transfer.content_length,
                                      prefix, watchdog, bytes);
  } else if (transfer.framing == http::BodyFraming::kChunked) {
    outcome = co_await forward_chunked(source, source_buffer, destination, transfer.dechunk,
                                       prefix, watchdog, bytes);
  } else if (transfer.framing == http::BodyFraming::kUntilClose) {
    outcome = co_await forward_until_close(source, source_buffer, destination, prefix, watchdog,
                                           bytes);
  } else if (!prefix.empty()) {
    const auto error = co_await destination.write_all(asio::buffer(prefix.data(), prefix.size()));
    if (error) outcome = BodyOutcome::kWriteFailed;
  }
  co_return outcome;
}

asio::awaitable<void> relay(net::Stream& a, net::ReadBuffer& a_buffer, net::Stream& b,
                            net::ReadBuffer& b_buffer, net::Watchdog& watchdog, RelayTally& a_to_b,
                            RelayTally& b_to_a) {
  using namespace asio::experimental::awaitable_operators;
  co_await (pump(a, a_buffer, b, watchdog, a_to_b) && pump(b, b_buffer, a, watchdog, b_to_a));
}

}  // namespace strait::proxy
