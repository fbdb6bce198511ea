#include "proxy/load_balancer.h"

#include "proxy/snapshot.h"
#include "proxy/upstream_connector.h"
#include "proxy/worker.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include <string>
#include <vector>

namespace strait::proxy {
namespace {

std::vector<std::string> endpoints(int n, int skip = -1) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    if (i != skip) out.push_back("10.0.0." + std::to_string(i + 1) + ":15006");
  }
  return out;
}

// For both algorithms: a key always lands on the same endpoint, keys spread evenly, and removing
// one of N endpoints moves the keys it had and only about 1/N of all keys.
void check_consistency(const std::function<std::shared_ptr<const HashTable>(const std::vector<std::string>&)>& make) {
  constexpr int kEndpoints = 10;
  constexpr int kKeys = 20000;
  const auto full = endpoints(kEndpoints);
  const auto table = make(full);
  std::vector<int> load(kEndpoints, 0);
  std::vector<std::string> owner(kKeys);
  for (int k = 0; k < kKeys; ++k) {
    const auto h = stable_hash("user-" + std::to_string(k));
    const auto m = table->member(h);
    ASSERT_LT(m, static_cast<std::uint32_t>(kEndpoints));
    EXPECT_EQ(m, table->member(h));
    ++load[m];
    owner[k] = full[m];
  }
  for (int l : load) {
    EXPECT_GT(l, kKeys / kEndpoints / 2);
    EXPECT_LT(l, kKeys / kEndpoints * 3 / 2);
  }
  constexpr int kRemoved = 3;
  const auto fewer = endpoints(kEndpoints, kRemoved);
  const auto smaller = make(fewer);
  int moved = 0;
  for (int k = 0; k < kKeys; ++k) {
    const auto& now = fewer[smaller->member(stable_hash("user-" + std::to_string(k)))];
    if (now != owner[k]) {
      ++moved;
    } else {
      EXPECT_NE(owner[k], full[kRemoved]);
    }
  }
  // The removed endpoint's keys (about 1/10) must move; few others may.
  EXPECT_GE(moved, load[kRemoved]);
  EXPECT_LT(moved, kKeys * 15 / 100);
}

TEST(HashTable, RingHashIsConsistent) {
  check_consistency([](const auto& ids) { return HashTable::ring(ids, 1024); });
}

TEST(HashTable, MaglevIsConsistent) {
  check_consistency([](const auto& ids) { return HashTable::maglev(ids, 65537); });
}

TEST(HashTable, StableHashIsStable) {
  EXPECT_EQ(stable_hash("jason"), stable_hash("jason"));
  EXPECT_NE(stable_hash("jason"), stable_hash("jason2"));
}

}  // namespace
}  // namespace strait::proxy

namespace strait::proxy {
namespace {

class LeastRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_.fqdn = "reviews.shop.svc.cluster.local";
    service_.endpoints.resize(3);
    resolved_.service = &service_;
    resolved_.endpoint_names = {"10.0.0.1:15006", "10.0.0.2:15006", "10.0.0.3:15006"};
    resolved_.all = EndpointSubset{"", {0, 1, 2}, service_.fqdn, 0, nullptr};
    cluster_.name = "outbound|9080||" + service_.fqdn;
    cluster_.service = &resolved_;
    cluster_.set = &resolved_.all;
    cluster_.settings = &settings_;
  }
  Service service_;
  ResolvedService resolved_;
  TrafficSettings settings_;
  ResolvedCluster cluster_;
  Worker worker_{0};
};

TEST_F(LeastRequestTest, IsTheDefaultAndSpreadsAnIdleServiceEvenly) {
  EXPECT_EQ(LoadBalancer{}.kind, LoadBalancer::Kind::kLeastRequest);
  std::vector<int> picks(3, 0);
  for (int i = 0; i < 300; ++i) ++picks[first_choice(worker_, cluster_, std::nullopt)];
  EXPECT_EQ(picks, (std::vector<int>{100, 100, 100}));  // ties go to the round-robin choice
}

TEST_F(LeastRequestTest, AvoidsTheBusyEndpoint) {
  // Endpoint 0 has many requests in flight: it loses every comparison it is part of.
  std::vector<std::unique_ptr<EndpointRequest>> busy;
  for (int i = 0; i < 10; ++i) busy.push_back(std::make_unique<EndpointRequest>(worker_, resolved_.endpoint_names[0]));
  EXPECT_EQ(worker_.active_requests("10.0.0.1:15006"), 10);
  std::vector<int> picks(3, 0);
  for (int i = 0; i < 3000; ++i) ++picks[first_choice(worker_, cluster_, std::nullopt)];
  EXPECT_EQ(picks[0], 0);
  EXPECT_GT(picks[1], 1000);
  EXPECT_GT(picks[2], 1000);
  busy.clear();
  EXPECT_EQ(worker_.active_requests("10.0.0.1:15006"), 0);
}

}  // namespace
}  // namespace strait::proxy

namespace strait::proxy {
namespace {

TEST_F(LeastRequestTest, EjectedEndpointsArePassedOverUnlessEveryOneIs) {
  OutlierPolicy policy;
  policy.max_ejection_percent = 100;
  settings_.outlier = policy;
  const auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) worker_.outliers().record_status(cluster_, 1, 503, now);
  for (int k = 0; k < 9; ++k) {
    const EndpointOrder order = endpoints_to_try(worker_, cluster_, std::nullopt, kNoEndpoint);
    ASSERT_EQ(order.size, 2u);  // three endpoints, one ejected
    for (std::size_t i = 0; i < order.size; ++i) EXPECT_NE(order.indices[i], 1u);
  }
  for (std::size_t e : {0, 2}) {
    for (int i = 0; i < 5; ++i) worker_.outliers().record_status(cluster_, e, 503, now);
  }
  // Every endpoint ejected: they are tried anyway rather than failing the request.
  const EndpointOrder order = endpoints_to_try(worker_, cluster_, std::nullopt, kNoEndpoint);
  EXPECT_EQ(order.size, 3u);
}

}  // namespace
}  // namespace strait::proxy
