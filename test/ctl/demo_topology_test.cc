#include "ctl/demo_topology.h"

#include <gtest/gtest.h>

#include <set>

#include "config/resource.h"
#include "config/validation.h"

namespace strait::ctl {
namespace {

TEST(DemoTopologyTest, TheConfigIsValidIstioAsStraitdChecksIt) {
  auto resources = config::parse_resources(demo_config_yaml(), "demo.yaml");
  ASSERT_TRUE(resources) << resources.error();
  std::set<std::string> kinds;
  for (const auto& r : *resources) {
    const auto problems = config::validate(r);
    const std::string kind(r.kind->kind);
    EXPECT_TRUE(problems.empty()) << kind << " " << r.name << ": " << problems.front().to_string();
    kinds.insert(kind);
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"PeerAuthentication", "DestinationRule", "VirtualService",
                                          "AuthorizationPolicy", "Telemetry"}));
}

TEST(DemoTopologyTest, EveryCallNamesAServiceOfTheDemo) {
  std::set<std::string> served;
  for (const auto& w : demo_workloads()) {
    if (!w.app.empty()) served.insert(w.app);
    EXPECT_FALSE(w.service_account.empty()) << w.name;
  }
  for (const auto& w : demo_workloads()) {
    for (const auto& call : w.calls) {
      const auto scheme_end = call.find("://") + 3;
      const auto service = call.substr(scheme_end, call.find('.', scheme_end) - scheme_end);
      EXPECT_TRUE(served.contains(service)) << w.name << " calls " << call;
      EXPECT_NE(call.find(".demo:"), std::string::npos) << call;
    }
    // A traffic generator serves nothing; a server generates nothing.
    EXPECT_EQ(w.generate_per_second > 0, w.app.empty()) << w.name;
  }
}

}  // namespace
}  // namespace strait::ctl
