#include "behaviour.h"

#include <random>
#include <thread>

namespace strait::sample {

void add_latency(const Behaviour& behaviour) {
  if (behaviour.latency.count() > 0) std::this_thread::sleep_for(behaviour.latency);
}

bool fails_now(const Behaviour& behaviour) {
  if (behaviour.fail_percent <= 0) return false;
  thread_local std::mt19937 engine{std::random_device{}()};
  std::uniform_real_distribution<double> draw(0.0, 100.0);
  return draw(engine) < behaviour.fail_percent;
}

}  // namespace strait::sample
