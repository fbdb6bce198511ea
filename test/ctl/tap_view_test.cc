#include "ctl/tap_view.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace strait::ctl {
namespace {

using nlohmann::json;

class TapViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

TEST_F(TapViewTest, AnInboundRequestShowsItsCaller) {
  const json event{{"start", "2026-12-07T13:45:01.123456Z"},
                   {"direction", "inbound"},
                   {"tcp", false},
                   {"method", "GET"},
                   {"authority", "catalog:9080"},
                   {"path", "/items"},
                   {"status", 403},
                   {"grpcStatus", nullptr},
                   {"durationMs", 0.4},
                   {"flags", "-"},
                   {"peer", "spiffe://cluster.local/ns/demo/sa/scanner"}};
  const std::string line = render_tap_event(event, false);
  EXPECT_EQ(line,
            "13:45:01.123  in   GET      403          400us  scanner.demo                  "
            "catalog:9080/items\n");
}

TEST_F(TapViewTest, AnOutboundGrpcCallShowsItsUpstreamStatusAndFlags) {
  const json event{{"start", "2026-12-07T13:45:01Z"},
                   {"direction", "outbound"},
                   {"tcp", false},
                   {"method", "POST"},
                   {"authority", "reviews:9090"},
                   {"path", "/demo.Reviews/Get"},
                   {"status", 200},
                   {"grpcStatus", 14},
                   {"durationMs", 1534.0},
                   {"flags", "URX"},
                   {"upstreamHost", "127.0.0.1:16003"}};
  const std::string line = render_tap_event(event, true);
  EXPECT_NE(line.find("13:45:01.000  out  POST     200/14"), std::string::npos) << line;
  EXPECT_NE(line.find("1.53s"), std::string::npos) << line;
  EXPECT_NE(line.find("127.0.0.1:16003"), std::string::npos) << line;
  EXPECT_NE(line.find("reviews:9090/demo.Reviews/Get  URX"), std::string::npos) << line;
  EXPECT_EQ(line.find("\x1b[31m"), std::string::npos);  // a 200 is not a failure
}

TEST_F(TapViewTest, AFailureIsRedWithColor) {
  const json event{{"start", "x"}, {"direction", "outbound"}, {"status", 503}, {"durationMs", 2.0}};
  EXPECT_TRUE(render_tap_event(event, true).starts_with("\x1b[31m"));
  EXPECT_TRUE(render_tap_event(event, false).starts_with("x "));
  EXPECT_NE(tap_header(false).find("TIME          DIR  METHOD   STATUS"), std::string::npos)
      << tap_header(false);
}

TEST_F(TapViewTest, ShortIdentity) {
  EXPECT_EQ(short_identity("spiffe://cluster.local/ns/demo/sa/frontend"), "frontend.demo");
  EXPECT_EQ(short_identity("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(short_identity(""), "");
}

}  // namespace
}  // namespace strait::ctl
