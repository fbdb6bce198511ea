#include "proxy/tls_sniff.h"

#include <asio/this_coro.hpp>

#include "net/watchdog.h"
#include "tls/client_hello.h"

namespace strait::proxy {

asio::awaitable<SniffedHello> sniff_server_name(net::Stream& stream, net::ReadBuffer& buffer,
                                                std::chrono::milliseconds timeout) {
  const auto executor = co_await asio::this_coro::executor;
  net::Watchdog watchdog(executor);
  watchdog.arm(timeout, &stream);
  SniffedHello out;
  while (true) {
    const auto hello = tls::read_client_hello_sni(buffer.data());
    if (hello.status != tls::ClientHelloSni::Status::kNeedMore) {
      out.server_name = hello.server_name;
      break;
    }
    if (buffer.full()) break;
    auto [ec, n] = co_await stream.read_some(buffer.prepare(4096));
    if (ec) {
      // The timeout fired: route without a name, the relay goes on. Anything else (EOF, a reset):
      // the peer is gone.
      out.peer_closed = !watchdog.expired();
      break;
    }
    buffer.commit(n);
  }
  watchdog.disarm();
  co_return out;
}

}  // namespace strait::proxy
