#include "control/traffic_store.h"

#include <gtest/gtest.h>

namespace strait::control {
namespace {

using namespace std::chrono_literals;
using Clock = TrafficStore::Clock;

// 10 s buckets; t(k) is k seconds into a bucket-aligned minute.
Clock::time_point t(int seconds) {
  return Clock::time_point(std::chrono::seconds(1'700'000'000 + seconds));
}

TrafficSeries series(std::uint64_t requests, int code = 200, double ms_bucket_bound = 5) {
  TrafficSeries s;  // as the callee's sidecar reports it
  s.reported_by_source = false;
  s.source_workload = "frontend-v1";
  s.source_namespace = "demo";
  s.source_app = "frontend";
  s.destination_service = "catalog.demo.svc.cluster.local";
  s.destination_workload = "catalog-v1";
  s.destination_namespace = "demo";
  s.destination_app = "catalog";
  s.protocol = "http";
  s.response_code = code;
  s.mutual_tls = true;
  s.requests = requests;
  for (std::size_t i = 0; i < kDurationBucketsMs.size(); ++i) {
    if (kDurationBucketsMs[i] == ms_bucket_bound) s.duration_buckets[i] = requests;
  }
  return s;
}

TEST(DurationQuantileTest, InterpolatesWithinTheBucketAsPrometheusDoes) {
  std::array<std::uint64_t, kDurationBucketCount> b{};
  EXPECT_EQ(duration_quantile(b, 0.99), -1);
  b[2] = 100;  // (1, 5] ms
  EXPECT_DOUBLE_EQ(duration_quantile(b, 0.5), 3.0);
  EXPECT_DOUBLE_EQ(duration_quantile(b, 1.0), 5.0);
  b[6] = 100;  // (50, 100] ms: the upper half
  EXPECT_DOUBLE_EQ(duration_quantile(b, 0.75), 75.0);
  b = {};
  b[kDurationBucketCount - 1] = 3;  // +Inf
  EXPECT_DOUBLE_EQ(duration_quantile(b, 0.5), kDurationBucketsMs.back());
}

TEST(TrafficStoreTest, RatesComeFromDeltasBetweenReportsNotFromTheFirstReport) {
  TrafficStore store;
  const std::vector first{series(1000)};  // since the proxy started: a baseline only
  store.record("frontend-v1.demo", t(1), first);
  const std::vector second{series(1050)};
  store.record("frontend-v1.demo", t(6), second);
  const std::vector third{series(1100)};
  store.record("frontend-v1.demo", t(11), third);
  const auto edges = store.edges(t(21), 20s);  // buckets [0,10) and [10,20)
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0].requests, 100u);
  EXPECT_DOUBLE_EQ(edges[0].requests_per_second, 5.0);
  EXPECT_EQ(edges[0].key.destination_workload, "catalog-v1");
  EXPECT_TRUE(edges[0].mutual_tls);
  EXPECT_EQ(edges[0].failures, 0u);
  EXPECT_GT(edges[0].p99_ms, 1.0);
  EXPECT_LE(edges[0].p99_ms, 5.0);
  // The current, incomplete bucket is not part of a window: at t(12) only [0,10) has ended, with
  // the 50 reported at t(6); the 50 reported at t(11) are still to come.
  const auto early = store.edges(t(12), 10s);
  ASSERT_EQ(early.size(), 1u);
  EXPECT_EQ(early[0].requests, 50u);
}

TEST(TrafficStoreTest, FailuresAndRefusalsAreCountedApartAndSharesAreOfTheWindow) {
  TrafficStore store;
  store.record("p", t(0), std::vector{series(0), series(0, 503), series(0, 403)});
  store.record("p", t(5), std::vector{series(90), series(5, 503), series(5, 403)});
  const auto edges = store.edges(t(10), 10s);
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0].requests, 100u);
  EXPECT_EQ(edges[0].failures, 5u);
  EXPECT_EQ(edges[0].client_errors, 5u);
  EXPECT_DOUBLE_EQ(edges[0].failure_share, 0.05);
}

TEST(TrafficStoreTest, ARequestReportedByBothSidecarsCountsOnce) {
  TrafficSeries client_side = series(0);
  client_side.reported_by_source = true;
  client_side.mutual_tls = false;  // the caller's sidecar writes no security policy
  client_side.response_flags = "-";
  TrafficStore store;
  store.record("client", t(0), std::vector{client_side});
  store.record("server", t(0), std::vector{series(0)});
  client_side.requests = 40;
  store.record("client", t(5), std::vector{client_side});
  store.record("server", t(5), std::vector{series(40)});
  auto edges = store.edges(t(10), 10s);
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0].requests, 40u);
  EXPECT_TRUE(edges[0].mutual_tls);
}

