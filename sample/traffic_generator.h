// The demo's steady light traffic: each target called at a fixed rate from its own thread, with a
// summary line every ten seconds.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "downstream.h"

namespace strait::sample {

// Calls every target `per_second` times a second until `stop` is set. A slow answer delays the
// next call of that target (it never piles up calls).
void generate_traffic(const std::vector<std::unique_ptr<Target>>& targets, double per_second,
                      const std::atomic<bool>& stop);

}  // namespace strait::sample
