// A one-waiter wake-up signal for coroutines on one thread: notify() before or during wait() wakes
// the waiter exactly once. Built on a timer that never expires, cancelled to wake.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>

#include "net/stream.h"

namespace strait::net {

class Event {
 public:
  explicit Event(const asio::any_io_executor& executor)
      : timer_(executor, std::chrono::steady_clock::time_point::max()) {}

  void notify() {
    pending_ = true;
    timer_.cancel();
  }

  asio::awaitable<void> wait() {
    if (!pending_) {
      const auto woken = co_await timer_.async_wait(kAsTuple);
      static_cast<void>(woken);
    }
    pending_ = false;
  }

 private:
  asio::steady_timer timer_;
  bool pending_ = false;
};

}  // namespace strait::net
