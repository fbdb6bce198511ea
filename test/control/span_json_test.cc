// The span ingest parsers: OTLP/HTTP JSON and Zipkin v2 JSON, what they accept and every refusal
// with its path.
#include <gtest/gtest.h>

#include <string>

#include "control/otlp_json.h"
#include "control/zipkin_json.h"

namespace strait::control {
namespace {

constexpr std::string_view kOtlp = R"({
  "resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}},
                                {"key": "host.name", "value": {"stringValue": "node-1"}}]},
    "scopeSpans": [{
      "scope": {"name": "strait-proxy", "version": "0.1.0"},
      "spans": [{
        "traceId": "4BF92F3577B34DA6A3CE929D0E0E4736",
        "spanId": "00f067aa0ba902b7",
        "parentSpanId": "",
        "name": "GET /cart",
        "kind": 2,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": 1700000000250000000,
        "attributes": [
          {"key": "http.method", "value": {"stringValue": "GET"}},
          {"key": "http.status_code", "value": {"intValue": "200"}},
          {"key": "retries", "value": {"intValue": 2}},
          {"key": "cached", "value": {"boolValue": false}},
          {"key": "ratio", "value": {"doubleValue": 0.5}},
          {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "7"}]}}},
          {"key": "map", "value": {"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": true}}]}}},
          {"key": "raw", "value": {"bytesValue": "AAE="}},
          {"key": "empty", "value": {}}
        ],
        "events": [{"name": "ignored"}],
        "status": {}
      }, {
        "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
        "spanId": "00f067aa0ba902b8",
        "parentSpanId": "00F067AA0BA902B7",
        "name": "SELECT",
        "kind": "SPAN_KIND_CLIENT",
        "startTimeUnixNano": 1700000000100000000,
        "endTimeUnixNano": "1700000000200000000",
        "status": {"code": 2, "message": "deadlock"}
      }]
    }]
  }]
})";

TEST(OtlpJsonTest, ReadsAnExportRequest) {
  auto spans = parse_otlp_json(kOtlp);
  ASSERT_TRUE(spans.has_value()) << spans.error();
  ASSERT_EQ(spans->size(), 2u);
  const auto& root = (*spans)[0];
  EXPECT_EQ(root.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(root.span_id, "00f067aa0ba902b7");
  EXPECT_EQ(root.parent_span_id, "");
  EXPECT_EQ(root.name, "GET /cart");
  EXPECT_EQ(root.kind, "server");
  EXPECT_EQ(root.service, "checkout");
  EXPECT_EQ(root.start_unix_nanos, 1700000000000000000);
  EXPECT_EQ(root.end_unix_nanos, 1700000000250000000);
  EXPECT_FALSE(root.error);
  const std::vector<std::pair<std::string, std::string>> attributes{{"http.method", "GET"},
                                                                    {"http.status_code", "200"},
                                                                    {"retries", "2"},
                                                                    {"cached", "false"},
                                                                    {"ratio", "0.5"},
                                                                    {"tags", R"(["a",7])"},
                                                                    {"map", R"({"k":true})"},
                                                                    {"raw", "AAE="},
                                                                    {"empty", ""}};
  EXPECT_EQ(root.attributes, attributes);
  const auto& child = (*spans)[1];
  EXPECT_EQ(child.parent_span_id, "00f067aa0ba902b7");
  EXPECT_EQ(child.kind, "client");
  EXPECT_EQ(child.start_unix_nanos, 1700000000100000000);
  EXPECT_EQ(child.end_unix_nanos, 1700000000200000000);
  EXPECT_TRUE(child.error);
  EXPECT_EQ(
      child.attributes,
      (std::vector<std::pair<std::string, std::string>>{{"otel.status_description", "deadlock"}}));
}

std::string one_span(std::string_view fields) {
  return std::string(
             R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7")") +
         std::string(fields) + "}]}]}]}";
}

CollectedSpan parse_one(std::string_view fields) {
  auto spans = parse_otlp_json(one_span(fields));
  EXPECT_TRUE(spans.has_value()) << spans.error();
  if (!spans || spans->size() != 1) return {};
  return spans->front();
}

TEST(OtlpJsonTest, KindsAndStatusesByNumberOrName) {
  const std::pair<std::string, std::string> kinds[] = {{"0", "unspecified"},
                                                       {"1", "internal"},
                                                       {"\"SPAN_KIND_SERVER\"", "server"},
                                                       {"3", "client"},
                                                       {"\"SPAN_KIND_PRODUCER\"", "producer"},
                                                       {"5", "consumer"}};
  for (const auto& [value, kind] : kinds)
    EXPECT_EQ(parse_one(",\"kind\":" + value).kind, kind) << value;
  EXPECT_EQ(parse_one("").kind, "unspecified");
  EXPECT_TRUE(parse_one(R"(,"status":{"code":"STATUS_CODE_ERROR"})").error);
  EXPECT_FALSE(parse_one(R"(,"status":{"code":"STATUS_CODE_OK"})").error);
  EXPECT_FALSE(parse_one(R"(,"status":{"code":1})").error);
  EXPECT_FALSE(parse_one(R"(,"status":null)").error);
}

TEST(OtlpJsonTest, DefaultsAndTheLegacyKey) {
  // No resource: the service is unknown; no times: 0; an end before the start is clamped.
  const auto span = parse_one(R"(,"startTimeUnixNano":"200","endTimeUnixNano":"100")");
  EXPECT_EQ(span.service, "unknown_service");
  EXPECT_EQ(span.start_unix_nanos, 200);
  EXPECT_EQ(span.end_unix_nanos, 200);
  auto legacy = parse_otlp_json(R"({"resourceSpans":[{
      "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"old"}}]},
      "instrumentationLibrarySpans":[{"instrumentationLibrary":{"name":"x"},
        "spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7"}]}]}]})");
  ASSERT_TRUE(legacy.has_value()) << legacy.error();
  ASSERT_EQ(legacy->size(), 1u);
  EXPECT_EQ((*legacy)[0].service, "old");
  auto empty = parse_otlp_json(R"({})");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

