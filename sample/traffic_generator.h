// The demo's steady light traffic: each target called at a fixed rate, with a summary line every
// ten seconds.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "downstream.h"

namespace strait::sample {

// At most this many calls of one target in flight: a slow answer does not hold back the next
// call until this many are waiting.
inline constexpr int kCallersPerTarget = 4;

// Calls every target `per_second` times a second until `stop` is set, on a fixed schedule shared
// by kCallersPerTarget threads per target. When every caller is busy the schedule slips (it never
// bursts to catch up), so the rate drops only when kCallersPerTarget calls are slower than the
// schedule.
void generate_traffic(const std::vector<std::unique_ptr<Target>>& targets, double per_second,
                      const std::atomic<bool>& stop);

}  // namespace strait::sample
