// Inactivity and deadline timer for a connection. While armed, if `timeout` passes without a
// touch(), the watched streams are cancelled (their pending operations complete with
// operation_aborted) and expired() becomes true. touch() only stores a timestamp, so the request
// path never re-arms a kernel timer per read; the timer re-arms itself lazily when it fires early.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>
#include <algorithm>
#include <chrono>
#include <memory>

#include "net/stream.h"

namespace strait::net {

class Watchdog {
 public:
  explicit Watchdog(const asio::any_io_executor& executor);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Arms the watchdog over one or two streams; re-arming replaces the previous timeout and streams.
  void arm(std::chrono::milliseconds timeout, Stream* first, Stream* second = nullptr);
  void disarm();
  void touch() { state_->last_activity = std::chrono::steady_clock::now(); }
  [[nodiscard]] bool expired() const { return state_->expired; }

  // Caps every timeout with an absolute deadline (a route's timeout) until clear_deadline(); it
  // survives re-arming. deadline_passed(): the last expiry was the deadline's.
  void set_deadline(std::chrono::steady_clock::time_point deadline);
  void clear_deadline() { state_->deadline = std::chrono::steady_clock::time_point::max(); }
  [[nodiscard]] bool deadline_passed() const { return state_->deadline_passed; }

 private:
  struct State {
    explicit State(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    std::chrono::steady_clock::time_point last_activity;
    std::chrono::steady_clock::time_point scheduled_for;  // expiry of the pending wait
    std::chrono::milliseconds timeout{0};
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    Stream* targets[2] = {nullptr, nullptr};
    std::uint64_t generation = 0;  // of the pending wait; older completions are ignored
    bool waiting = false;          // a wait is pending on the timer
    bool armed = false;
    bool expired = false;
    bool deadline_passed = false;
    [[nodiscard]] std::chrono::steady_clock::time_point due() const { return std::min(last_activity + timeout, deadline); }
  };
  static void schedule(const std::shared_ptr<State>& state, std::chrono::steady_clock::time_point at);
  std::shared_ptr<State> state_;
};

}  // namespace strait::net