TEST(OtlpJsonTest, RefusalsNameTheirPath) {
  const std::pair<std::string, std::string> cases[] = {
      {"[]", "expected an ExportTraceServiceRequest object: {\"resourceSpans\": [...]}"},
      {R"({"resourceSpans":{}})", "resourceSpans: expected a list"},
      {R"({"resourceSpans":[1]})", "resourceSpans[0]: expected a ResourceSpans object"},
      {R"({"resourceSpans":[{"scopeSpans":[{"spans":[{}]}]}]})",
       "resourceSpans[0].scopeSpans[0].spans[0].traceId: not 32 hex digits"},
      {R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":1}}]}}]})",
       "resourceSpans[0].resource.attributes[0].value.stringValue: expected a string"},
      {one_span(R"(,"traceId":"00000000000000000000000000000000")"),
       "resourceSpans[0].scopeSpans[0].spans[0].traceId: all zeros (an invalid id)"},
      {one_span(R"(,"spanId":"xyz")"),
       "resourceSpans[0].scopeSpans[0].spans[0].spanId: not 16 hex digits"},
      {one_span(R"(,"parentSpanId":"00f067aa0ba902")"),
       "resourceSpans[0].scopeSpans[0].spans[0].parentSpanId: not 16 hex digits"},
      {one_span(R"(,"name":7)"), "resourceSpans[0].scopeSpans[0].spans[0].name: expected a string"},
      {one_span(R"(,"kind":9)"), "resourceSpans[0].scopeSpans[0].spans[0].kind: unknown value 9"},
      {one_span(R"(,"kind":"SPAN_KIND_BOGUS")"),
       "resourceSpans[0].scopeSpans[0].spans[0].kind: unknown value \"SPAN_KIND_BOGUS\""},
      {one_span(R"(,"status":{"code":3})"),
       "resourceSpans[0].scopeSpans[0].spans[0].status.code: unknown value 3"},
      {one_span(R"(,"status":"ERROR")"),
       "resourceSpans[0].scopeSpans[0].spans[0].status: expected an object"},
      {one_span(R"(,"startTimeUnixNano":"soon")"),
       "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: expected nanoseconds since the "
       "epoch (a non-negative integer, as a string or a number, below 2^63)"},
      {one_span(R"(,"endTimeUnixNano":-1)"),
       "resourceSpans[0].scopeSpans[0].spans[0].endTimeUnixNano: expected nanoseconds since the "
       "epoch (a non-negative integer, as a string or a number, below 2^63)"},
      {one_span(R"(,"startTimeUnixNano":"18446744073709551615")"),
       "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: expected nanoseconds since the "
       "epoch (a non-negative integer, as a string or a number, below 2^63)"},
      {one_span(R"(,"attributes":{})"),
       "resourceSpans[0].scopeSpans[0].spans[0].attributes: expected a list"},
      {one_span(R"(,"attributes":["k"])"),
       "resourceSpans[0].scopeSpans[0].spans[0].attributes[0]: expected a {\"key\", \"value\"} "
       "object"},
      {one_span(R"(,"attributes":[{"key":"n","value":{"intValue":"12x"}}])"),
       "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue: expected a 64-bit "
       "integer"},
      {one_span(R"(,"attributes":[{"key":"b","value":{"boolValue":"yes"}}])"),
       "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.boolValue: expected true or "
       "false"},
      {one_span(R"(,"attributes":[{"key":"d","value":{"doubleValue":"x"}}])"),
       "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.doubleValue: expected a "
       "number"},
      {one_span(R"(,"attributes":[{"key":"v","value":"plain"}])"),
       "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value: expected an AnyValue object"},
  };
  for (const auto& [body, message] : cases) {
    auto spans = parse_otlp_json(body);
    ASSERT_FALSE(spans.has_value()) << body;
    EXPECT_EQ(spans.error(), message) << body;
  }
}

