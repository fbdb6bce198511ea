// What the sample is told to do to its callers: answer late, or fail a share of its requests.
#pragma once

#include <chrono>

namespace strait::sample {

struct Behaviour {
  std::chrono::milliseconds latency{0};  // added to every request
  double fail_percent = 0;               // 0-100: the share answered 503 / UNAVAILABLE
};

// Sleeps for the configured latency (the calling server thread only).
void add_latency(const Behaviour& behaviour);

// Whether this request is one of the failing share (a per-thread random draw).
[[nodiscard]] bool fails_now(const Behaviour& behaviour);

}  // namespace strait::sample
