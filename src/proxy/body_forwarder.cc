#include "proxy/body_forwarder.h"

#include <asio/experimental/awaitable_operators.hpp>
#include <algorithm>

#include "http/parser.h"

namespace strait::proxy {
namespace {

constexpr std::size_t kReadChunk = 16 * 1024;

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
                                            net::Watchdog& watchdog, std::uint64_t& bytes) {
  while (remaining > 0) {
    if (buffer.empty() && !co_await fill(source, buffer, watchdog)) co_return BodyOutcome::kReadFailed;
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buffer.size()));
    if (co_await destination.write_all(asio::buffer(buffer.data().data(), take)))
      co_return BodyOutcome::kWriteFailed;
    watchdog.touch();
    buffer.consume(take);
    remaining -= take;
    bytes += take;
  }
  co_return BodyOutcome::kComplete;
}

asio::awaitable<BodyOutcome> forward_until_close(net::Stream& source, net::ReadBuffer& buffer,
                                                 net::Stream& destination, net::Watchdog& watchdog,
                                                 std::uint64_t& bytes) {
  while (true) {
    if (!buffer.empty()) {
      if (co_await destination.write_all(asio::buffer(buffer.data().data(), buffer.size())))
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
                                             net::Watchdog& watchdog, std::uint64_t& bytes) {
  http::ChunkedDecoder decoder;
  while (true) {
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
        if (dechunk && co_await destination.write_all(asio::buffer(step.data.data(), step.data.size())))
          co_return BodyOutcome::kWriteFailed;
      }
      if (step.status == http::ChunkedDecoder::Status::kNeedMore) break;
    }
    // Verbatim mode forwards everything validated so far, framing included, before failing on
    // malformed input: the recipient then sees a truncated body, never a re-interpreted one.
    if (!dechunk && position > 0 &&
        co_await destination.write_all(asio::buffer(available.data(), position)))
      co_return BodyOutcome::kWriteFailed;
    buffer.consume(position);
    if (malformed) co_return BodyOutcome::kMalformed;
    if (decoder.done()) co_return BodyOutcome::kComplete;
    if (!co_await fill(source, buffer, watchdog)) co_return BodyOutcome::kReadFailed;
  }
}

// One direction of a relay: on EOF, half-closes the destination and returns.
asio::awaitable<void> pump(net::Stream& source, net::ReadBuffer& buffer, net::Stream& destination,
                           net::Watchdog& watchdog, std::uint64_t& bytes) {
  while (true) {
    if (!buffer.empty()) {
      if (co_await destination.write_all(asio::buffer(buffer.data().data(), buffer.size()))) break;
      watchdog.touch();
      bytes += buffer.size();
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
  switch (transfer.framing) {
    case http::BodyFraming::kNone:
      co_return BodyOutcome::kComplete;
    case http::BodyFraming::kContentLength:
      co_return co_await forward_length(source, source_buffer, destination,
                                        transfer.content_length, watchdog, bytes);
    case http::BodyFraming::kChunked:
      co_return co_await forward_chunked(source, source_buffer, destination, transfer.dechunk,
                                         watchdog, bytes);
    case http::BodyFraming::kUntilClose:
      co_return co_await forward_until_close(source, source_buffer, destination, watchdog, bytes);
  }
  co_return BodyOutcome::kMalformed;
}

asio::awaitable<void> relay(net::Stream& a, net::ReadBuffer& a_buffer, net::Stream& b,
                            net::ReadBuffer& b_buffer, net::Watchdog& watchdog,
                            std::uint64_t& a_to_b_bytes, std::uint64_t& b_to_a_bytes) {
  using namespace asio::experimental::awaitable_operators;
  co_await (pump(a, a_buffer, b, watchdog, a_to_b_bytes) &&
            pump(b, b_buffer, a, watchdog, b_to_a_bytes));
}

}  // namespace strait::proxy