TEST(OtlpJsonTest, PathsCountEveryLevel) {
  std::string spans =
      R"({"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7"},)";
  std::string body = R"({"resourceSpans":[{"scopeSpans":[]},{"scopeSpans":[{},{"spans":[)" + spans +
                     spans + spans + R"({"traceId":"4bf9"}]}]}]})";
  auto parsed = parse_otlp_json(body);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error(), "resourceSpans[1].scopeSpans[1].spans[3].traceId: not 32 hex digits");
}

TEST(OtlpJsonTest, NotJsonSaysWhere) {
  auto parsed = parse_otlp_json("{\"resourceSpans\": [}");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_TRUE(parsed.error().starts_with("not JSON: parse error at line 1, column 20"))
      << parsed.error();
  EXPECT_FALSE(parse_otlp_json("").has_value());
  EXPECT_FALSE(parse_otlp_json("{} trailing").has_value());
}

TEST(OtlpJsonTest, DeepValuesAndTooManySpansAreRefused) {
  std::string deep = "{\"stringValue\":\"x\"}";
  for (int i = 0; i < 20; ++i) deep = "{\"arrayValue\":{\"values\":[" + deep + "]}}";
  auto nested = parse_otlp_json(one_span(R"(,"attributes":[{"key":"k","value":)" + deep + "}]"));
  ASSERT_FALSE(nested.has_value());
  EXPECT_TRUE(nested.error().ends_with("nested deeper than 8 levels")) << nested.error();

  std::string many = R"({"resourceSpans":[{"scopeSpans":[{"spans":[)";
  for (std::size_t i = 0; i <= kMaxSpansPerRequest; ++i)
    many += std::string(i == 0 ? "" : ",") + "{}";
  many += "]}]}]}";
  auto refused = parse_otlp_json(many);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(),
            "resourceSpans[0].scopeSpans[0].spans: more than 10000 spans in one request (send "
            "smaller batches)");
}

constexpr std::string_view kZipkin = R"([
  {"traceId": "A3CE929D0E0E4736", "id": "00f067aa0ba902b7", "name": "get /cart", "kind": "SERVER",
   "timestamp": 1700000000000123, "duration": 2500,
   "localEndpoint": {"serviceName": "checkout", "ipv4": "10.0.0.1"},
   "remoteEndpoint": {"serviceName": "web"},
   "tags": {"http.method": "GET", "http.status_code": "503", "error": ""},
   "annotations": [{"timestamp": 1700000000000200, "value": "ws"}]},
  {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "id": "00f067aa0ba902b8",
   "parentId": "00f067aa0ba902b7", "timestamp": 5, "tags": {"n": 3, "b": true}}
])";

TEST(ZipkinJsonTest, ReadsAV2List) {
  auto spans = parse_zipkin_json(kZipkin);
  ASSERT_TRUE(spans.has_value()) << spans.error();
  ASSERT_EQ(spans->size(), 2u);
  const auto& a = (*spans)[0];
  EXPECT_EQ(a.trace_id, "0000000000000000a3ce929d0e0e4736");  // 64-bit ids are left-padded
  EXPECT_EQ(a.span_id, "00f067aa0ba902b7");
  EXPECT_EQ(a.parent_span_id, "");
  EXPECT_EQ(a.name, "get /cart");
  EXPECT_EQ(a.kind, "server");
  EXPECT_EQ(a.service, "checkout");
  EXPECT_EQ(a.start_unix_nanos, 1700000000000123000);
  EXPECT_EQ(a.end_unix_nanos, 1700000000002623000);
  EXPECT_TRUE(a.error);  // the "error" tag, even empty
  EXPECT_EQ(a.attributes,
            (std::vector<std::pair<std::string, std::string>>{{"peer.service", "web"},
                                                              {"error", ""},
                                                              {"http.method", "GET"},
                                                              {"http.status_code", "503"}}));
  const auto& b = (*spans)[1];
  EXPECT_EQ(b.kind, "internal");
  EXPECT_EQ(b.service, "unknown_service");
  EXPECT_EQ(b.parent_span_id, "00f067aa0ba902b7");
  EXPECT_EQ(b.start_unix_nanos, 5000);
  EXPECT_EQ(b.end_unix_nanos, 5000);
  EXPECT_FALSE(b.error);
  EXPECT_EQ(b.attributes,
            (std::vector<std::pair<std::string, std::string>>{{"b", "true"}, {"n", "3"}}));
  const std::pair<std::string, std::string> kinds[] = {
      {"CLIENT", "client"}, {"PRODUCER", "producer"}, {"CONSUMER", "consumer"}};
  for (const auto& [kind, expected] : kinds) {
    auto one = parse_zipkin_json(
        R"([{"traceId":"a3ce929d0e0e4736","id":"00f067aa0ba902b7","timestamp":1,"kind":")" + kind +
        "\"}]");
    ASSERT_TRUE(one.has_value()) << one.error();
    EXPECT_EQ((*one)[0].kind, expected);
  }
  EXPECT_TRUE(parse_zipkin_json("[]")->empty());
}

