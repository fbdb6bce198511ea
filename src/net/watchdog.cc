#include "net/watchdog.h"

namespace strait::net {

// The kernel timer is only touched when a deadline moves earlier than the one already scheduled.
// Requests mostly move deadlines later (touch(), or a longer timeout after a shorter one); then
// the scheduled wait fires early, finds the watchdog not yet due, and waits again for the rest.

Watchdog::Watchdog(const asio::any_io_executor& executor)
    : state_(std::make_shared<State>(executor)) {}

Watchdog::~Watchdog() {
  state_->armed = false;
  state_->targets[0] = state_->targets[1] = nullptr;
  state_->timer.cancel();
}

void Watchdog::arm(std::chrono::milliseconds timeout, Stream* first, Stream* second) {
  State& s = *state_;
  s.timeout = timeout;
  s.targets[0] = first;
  s.targets[1] = second;
  s.expired = false;
  s.deadline_passed = false;
  s.armed = true;
  s.last_activity = std::chrono::steady_clock::now();
  const auto due = s.due();
  if (!s.waiting || due < s.scheduled_for) schedule(state_, due);
}

void Watchdog::set_deadline(std::chrono::steady_clock::time_point deadline) {
  State& s = *state_;
  s.deadline = deadline;
  if (s.armed && (!s.waiting || deadline < s.scheduled_for)) schedule(state_, s.due());
}

void Watchdog::disarm() {
  state_->armed = false;
  state_->targets[0] = state_->targets[1] = nullptr;
}

void Watchdog::schedule(const std::shared_ptr<State>& state,
                        std::chrono::steady_clock::time_point at) {
  state->timer.expires_at(at);  // cancels a pending wait, which then finds a stale generation
  state->scheduled_for = at;
  state->waiting = true;
  state->timer.async_wait(
      [weak = std::weak_ptr<State>(state), generation = ++state->generation](std::error_code ec) {
        auto s = weak.lock();
        if (!s || s->generation != generation) return;
        s->waiting = false;
        if (ec || !s->armed) return;
        const auto due = s->due();
        const auto now = std::chrono::steady_clock::now();
        if (now < due) {
          schedule(s, due);
          return;
        }
        s->expired = true;
        s->deadline_passed = now >= s->deadline;
        s->armed = false;
        for (Stream* target : s->targets) {
          if (target != nullptr) target->cancel();
        }
      });
}

}  // namespace strait::net
