#include "proxy/request_tap.h"

#include <algorithm>

namespace strait::proxy {

RequestTap::RequestTap(std::size_t workers) {
  rings_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i)
    rings_.push_back(std::make_unique<SpscRing<AccessLogRecord>>(kRingCapacity));
}

void RequestTap::tap_for(std::chrono::steady_clock::duration duration) {
  const auto until = duration.count() <= 0
                         ? std::int64_t{0}
                         : (std::chrono::steady_clock::now() + duration).time_since_epoch().count();
  until_.store(until, std::memory_order_relaxed);
}

bool RequestTap::submit(std::size_t worker, const AccessLogRecord& record) {
  if (worker >= rings_.size()) return false;
  return rings_[worker]->push(record);
}

std::uint64_t RequestTap::drain(std::vector<AccessLogRecord>& out, std::size_t limit) {
  std::uint64_t dropped = 0;
  // A share each, so that one busy worker cannot crowd out the others' rings.
  const std::size_t share =
      std::max<std::size_t>(1, limit / std::max<std::size_t>(1, rings_.size()));
  for (auto& ring : rings_) {
    ring->pop_into(out, std::min(limit, out.size() + share));
    dropped += ring->dropped();
  }
  const std::uint64_t since = dropped - dropped_reported_;
  dropped_reported_ = dropped;
  return since;
}

}  // namespace strait::proxy
