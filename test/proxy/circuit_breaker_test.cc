#include "proxy/circuit_breaker.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace strait::proxy {
namespace {

TEST(CircuitSlot, TakesUpToTheLimitAndReleasesWhenDestroyed) {
  std::atomic<std::int64_t> counter{0};
  {
    CircuitSlot first(counter, 2);
    CircuitSlot second(counter, 2);
    CircuitSlot third(counter, 2);
    EXPECT_TRUE(first.held());
    EXPECT_TRUE(second.held());
    EXPECT_FALSE(third.held());
    EXPECT_EQ(counter.load(), 2);
    CircuitSlot moved = std::move(first);
    EXPECT_FALSE(first.held());  // NOLINT(bugprone-use-after-move): the contract under test
    EXPECT_EQ(counter.load(), 2);
    second.release();
    EXPECT_EQ(counter.load(), 1);
  }
  EXPECT_EQ(counter.load(), 0);
  CircuitSlot unlimited(counter, ConnectionPoolPolicy::kUnlimited);
  EXPECT_TRUE(unlimited.held());
  EXPECT_EQ(counter.load(), 0);  // no limit: nothing shared is touched
  CircuitSlot moved_unlimited = std::move(unlimited);
  EXPECT_TRUE(moved_unlimited.held());
  EXPECT_FALSE(unlimited.held());  // NOLINT(bugprone-use-after-move): the contract under test
}

TEST(CircuitSlot, ConcurrentTakersNeverExceedTheLimit) {
  std::atomic<std::int64_t> counter{0};
  std::atomic<int> held_at_once{0};
  std::atomic<int> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        CircuitSlot slot(counter, 3);
        if (!slot.held()) continue;
        const int now = ++held_at_once;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --held_at_once;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(most.load(), 3);
  EXPECT_EQ(counter.load(), 0);
}

TEST(CircuitRegistry, KeepsStateAcrossSnapshotsAndForgetsUnusedServices) {
  CircuitRegistry registry;
  auto state = registry.state_for("reviews");
  state->requests = 7;
  EXPECT_EQ(registry.state_for("reviews")->requests.load(), 7);  // the next snapshot sees it
  state.reset();
  registry.forget_unused();
  EXPECT_EQ(registry.state_for("reviews")->requests.load(), 0);
}

}  // namespace
}  // namespace strait::proxy