TEST(ZipkinJsonTest, RefusalsNameTheirPath) {
  const std::string good = R"("traceId":"a3ce929d0e0e4736","id":"00f067aa0ba902b7","timestamp":1)";
  const std::pair<std::string, std::string> cases[] = {
      {R"({"traceId":"a3ce929d0e0e4736"})", "expected a list of Zipkin v2 spans: [{...}]"},
      {"[7]", "[0]: expected a span object"},
      {R"([{"id":"00f067aa0ba902b7","timestamp":1}])", "[0].traceId: not 16 or 32 hex digits"},
      {R"([{"traceId":"a3ce929d0e0e473","id":"00f067aa0ba902b7","timestamp":1}])",
       "[0].traceId: not 16 or 32 hex digits"},
      {R"([{"traceId":"0000000000000000","id":"00f067aa0ba902b7","timestamp":1}])",
       "[0].traceId: all zeros (an invalid id)"},
      {"[{" + good + "},{" + good + R"(,"id":"12"}])", "[1].id: not 16 hex digits"},
      {"[{" + good + R"(,"parentId":"x"}])", "[0].parentId: not 16 hex digits"},
      {"[{" + good + R"(,"kind":"server"}])",
       "[0].kind: \"server\" is not CLIENT, SERVER, PRODUCER or CONSUMER"},
      {R"([{"traceId":"a3ce929d0e0e4736","id":"00f067aa0ba902b7"}])",
       "[0].timestamp: missing (epoch microseconds)"},
      {R"([{"traceId":"a3ce929d0e0e4736","id":"00f067aa0ba902b7","timestamp":"1"}])",
       "[0].timestamp: expected epoch microseconds (a non-negative integer)"},
      {R"([{"traceId":"a3ce929d0e0e4736","id":"00f067aa0ba902b7","timestamp":1.5}])",
       "[0].timestamp: expected epoch microseconds (a non-negative integer)"},
      {"[{" + good + R"(,"duration":-3}])",
       "[0].duration: expected microseconds (a non-negative integer)"},
      {"[{" + good + R"(,"duration":9223372036854775807}])",
       "[0].duration: expected microseconds (a non-negative integer)"},
      {"[{" + good + R"(,"name":["x"]}])", "[0].name: expected a string"},
      {"[{" + good + R"(,"localEndpoint":"web"}])", "[0].localEndpoint: expected an object"},
      {"[{" + good + R"(,"localEndpoint":{"serviceName":1}}])",
       "[0].localEndpoint.serviceName: expected a string"},
      {"[{" + good + R"(,"tags":[]}])", "[0].tags: expected an object of strings"},
      {"[{" + good + R"(,"tags":{"k":{"v":1}}}])", "[0].tags.k: expected a string"},
      {"[{",
       "not JSON: parse error at line 1, column 3: syntax error while parsing object key - "
       "unexpected end of input; expected string literal"},
  };
  for (const auto& [body, message] : cases) {
    auto spans = parse_zipkin_json(body);
    ASSERT_FALSE(spans.has_value()) << body;
    EXPECT_EQ(spans.error(), message) << body;
  }
  std::string many = "[";
  for (std::size_t i = 0; i <= kMaxSpansPerRequest; ++i)
    many += std::string(i == 0 ? "" : ",") + "{}";
  many += "]";
  EXPECT_EQ(parse_zipkin_json(many).error(),
            "more than 10000 spans in one request (send smaller batches)");
}

}  // namespace
}  // namespace strait::control
