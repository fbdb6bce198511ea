#include "proxy/circuit_breaker.h"

#include <iterator>

namespace strait::proxy {

CircuitSlot::CircuitSlot(std::atomic<std::int64_t>& counter, std::uint32_t limit) {
  if (limit == ConnectionPoolPolicy::kUnlimited) {  // no shared count to touch
    held_ = true;
    return;
  }
  // Increment first, then check: concurrent takers never both pass the last free unit.
  if (counter.fetch_add(1, std::memory_order_relaxed) < static_cast<std::int64_t>(limit)) {
    counter_ = &counter;
    held_ = true;
  } else {
    counter.fetch_sub(1, std::memory_order_relaxed);
  }
}

CircuitSlot& CircuitSlot::operator=(CircuitSlot&& other) noexcept {
  if (this != &other) {
    release();
    counter_ = other.counter_;
    held_ = other.held_;
    other.counter_ = nullptr;
    other.held_ = false;
  }
  return *this;
}

void CircuitSlot::release() {
  if (counter_ != nullptr) counter_->fetch_sub(1, std::memory_order_relaxed);
  counter_ = nullptr;
  held_ = false;
}

void CircuitRegistry::forget_unused() {
  for (auto it = states_.begin(); it != states_.end();) {
    it = it->second.expired() ? states_.erase(it) : std::next(it);
  }
}

std::shared_ptr<CircuitState> CircuitRegistry::state_for(const std::string& cluster) {
  auto& weak = states_[cluster];
  if (auto state = weak.lock()) return state;
  auto state = std::make_shared<CircuitState>();
  weak = state;
  return state;
}

}  // namespace strait::proxy
