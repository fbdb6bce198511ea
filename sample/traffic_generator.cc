#include "traffic_generator.h"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

namespace strait::sample {
namespace {

using Clock = std::chrono::steady_clock;

// One target's schedule and counts, shared by its callers.
struct Schedule {
  std::mutex mutex;
  Clock::time_point next = Clock::now();
  Clock::time_point report = Clock::now() + std::chrono::seconds(10);
  long calls = 0, ok = 0;
};

// Sleeps until `when` or until `stop`, in steps short enough to notice `stop`; false on stop.
bool sleep_until(Clock::time_point when, const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    const auto now = Clock::now();
    if (now >= when) return true;
    std::this_thread::sleep_for(std::min<Clock::duration>(when - now, std::chrono::milliseconds(100)));
  }
  return false;
}

void call_on_schedule(const Target& target, Schedule& schedule, Clock::duration period,
                      const std::atomic<bool>& stop) {
  while (true) {
    Clock::time_point slot;
    {
      std::lock_guard lock(schedule.mutex);
      const auto now = Clock::now();
      // Behind (every caller was busy): carry on at the rate from now, no burst to catch up.
      if (schedule.next + period < now) schedule.next = now;
      slot = schedule.next;
      schedule.next += period;
    }
    if (!sleep_until(slot, stop)) return;
    const CallResult result = target.call({});
    std::lock_guard lock(schedule.mutex);
    ++schedule.calls;
    schedule.ok += result.ok ? 1 : 0;
    if (Clock::now() >= schedule.report) {
      std::printf("%s: %ld calls, %ld ok (last: %s)\n", target.text().c_str(), schedule.calls,
                  schedule.ok, result.line.c_str());
      std::fflush(stdout);
      schedule.report += std::chrono::seconds(10);
    }
  }
}

}  // namespace

void generate_traffic(const std::vector<std::unique_ptr<Target>>& targets, double per_second,
                      const std::atomic<bool>& stop) {
  const auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / per_second));
  std::vector<std::unique_ptr<Schedule>> schedules;
  std::vector<std::thread> threads;
  for (const auto& target : targets) {
    schedules.push_back(std::make_unique<Schedule>());
    for (int i = 0; i < kCallersPerTarget; ++i) {
      threads.emplace_back([&target, &schedule = *schedules.back(), period, &stop] {
        call_on_schedule(*target, schedule, period, stop);
      });
    }
  }
  for (auto& t : threads) t.join();
}

}  // namespace strait::sample
