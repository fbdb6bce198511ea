#include "ctl/traffic_view.h"

#include <gtest/gtest.h>

namespace strait::ctl {
namespace {

using nlohmann::json;

TEST(TrafficViewTest, ServicesBusiestFirstThenTheEdges) {
  const json traffic = json::parse(R"({
    "windowSeconds": 60,
    "services": [
      {"service": "reviews.demo.svc.cluster.local", "rps": 1.0, "failureShare": 0, "clientErrors": 0,
       "p50Ms": 3.0, "p95Ms": 4.5, "p99Ms": 4.9, "mtls": true},
      {"service": "catalog.demo.svc.cluster.local", "rps": 6.0, "failureShare": 0.025, "clientErrors": 60,
       "p50Ms": 4.2, "p95Ms": 22.0, "p99Ms": 1500.0, "mtls": true}],
    "edges": [
      {"source": {"workload": "scanner", "namespace": "demo"},
       "destination": {"service": "catalog.demo.svc.cluster.local", "workload": "catalog-v1", "namespace": "demo"},
       "rps": 0.8, "failureShare": 0, "clientErrors": 48, "p99Ms": null, "mtls": true},
      {"source": {"workload": "unknown", "namespace": "unknown"},
       "destination": {"service": "reviews.demo.svc.cluster.local", "workload": "reviews-v1", "namespace": "demo"},
       "rps": 1.0, "failureShare": 0, "clientErrors": 0, "p99Ms": 4.9, "mtls": false}]})");
  const std::string text = render_traffic(traffic, false);
  EXPECT_LT(text.find("catalog.demo"), text.find("reviews.demo"));
  EXPECT_NE(
      text.find("catalog.demo.svc.cluster.local  6.0  97.50%   60   4.2ms  22.0ms  1.50s  yes"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("FROM"), std::string::npos);
  EXPECT_NE(text.find("scanner.demo  catalog-v1.demo (catalog.demo.svc.cluster.local)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("unknown "), std::string::npos) << text;
  EXPECT_LT(text.find("unknown "), text.find("scanner.demo"));  // 1.0 rps before 0.8
}

TEST(TrafficViewTest, NoTrafficSaysSo) {
  EXPECT_EQ(render_traffic(json{{"windowSeconds", 60}, {"services", json::array()}}, false),
            "No traffic in the last 60s.\n");
}

}  // namespace
}  // namespace strait::ctl
