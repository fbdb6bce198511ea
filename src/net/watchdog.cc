#include "net/watchdog.h"

namespace strait::net {

Watchdog::Watchdog(const asio::any_io_executor& executor)
    : state_(std::make_shared<State>(executor)) {}

Watchdog::~Watchdog() {
  state_->targets[0] = state_->targets[1] = nullptr;
  state_->timer.cancel();
}

void Watchdog::arm(std::chrono::milliseconds timeout, Stream* first, Stream* second) {
  state_->timeout = timeout;
  state_->targets[0] = first;
  state_->targets[1] = second;
  state_->expired = false;
  ++state_->generation;
  touch();
  schedule(state_, timeout);
}

void Watchdog::disarm() {
  ++state_->generation;
  state_->targets[0] = state_->targets[1] = nullptr;
  state_->timer.cancel();
}

void Watchdog::schedule(const std::shared_ptr<State>& state,
                        std::chrono::steady_clock::duration in) {
  state->timer.expires_after(in);
  state->timer.async_wait(
      [weak = std::weak_ptr<State>(state), generation = state->generation](std::error_code ec) {
        auto s = weak.lock();
        if (!s || ec || s->generation != generation) return;
        const auto idle = std::chrono::steady_clock::now() - s->last_activity;
        if (idle < s->timeout) {
          schedule(s, s->timeout - idle);
          return;
        }
        s->expired = true;
        for (Stream* target : s->targets) {
          if (target != nullptr) target->cancel();
        }
      });
}

}  // namespace strait::net
