#include "proxy/tls_sniff.h"

#include <asio/this_coro.hpp>

#include "net/watchdog.h"
#include "tls/client_hello.h"

namespace strait::proxy {

asio::awaitable<std::string> sniff_server_name(net::Stream& stream, net::ReadBuffer& buffer,
                                               std::chrono::milliseconds timeout) {
  net::Watchdog watchdog(co_await asio::this_coro::executor);
  watchdog.arm(timeout, &stream);
  std::string name;
  while (true) {
    const auto hello = tls::read_client_hello_sni(buffer.data());
    if (hello.status != tls::ClientHelloSni::Status::kNeedMore) {
      name = hello.server_name;
      break;
    }
    if (buffer.full()) break;
    auto [ec, n] = co_await stream.read_some(buffer.prepare(4096));
    if (ec) break;  // the peer closed, or the timeout fired: the relay sees the same
    buffer.commit(n);
  }
  watchdog.disarm();
  co_return name;
}

}  // namespace strait::proxy
