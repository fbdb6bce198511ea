#include "net/read_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>

namespace strait::net {
namespace {

// Fills up to `n` bytes of a prepared buffer with a position-dependent pattern starting at `from`
// and commits them; returns how many were written.
std::size_t fill(ReadBuffer& buffer, std::size_t want, std::size_t n, std::size_t from,
                 std::string& mirror) {
  const asio::mutable_buffer space = buffer.prepare(want);
  const std::size_t count = std::min(n, space.size());
  auto* bytes = static_cast<char*>(space.data());
  for (std::size_t i = 0; i < count; ++i) {
    bytes[i] = static_cast<char>('a' + (from + i) % 26);
    mirror.push_back(bytes[i]);
  }
  buffer.commit(count);
  return count;
}

TEST(ReadBufferTest, StartsEmpty) {
  ReadBuffer buffer(64 * 1024);
  EXPECT_TRUE(buffer.empty());
  EXPECT_FALSE(buffer.full());
  EXPECT_EQ(buffer.size(), 0U);
  EXPECT_EQ(buffer.data(), "");
}

TEST(ReadBufferTest, PrepareGivesAtLeastWhatIsWanted) {
  ReadBuffer buffer(1024 * 1024);
  EXPECT_GE(buffer.prepare(1).size(), 1U);
  EXPECT_GE(buffer.prepare(16 * 1024).size(), 16U * 1024);
  EXPECT_GE(buffer.prepare(100'000).size(), 100'000U);
  EXPECT_GE(buffer.prepare().size(), 16U * 1024);  // the default
}

TEST(ReadBufferTest, GrowsUpToTheCapNeverBeyond) {
  constexpr std::size_t kCap = 10'000;  // not a power of two: growth is clamped
  ReadBuffer buffer(kCap);
  std::string mirror;
  std::size_t total = 0;
  for (int i = 0; i < 100 && !buffer.full(); ++i) {
    const asio::mutable_buffer space = buffer.prepare(3000);
    ASSERT_LE(buffer.size() + space.size(), kCap);
    ASSERT_GT(space.size(), 0U);
    total += fill(buffer, 3000, 3000, total, mirror);
  }
  EXPECT_TRUE(buffer.full());
  EXPECT_EQ(buffer.size(), kCap);
  EXPECT_EQ(buffer.data(), mirror);
  // Full: no space at all, whatever is asked.
  EXPECT_EQ(buffer.prepare(1).size(), 0U);
  EXPECT_EQ(buffer.prepare(1 << 20).size(), 0U);
}

TEST(ReadBufferTest, AWantLargerThanTheCapGetsTheCap) {
  ReadBuffer buffer(4096);
  EXPECT_EQ(buffer.prepare(1 << 20).size(), 4096U);
  ReadBuffer small(100);
  EXPECT_EQ(small.prepare(16 * 1024).size(), 100U);
}

TEST(ReadBufferTest, PrepareIsLimitedByTheCapNotByWant) {
  // With 9,000 of 10,000 bytes held, 1,000 remain: that is what prepare() offers.
  ReadBuffer buffer(10'000);
  std::string mirror;
  std::size_t total = 0;
  while (total < 9000) total += fill(buffer, 9000 - total, 9000 - total, total, mirror);
  EXPECT_EQ(buffer.size(), 9000U);
  EXPECT_EQ(buffer.prepare(4096).size(), 1000U);
  EXPECT_FALSE(buffer.full());
}

TEST(ReadBufferTest, ConsumeAdvancesAndEmptiesReset) {
  ReadBuffer buffer(4096);
  std::string mirror;
  fill(buffer, 100, 100, 0, mirror);
  buffer.consume(40);
  EXPECT_EQ(buffer.size(), 60U);
  EXPECT_EQ(buffer.data(), std::string_view(mirror).substr(40));
  buffer.consume(60);
  EXPECT_TRUE(buffer.empty());
  // Emptying rewinds: the whole capacity is available again without compaction.
  EXPECT_EQ(buffer.prepare(1).size(), 4096U);
}

TEST(ReadBufferTest, CompactionKeepsTheUnconsumedBytes) {
  ReadBuffer buffer(4096);
  std::string mirror;
  std::size_t total = 0;
  while (!buffer.full()) total += fill(buffer, 4096, 4096, total, mirror);
  EXPECT_EQ(buffer.prepare(1).size(), 0U);
  buffer.consume(1000);
  mirror.erase(0, 1000);
  // At the cap, room is made by moving the 3,096 remaining bytes to the front.
  const asio::mutable_buffer space = buffer.prepare(1000);
  EXPECT_EQ(space.size(), 1000U);
  EXPECT_EQ(buffer.data(), mirror);
  total += fill(buffer, 1000, 1000, total, mirror);
  EXPECT_TRUE(buffer.full());
  EXPECT_EQ(buffer.data(), mirror);
}

TEST(ReadBufferTest, GrowthKeepsTheUnconsumedBytes) {
  ReadBuffer buffer(1024 * 1024);
  std::string mirror;
  std::size_t total = fill(buffer, 1, 4096, 0, mirror);  // the first allocation: 4 KiB
  ASSERT_EQ(total, 4096U);
  buffer.consume(100);
  mirror.erase(0, 100);
  const asio::mutable_buffer space = buffer.prepare(8192);
  EXPECT_GE(space.size(), 8192U);
  EXPECT_EQ(buffer.data(), mirror);
  total += fill(buffer, 8192, 8192, total, mirror);
  EXPECT_EQ(buffer.data(), mirror);
  EXPECT_EQ(buffer.size(), 4096U - 100 + 8192);
}

TEST(ReadBufferTest, ManyPartialReadsAndConsumesKeepOrder) {
  ReadBuffer buffer(8192);
  std::string mirror;
  std::string consumed;
  std::size_t total = 0;
  for (int round = 0; round < 2000; ++round) {
    total += fill(buffer, 1 + (round * 37) % 3000, 1 + (round * 53) % 2000, total, mirror);
    ASSERT_LE(buffer.size(), 8192U);
    ASSERT_EQ(buffer.data(), mirror);
    const std::size_t take = std::min<std::size_t>(buffer.size(), (round * 29) % 1700);
    consumed.append(buffer.data().substr(0, take));
    buffer.consume(take);
    mirror.erase(0, take);
  }
  consumed.append(buffer.data());
  ASSERT_EQ(consumed.size(), total);
  for (std::size_t i = 0; i < consumed.size(); ++i) {
    ASSERT_EQ(consumed[i], static_cast<char>('a' + i % 26)) << i;
  }
}

TEST(ReadBufferTest, ShrinkIfIdleReleasesLargeEmptyBuffers) {
  ReadBuffer buffer(64 * 1024);
  std::string mirror;
  std::size_t total = 0;
  while (!buffer.full()) total += fill(buffer, 64 * 1024, 64 * 1024, total, mirror);
  buffer.consume(buffer.size());
  buffer.shrink_if_idle(16 * 1024);
  // Released: the next prepare starts from the first 4 KiB allocation again.
  EXPECT_EQ(buffer.prepare(1).size(), 4096U);
}

TEST(ReadBufferTest, ShrinkIfIdleKeepsDataAndSmallBuffers) {
  ReadBuffer buffer(64 * 1024);
  std::string mirror;
  fill(buffer, 32 * 1024, 10, 0, mirror);
  const std::size_t room = buffer.prepare(1).size();
  buffer.shrink_if_idle(16 * 1024);  // not empty: nothing happens
  EXPECT_EQ(buffer.data(), mirror);
  EXPECT_EQ(buffer.prepare(1).size(), room);

  ReadBuffer small(64 * 1024);
  small.prepare(1);                 // 4 KiB
  small.shrink_if_idle(16 * 1024);  // empty but small: kept
  EXPECT_EQ(small.prepare(1).size(), 4096U);
  small.shrink_if_idle(1024);  // now larger than what to keep: released, and regrown on demand
  EXPECT_EQ(small.prepare(1).size(), 4096U);
  EXPECT_TRUE(small.empty());
}

}  // namespace
}  // namespace strait::net
