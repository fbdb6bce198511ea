#include "proxy/request_tap.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace strait::proxy {
namespace {

AccessLogRecord record(std::int64_t start, std::string_view path) {
  AccessLogRecord r{};
  r.start_unix_nanos = start;
  r.path.assign(path);
  return r;
}

TEST(RequestTapTest, TapsUntilItsTimeIsUp) {
  RequestTap tap(2);
  const auto now = std::chrono::steady_clock::now();
  EXPECT_FALSE(tap.tapping(now));
  tap.tap_for(std::chrono::seconds(10));
  EXPECT_TRUE(tap.tapping(now));
  EXPECT_TRUE(tap.tapping(now + std::chrono::seconds(9)));
  EXPECT_FALSE(tap.tapping(now + std::chrono::seconds(11)));
  tap.tap_for(std::chrono::seconds(0));
  EXPECT_FALSE(tap.tapping(now));
}

TEST(RequestTapTest, DrainsEveryWorkersRingAndCountsWhatAFullRingDropped) {
  RequestTap tap(2);
  EXPECT_TRUE(tap.submit(0, record(1, "/a")));
  EXPECT_TRUE(tap.submit(1, record(2, "/b")));
  EXPECT_FALSE(tap.submit(2, record(3, "/no-such-worker")));
  std::vector<AccessLogRecord> out;
  EXPECT_EQ(tap.drain(out, 100), 0u);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].path.view(), "/a");
  EXPECT_EQ(out[1].path.view(), "/b");

  for (std::size_t i = 0; i < RequestTap::kRingCapacity + 3; ++i) tap.submit(0, record(4, "/full"));
  out.clear();
  EXPECT_EQ(tap.drain(out, 10), 3u);  // dropped since the last drain
  EXPECT_EQ(out.size(), 5u);          // worker 0's share of the limit
  out.clear();
  EXPECT_EQ(tap.drain(out, 10'000), 0u);
  EXPECT_EQ(out.size(), RequestTap::kRingCapacity - 5);
}

TEST(RequestTapTest, ABusyWorkerDoesNotCrowdOutTheOthers) {
  RequestTap tap(2);
  for (int i = 0; i < 100; ++i) tap.submit(0, record(i, "/busy"));
  for (int i = 0; i < 3; ++i) tap.submit(1, record(i, "/quiet"));
  std::vector<AccessLogRecord> out;
  tap.drain(out, 10);
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(std::count_if(out.begin(), out.end(),
                          [](const auto& r) { return r.path.view() == "/quiet"; }),
            3);
}

}  // namespace
}  // namespace strait::proxy
