#include "traffic_generator.h"

#include <chrono>
#include <cstdio>
#include <thread>

namespace strait::sample {

void generate_traffic(const std::vector<std::unique_ptr<Target>>& targets, double per_second,
                      const std::atomic<bool>& stop) {
  using Clock = std::chrono::steady_clock;
  const auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / per_second));
  std::vector<std::thread> threads;
  for (const auto& target : targets) {
    threads.emplace_back([&target, period, &stop] {
      long calls = 0, ok = 0;
      auto next = Clock::now();
      auto report = next + std::chrono::seconds(10);
      while (!stop.load(std::memory_order_relaxed)) {
        const CallResult result = target->call({});
        ++calls;
        ok += result.ok ? 1 : 0;
        if (Clock::now() >= report) {
          std::printf("%s: %ld calls, %ld ok (last: %s)\n", target->text().c_str(), calls, ok,
                      result.line.c_str());
          std::fflush(stdout);
          report += std::chrono::seconds(10);
        }
        next += period;
        const auto now = Clock::now();
        if (next < now) next = now;  // behind: carry on at the rate, don't burst to catch up
        while (!stop.load(std::memory_order_relaxed) && Clock::now() < next)
          std::this_thread::sleep_for(
              std::min<Clock::duration>(next - Clock::now(), std::chrono::milliseconds(100)));
      }
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace strait::sample