TEST(TrafficStoreTest, TheCallersReportCountsForWhatTheCalleeNeverSaw) {
  TrafficStore store;
  TrafficSeries no_sidecar = series(0);  // a callee without a sidecar
  no_sidecar.reported_by_source = true;
  no_sidecar.destination_workload = "unknown";
  TrafficSeries connect_failure = series(0, 503);  // made by the caller's sidecar
  connect_failure.reported_by_source = true;
  connect_failure.response_flags = "UF";
  store.record("client", t(0), std::vector{no_sidecar, connect_failure});
  no_sidecar.requests = 7;
  connect_failure.requests = 2;
  store.record("client", t(5), std::vector{no_sidecar, connect_failure});
  const auto edges = store.edges(t(10), 10s);
  ASSERT_EQ(edges.size(), 2u);
  std::uint64_t requests = 0, failures = 0;
  for (const auto& e : edges) {
    requests += e.requests;
    failures += e.failures;
    EXPECT_FALSE(e.mutual_tls);  // nobody said it was
  }
  EXPECT_EQ(requests, 9u);
  EXPECT_EQ(failures, 2u);
}

TEST(TrafficStoreTest, ACallerWithoutASidecarIsKnownFromTheCalleesReport) {
  TrafficStore store;
  TrafficSeries outside = series(0);
  outside.source_workload = "unknown";
  outside.mutual_tls = false;
  store.record("server", t(0), std::vector{outside});
  outside.requests = 7;
  store.record("server", t(5), std::vector{outside});
  const auto edges = store.edges(t(10), 10s);
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0].key.source_workload, "unknown");
  EXPECT_EQ(edges[0].requests, 7u);
  EXPECT_FALSE(edges[0].mutual_tls);
}

TEST(TrafficStoreTest, ARestartedProxyCountsItsNewTotalsAndANewSeriesCountsWhole) {
  TrafficStore store;
  store.record("p", t(0), std::vector{series(500)});
  store.record("p", t(5), std::vector{series(20), series(3, 503)});  // restarted: 20 since; 503 new
  const auto edges = store.edges(t(10), 10s);
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0].requests, 23u);
  EXPECT_EQ(edges[0].failures, 3u);
}

TEST(TrafficStoreTest, OldBucketsLeaveTheWindowAndTheRing) {
  TrafficStore store(10s, 6);
  store.record("p", t(0), std::vector{series(0)});
  store.record("p", t(5), std::vector{series(10)});
  EXPECT_EQ(store.edges(t(10), 10s).size(), 1u);
  EXPECT_TRUE(store.edges(t(30), 10s).empty());    // bucket [0,10) is outside [20,30)
  EXPECT_EQ(store.edges(t(30), 60s).size(), 1u);   // but inside the ring (5 complete buckets)
  EXPECT_TRUE(store.edges(t(300), 600s).empty());  // overwritten or out of range
}

TEST(TrafficStoreTest, AServiceSeriesHasOnePointPerBucketOldestFirst) {
  TrafficStore store;
  store.record("p", t(0), std::vector{series(0)});
  store.record("p", t(5), std::vector{series(10)});
  store.record("p", t(25), std::vector{series(30)});
  const auto points = store.service_series("catalog.demo.svc.cluster.local", t(30), 30s);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_DOUBLE_EQ(points[0].requests_per_second, 1.0);
  EXPECT_DOUBLE_EQ(points[1].requests_per_second, 0.0);
  EXPECT_EQ(points[1].p99_ms, -1);
  EXPECT_DOUBLE_EQ(points[2].requests_per_second, 2.0);
  EXPECT_EQ(points[2].start_unix_seconds - points[0].start_unix_seconds, 20);
  EXPECT_TRUE(store.service_series("other", t(30), 30s)[0].requests_per_second == 0.0);
}

TEST(TrafficStoreTest, ForgettingAProxyKeepsItsHistoryAndRestartsItsBaseline) {
  TrafficStore store;
  store.record("p", t(0), std::vector{series(0)});
  store.record("p", t(5), std::vector{series(10)});
  store.forget("p");
  store.record("p", t(6), std::vector{series(1000)});  // a baseline again
  const auto edges = store.edges(t(10), 10s);
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0].requests, 10u);
}

}  // namespace
}  // namespace strait::control
