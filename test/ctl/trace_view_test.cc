// straitctl traces: the table of summaries and the waterfall of one trace.
#include "ctl/trace_view.h"

#include <gtest/gtest.h>

namespace strait::ctl {
namespace {

using nlohmann::json;

json span(std::string id, std::string parent, std::string service, std::string name,
          std::string kind, std::int64_t start_us, double duration_ms,
          json attributes = json::object(), bool error = false) {
  return json{{"traceId", "4bf92f3577b34da6a3ce929d0e0e4736"},
              {"spanId", id},
              {"parentSpanId", parent},
              {"name", name},
              {"kind", kind},
              {"service", service},
              {"startUnixNano", std::to_string(1'700'000'000'000'000'000 + start_us * 1000)},
              {"durationMs", duration_ms},
              {"error", error},
              {"attributes", attributes}};
}

TEST(TraceViewTest, TheTableHasOneRowPerTrace) {
  const json answer = json::parse(R"({"traces":[
    {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","rootService":"web","rootName":"GET /",
     "startTime":"2023-11-14T22:13:20.000000Z","durationMs":12.5,"spanCount":3,
     "services":["reviews","web"],"error":true},
    {"traceId":"0000000000000000a3ce929d0e0e4736","rootService":"ratings","rootName":"get",
     "startTime":"2023-11-14T22:13:19.000000Z","durationMs":0.25,"spanCount":1,
     "services":["ratings"],"error":false}]})");
  EXPECT_EQ(render_trace_table(answer, false),
            "TRACE ID                          ROOT          START                        DURATION "
            " SPANS  SERVICES     ERROR\n"
            "4bf92f3577b34da6a3ce929d0e0e4736  web: GET /    2023-11-14T22:13:20.000000Z  12.500ms "
            " 3      reviews,web  yes\n"
            "0000000000000000a3ce929d0e0e4736  ratings: get  2023-11-14T22:13:19.000000Z  0.250ms  "
            " 1      ratings      no\n");
  // Whatever the answer holds, the header still prints and nothing throws.
  EXPECT_EQ(
      render_trace_table(json::parse(R"({"traces":[{"durationMs":"x","services":7}]})"), false),
      "TRACE ID  ROOT  START  DURATION  SPANS  SERVICES  ERROR\n"
      "          :            0.000ms                    no\n");
}

TEST(TraceViewTest, TheWaterfallIndentsChildrenUnderTheirParentByStart) {
  json trace{{"traceId", "4bf92f3577b34da6a3ce929d0e0e4736"}, {"spans", json::array()}};
  auto& spans = trace["spans"];
  // Out of order on purpose: the view orders by start under each parent.
  spans.push_back(span("b", "a", "reviews", "GET /reviews", "server", 5000, 4.0,
                       {{"http.response.status_code", "200"}}));
  spans.push_back(
      span("a", "", "web", "GET /", "server", 0, 10.0, {{"http.status_code", "503"}}, true));
  spans.push_back(span("c", "a", "web", "GET /ratings", "client", 1000, 2.0));
  spans.push_back(span("d", "b", "ratings", "SELECT", "client", 6000, 1.0, json::object(), true));
  spans.push_back(span("e", "zz", "cache", "lookup", "internal", 9000, 1.0));  // parent not held
  EXPECT_EQ(render_waterfall(trace, 10),
            "Trace 4bf92f3577b34da6a3ce929d0e0e4736: 5 spans, 4 services, 10.000ms\n"
            "\n"
            "web: GET / [server]               +0.000ms  10.000ms  ██████████  503 ERROR\n"
            "  web: GET /ratings [client]      +1.000ms   2.000ms  ─██───────\n"
            "  reviews: GET /reviews [server]  +5.000ms   4.000ms  ─────████─  200\n"
            "    ratings: SELECT [client]      +6.000ms   1.000ms  ──────█───  ERROR\n"
            "cache: lookup [internal]          +9.000ms   1.000ms  ─────────█\n");
}

TEST(TraceViewTest, BarsAreAtLeastOneColumnAndScaledToTheWidth) {
  json trace{{"traceId", "t"},
             {"spans",
              {span("a", "", "web", "GET /", "server", 0, 100.0),
               span("b", "a", "web", "tiny", "client", 50'000, 0.001)}}};
  const std::string out = render_waterfall(trace, kWaterfallWidth);
  EXPECT_NE(out.find("web: GET / [server]    +0.000ms  100.000ms  " +
                     [] {
                       std::string full;
                       for (int i = 0; i < 40; ++i) full += "█";
                       return full;
                     }()),
            std::string::npos)
      << out;
  std::string tiny;
  for (int i = 0; i < 40; ++i) tiny += i == 20 ? "█" : "─";
  EXPECT_NE(out.find("  web: tiny [client]  +50.000ms    0.001ms  " + tiny), std::string::npos)
      << out;
}

TEST(TraceViewTest, ParentCyclesAndEmptyTracesStillPrint) {
  json cycle{{"traceId", "t"},
             {"spans",
              {span("a", "b", "x", "one", "server", 0, 1.0),
               span("b", "a", "x", "two", "server", 1000, 1.0)}}};
  EXPECT_EQ(render_waterfall(cycle, 2),
            "Trace t: 2 spans, 1 service, 2.000ms\n"
            "\n"
            "x: one [server]    +0.000ms  1.000ms  █─\n"
            "  x: two [server]  +1.000ms  1.000ms  ─█\n");
  EXPECT_EQ(render_waterfall(json{{"traceId", "t"}, {"spans", json::array()}}, 40),
            "Trace t: no spans\n");
  EXPECT_EQ(render_waterfall(json::parse(R"({"spans":[{"durationMs":"x"},7]})"), 3),
            "Trace : 2 spans, 1 service, 0.000ms\n\n:  []  +0.000ms  0.000ms  ███\n: "
            " []  +0.000ms  0.000ms  ███\n");
}

}  // namespace
}  // namespace strait::ctl
