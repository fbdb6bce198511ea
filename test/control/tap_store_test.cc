#include "control/tap_store.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace strait::control {
namespace {

using Clock = TapStore::Clock;
using std::chrono::seconds;

mesh::v1::TapBatch batch(int events, const std::string& path = "/x", std::uint64_t dropped = 0) {
  mesh::v1::TapBatch b;
  for (int i = 0; i < events; ++i) {
    auto* e = b.add_events();
    e->set_path(path + std::to_string(i));
    e->set_response_code(200);
  }
  b.set_dropped(dropped);
  return b;
}

// renew(), and told() when it says so, as MeshHub does.
bool renew_and_tell(TapStore& taps, const std::string& proxy, seconds lease,
                    Clock::time_point now) {
  if (!taps.renew(proxy, lease, now)) return false;
  taps.told(proxy, lease, now);
  return true;
}

TEST(TapStoreTest, ALeaseIsToldWhenNewAndAgainWhenAThirdIsGone) {
  TapStore taps;
  const auto t0 = Clock::now();
  EXPECT_TRUE(renew_and_tell(taps, "a.ns", seconds(30), t0));
  EXPECT_FALSE(renew_and_tell(taps, "a.ns", seconds(30), t0 + seconds(1)));
  EXPECT_FALSE(renew_and_tell(taps, "a.ns", seconds(30), t0 + seconds(9)));
  EXPECT_TRUE(renew_and_tell(taps, "a.ns", seconds(30), t0 + seconds(10)));
  // A longer lease is told at once.
  EXPECT_TRUE(renew_and_tell(taps, "a.ns", seconds(60), t0 + seconds(11)));
  EXPECT_TRUE(renew_and_tell(taps, "b.ns", seconds(30), t0));
  EXPECT_EQ(taps.tapped(t0 + seconds(12)), 2u);
  EXPECT_EQ(taps.tapped(t0 + seconds(50)), 1u);
  // Ended: told again.
  EXPECT_TRUE(renew_and_tell(taps, "b.ns", seconds(30), t0 + seconds(45)));
}

TEST(TapStoreTest, AProxyIsToldAgainWhenNotToldOrItsStreamChanged) {
  TapStore taps;
  const auto t0 = Clock::now();
  // The control could not be queued (its stream had ended): the next poll tries again.
  EXPECT_TRUE(taps.renew("a.ns", seconds(30), t0));
  EXPECT_TRUE(taps.renew("a.ns", seconds(30), t0 + seconds(1)));
  taps.told("a.ns", seconds(30), t0 + seconds(1));
  EXPECT_FALSE(taps.renew("a.ns", seconds(30), t0 + seconds(2)));
  // A new stream starts untapped: told at the next poll, not a third of the lease later.
  taps.stream_changed("a.ns");
  EXPECT_TRUE(taps.renew("a.ns", seconds(30), t0 + seconds(3)));
}

TEST(TapStoreTest, EventsAreNumberedAndReadAfterANumber) {
  TapStore taps;
  const auto t0 = Clock::now();
  // Nothing is kept for a proxy that is not tapped.
  taps.record("a.ns", batch(3), t0);
  EXPECT_TRUE(taps.after("a.ns", 0, 100).events.empty());

  taps.renew("a.ns", seconds(30), t0);
  auto start = taps.after("a.ns", std::nullopt, 100);
  EXPECT_EQ(start.next, 0u);
  taps.record("a.ns", batch(3, "/first", 2), t0);
  taps.record("a.ns", batch(2, "/second"), t0);
  auto page = taps.after("a.ns", 0, 100);
  ASSERT_EQ(page.events.size(), 5u);
  EXPECT_EQ(page.events[0].first, 1u);
  EXPECT_EQ(page.events[0].second.path(), "/first0");
  EXPECT_EQ(page.events[4].first, 5u);
  EXPECT_EQ(page.events[4].second.path(), "/second1");
  EXPECT_EQ(page.next, 5u);
  EXPECT_EQ(page.dropped, 2u);
  EXPECT_EQ(page.missed, 0u);

  auto limited = taps.after("a.ns", 1, 2);
  ASSERT_EQ(limited.events.size(), 2u);
  EXPECT_EQ(limited.events[0].first, 2u);
  EXPECT_EQ(limited.next, 3u);
  EXPECT_TRUE(taps.after("a.ns", 5, 100).events.empty());
  EXPECT_EQ(taps.after("a.ns", 5, 100).next, 5u);
  // A reader starting now gets none, and where the newest is.
  EXPECT_TRUE(taps.after("a.ns", std::nullopt, 100).events.empty());
  EXPECT_EQ(taps.after("a.ns", std::nullopt, 100).next, 5u);
  // A number from before a straitd restart reads from the oldest kept.
  EXPECT_EQ(taps.after("a.ns", 999, 100).events.size(), 5u);
  EXPECT_TRUE(taps.after("unknown", 0, 100).events.empty());

  // The stream changed (a reconnect): numbering goes on.
  taps.stream_changed("a.ns");
  taps.record("a.ns", batch(1, "/third"), t0);
  auto more = taps.after("a.ns", 5, 100);
  ASSERT_EQ(more.events.size(), 1u);
  EXPECT_EQ(more.events[0].first, 6u);
}

TEST(TapStoreTest, OnlyTheMostRecentAreKeptAndTheRestCountedAsMissed) {
  TapStore taps;
  const auto t0 = Clock::now();
  taps.renew("a.ns", seconds(30), t0);
  taps.record("a.ns", batch(static_cast<int>(TapStore::kKeptPerProxy) + 10), t0);
  auto page = taps.after("a.ns", 0, 5);
  EXPECT_EQ(page.missed, 10u);
  ASSERT_EQ(page.events.size(), 5u);
  EXPECT_EQ(page.events[0].first, 11u);

  // A minute after the lease ended the events go (at the next renew); their numbers stay used.
  const auto later = t0 + seconds(30) + TapStore::kKeptAfterLease + seconds(1);
  taps.renew("b.ns", seconds(30), later);
  const auto gone = taps.after("a.ns", 100, 5);
  EXPECT_TRUE(gone.events.empty());
  EXPECT_EQ(gone.missed, TapStore::kKeptPerProxy + 10 - 100);
  EXPECT_EQ(gone.next, TapStore::kKeptPerProxy + 10);
  EXPECT_EQ(taps.after("a.ns", gone.next, 5).missed, 0u);
}

TEST(TapStoreTest, AnEventAsTheApiShowsIt) {
  mesh::v1::TapEvent e;
  e.set_start_unix_nanos(1'700'000'000'123'456'000);
  e.set_inbound(true);
  e.set_method("GET");
  e.set_authority("catalog:9080");
  e.set_path("/items");
  e.set_protocol("HTTP/1.1");
  e.set_response_code(503);
  e.set_grpc_status(-1);
  e.set_duration_micros(12'500);
  e.set_response_flags("UF");
  e.set_peer("spiffe://cluster.local/ns/demo/sa/frontend");
  const auto j = tap_event_json(7, e);
  EXPECT_EQ(j["seq"], 7);
  EXPECT_EQ(j["start"], "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(j["direction"], "inbound");
  EXPECT_EQ(j["status"], 503);
  EXPECT_TRUE(j["grpcStatus"].is_null());
  EXPECT_DOUBLE_EQ(j["durationMs"].get<double>(), 12.5);
  EXPECT_EQ(j["flags"], "UF");
  EXPECT_EQ(j["peer"], "spiffe://cluster.local/ns/demo/sa/frontend");
  EXPECT_TRUE(j["traceId"].is_null());
}

}  // namespace
}  // namespace strait::control
