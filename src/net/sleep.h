// Waiting a while inside a coroutine, on the executor it runs on.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <chrono>

#include "net/stream.h"

namespace strait::net {

inline asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(delay);
  co_await timer.async_wait(kAsTuple);
}

}  // namespace strait::net
