#include "proxy/outlier_detection.h"

#include <gtest/gtest.h>

#include "proxy/config.h"
#include "proxy/snapshot.h"
#include "proxy/stats.h"

namespace strait::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class OutlierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_.fqdn = "reviews.shop.svc.cluster.local";
    service_.endpoints.resize(3);
    OutlierPolicy policy;
    policy.base_ejection = 30s;
    policy.interval = 10s;
    settings_.outlier = policy;
    resolved_.service = &service_;
    resolved_.endpoint_names = {"10.0.0.1:15006", "10.0.0.2:15006", "10.0.0.3:15006"};
    resolved_.all = EndpointSubset{"", {0, 1, 2}, service_.fqdn, 0, nullptr};
    cluster_.name = "outbound|9080||" + service_.fqdn;
    cluster_.service = &resolved_;
    cluster_.set = &resolved_.all;
    cluster_.settings = &settings_;
  }
  void fail(std::size_t endpoint, int times, Clock::time_point at, int status = 503) {
    for (int i = 0; i < times; ++i) tracker_.record_status(cluster_, endpoint, status, at);
  }
  bool ejected(std::size_t endpoint, Clock::time_point at) {
    return tracker_.ejecting(cluster_, at) && tracker_.ejected(cluster_, endpoint, at);
  }

  Service service_;
  ResolvedService resolved_;
  TrafficSettings settings_;
  ResolvedCluster cluster_;
  WorkerStats stats_;
  OutlierTracker tracker_{stats_};
  const Clock::time_point t0_ = Clock::now();
};

TEST_F(OutlierTest, FiveConsecutiveErrorsEjectForTheBaseTimeThenTheEndpointReturns) {
  fail(0, 4, t0_);
  tracker_.record_status(cluster_, 0, 200, t0_);  // a success starts the count again
  fail(0, 4, t0_);
  EXPECT_FALSE(ejected(0, t0_));
  fail(0, 1, t0_);
  EXPECT_TRUE(ejected(0, t0_));
  EXPECT_FALSE(ejected(1, t0_));
  EXPECT_EQ(stats_.outlier_ejections.value(), 1u);
  EXPECT_TRUE(ejected(0, t0_ + 29s));
  EXPECT_FALSE(ejected(0, t0_ + 30s));
  EXPECT_FALSE(tracker_.ejecting(cluster_, t0_ + 30s));
}

TEST_F(OutlierTest, EachEjectionLastsLongerAndHealthyIntervalsShortenItAgain) {
  fail(0, 5, t0_);
  const auto back = t0_ + 30s;
  fail(0, 5, back);  // at once: the second ejection is twice as long
  EXPECT_TRUE(ejected(0, back + 59s));
  // Healthy for three intervals after returning (nobody looked meanwhile): the multiplier decays
  // back to one.
  const auto later = back + 60s + 30s;
  fail(0, 5, later);
  EXPECT_TRUE(ejected(0, later + 29s));
  EXPECT_FALSE(ejected(0, later + 30s));
}

TEST_F(OutlierTest, MaxEjectionPercentStillAllowsOneAndLocalFailuresCount) {
  for (int i = 0; i < 5; ++i) tracker_.record_local_failure(cluster_, 0, t0_);  // connect failures
  EXPECT_TRUE(ejected(0, t0_));
  fail(1, 5, t0_, 500);  // 10% of 3 endpoints: only the one already ejected
  EXPECT_FALSE(ejected(1, t0_));
  EXPECT_EQ(stats_.outlier_ejections.value(), 1u);
}

TEST_F(OutlierTest, GatewayErrorsAndSplitLocalOrigin) {
  settings_.outlier->consecutive_5xx = 0;
  settings_.outlier->consecutive_gateway = 3;
  settings_.outlier->max_ejection_percent = 100;
  fail(0, 5, t0_, 500);  // not a gateway error
  EXPECT_FALSE(ejected(0, t0_));
  fail(0, 3, t0_, 504);
  EXPECT_TRUE(ejected(0, t0_));
  settings_.outlier->split_local_origin = true;
  settings_.outlier->consecutive_local_origin = 2;
  tracker_.record_local_failure(cluster_, 1, t0_);
  EXPECT_FALSE(ejected(1, t0_));
  tracker_.record_local_failure(cluster_, 1, t0_);
  EXPECT_TRUE(ejected(1, t0_));
}

TEST_F(OutlierTest, BelowMinHealthPercentEjectionsAreIgnored) {
  settings_.outlier->max_ejection_percent = 100;
  settings_.outlier->min_health_percent = 50;
  fail(0, 5, t0_);
  EXPECT_TRUE(ejected(0, t0_));  // 2 of 3 healthy
  fail(1, 5, t0_);
  EXPECT_FALSE(tracker_.ejecting(cluster_, t0_));  // 1 of 3: below 50%, every endpoint is used
}

TEST_F(OutlierTest, WithoutOutlierDetectionNothingIsTracked) {
  settings_.outlier.reset();
  fail(0, 50, t0_);
  EXPECT_FALSE(tracker_.ejecting(cluster_, t0_));
  EXPECT_EQ(stats_.outlier_ejections.value(), 0u);
}

}  // namespace
}  // namespace strait::proxy
