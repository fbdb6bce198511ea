// The proxy's span encodings (OTLP/HTTP JSON, Zipkin v2 JSON), read back by straitd's collector
// parsers and, for what those do not keep, as plain JSON.
#include "proxy/span_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "control/otlp_json.h"
#include "control/zipkin_json.h"

namespace strait::proxy {
namespace {

using nlohmann::json;

constexpr std::string_view kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::int64_t kStart = 1'700'000'000'123'456'000;

TraceId trace_id() {
  TraceId id{};
  for (std::size_t i = 0; i < id.size(); ++i) {
    id[i] = static_cast<std::uint8_t>(std::stoi(std::string(kTrace.substr(2 * i, 2)), nullptr, 16));
  }
  return id;
}

// A client span with a parent, failed (503), every text field set.
SpanRecord client_span() {
  SpanRecord s;
  s.trace_id = trace_id();
  s.span_id = {1, 2, 3, 4, 5, 6, 7, 8};
  s.parent_span_id = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
  s.kind = SpanKind::kClient;
  s.start_unix_nanos = kStart;
  s.end_unix_nanos = kStart + 5'000'000;
  s.status_code = 503;
  s.error = true;
  s.method.assign("GET");
  s.protocol.assign("HTTP/1.1");
  s.authority.assign("web.shop:9080");
  s.path.assign("/items");
  s.response_flags.assign("UF");
  s.upstream_cluster.assign("outbound|9080||web.shop.svc.cluster.local");
  s.upstream_host.assign("10.0.0.7:9080");
  s.peer_address.assign("10.0.0.3:41234");
  s.request_id.assign("5f6a6e44-8f8c-4b8e-a8a4-0c7b9d1b2f3e");
  s.user_agent.assign("curl/8.5.0");
  return s;
}

// A root server span that succeeded, with only what every span has.
SpanRecord root_span() {
  SpanRecord s;
  s.trace_id = trace_id();
  s.span_id = {9, 9, 9, 9, 9, 9, 9, 9};
  s.kind = SpanKind::kServer;
  s.start_unix_nanos = kStart;
  s.end_unix_nanos = kStart + 200;  // under a microsecond
  s.status_code = 200;
  s.method.assign("POST");
  s.protocol.assign("HTTP/2");
  s.authority.assign("cart");
  s.path.assign("/add");
  s.response_flags.assign("-");
  s.peer_address.assign("127.0.0.1:5000");
  return s;
}

std::string attribute(const control::CollectedSpan& span, std::string_view key) {
  for (const auto& [k, v] : span.attributes) {
    if (k == key) return v;
  }
  return "<absent>";
}

std::vector<control::CollectedSpan> round_trip(bool zipkin, const std::vector<SpanRecord>& spans) {
  const std::string body =
      zipkin ? zipkin_json("web-v1.shop", spans) : otlp_json("web-v1.shop", spans);
  auto parsed = zipkin ? control::parse_zipkin_json(body) : control::parse_otlp_json(body);
  EXPECT_TRUE(parsed) << parsed.error() << "\n" << body;
  return parsed ? *parsed : std::vector<control::CollectedSpan>{};
}

class SpanJsonTest : public testing::TestWithParam<bool> {};  // true: Zipkin

TEST_P(SpanJsonTest, RoundTripsThroughTheCollectorsParser) {
  const bool zipkin = GetParam();
  const auto spans = round_trip(zipkin, {client_span(), root_span()});
  ASSERT_EQ(spans.size(), 2u);

  const auto& client = spans[0];
  EXPECT_EQ(client.trace_id, kTrace);
  EXPECT_EQ(client.span_id, "0102030405060708");
  EXPECT_EQ(client.parent_span_id, "00f067aa0ba902b7");
  EXPECT_EQ(client.kind, "client");
  EXPECT_EQ(client.service, "web-v1.shop");
  EXPECT_EQ(client.name, "web.shop:9080/items");
  EXPECT_EQ(client.start_unix_nanos, kStart);
  EXPECT_EQ(client.end_unix_nanos, kStart + 5'000'000);
  EXPECT_TRUE(client.error);
  EXPECT_EQ(attribute(client, "http.method"), "GET");
  EXPECT_EQ(attribute(client, "http.url"), "http://web.shop:9080/items");
  EXPECT_EQ(attribute(client, "http.status_code"), "503");
  EXPECT_EQ(attribute(client, "http.protocol"), "HTTP/1.1");
  EXPECT_EQ(attribute(client, "upstream_cluster"), "outbound|9080||web.shop.svc.cluster.local");
  EXPECT_EQ(attribute(client, "upstream_host"), "10.0.0.7:9080");
  EXPECT_EQ(attribute(client, "peer.address"), "10.0.0.3:41234");
  EXPECT_EQ(attribute(client, "response_flags"), "UF");
  EXPECT_EQ(attribute(client, "guid:x-request-id"), "5f6a6e44-8f8c-4b8e-a8a4-0c7b9d1b2f3e");
  EXPECT_EQ(attribute(client, "user_agent"), "curl/8.5.0");
  EXPECT_EQ(attribute(client, "component"), "proxy");
  EXPECT_EQ(attribute(client, "error"), zipkin ? "true" : "<absent>");

  const auto& root = spans[1];
  EXPECT_EQ(root.parent_span_id, "");
  EXPECT_EQ(root.kind, "server");
  EXPECT_EQ(root.name, "cart/add");
  EXPECT_FALSE(root.error);
  EXPECT_EQ(attribute(root, "http.status_code"), "200");
  EXPECT_EQ(attribute(root, "upstream_host"), "<absent>");
  EXPECT_EQ(attribute(root, "upstream_cluster"), "<absent>");
  EXPECT_EQ(attribute(root, "response_flags"), "<absent>");  // "-": nothing to say
  EXPECT_EQ(attribute(root, "error"), "<absent>");
  EXPECT_EQ(root.start_unix_nanos, kStart);
  // Zipkin counts in microseconds and never reports a zero duration.
  EXPECT_EQ(root.end_unix_nanos, zipkin ? kStart + 1000 : kStart + 200);
}

TEST_P(SpanJsonTest, InvalidUtf8IsReplacedNotFatal) {
  const bool zipkin = GetParam();
  SpanRecord s = root_span();
  s.path.assign("/caf\xc3");            // cut inside a character
  s.user_agent.assign("bad \xff\xfe");  // never UTF-8
  const auto spans = round_trip(zipkin, {s});
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(attribute(spans[0], "user_agent"), "bad \xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(spans[0].name, "cart/caf\xef\xbf\xbd");
}

TEST_P(SpanJsonTest, AnEmptyBatchIsStillValid) {
  EXPECT_TRUE(round_trip(GetParam(), {}).empty());
}

INSTANTIATE_TEST_SUITE_P(Formats, SpanJsonTest, testing::Bool(),
                         [](const auto& info) { return info.param ? "Zipkin" : "Otlp"; });

TEST(SpanJson, OtlpShape) {
  const auto body = json::parse(otlp_json("web-v1.shop", std::vector{client_span(), root_span()}));
  ASSERT_EQ(body["resourceSpans"].size(), 1u);
  const auto& resource = body["resourceSpans"][0];
  EXPECT_EQ(resource["resource"]["attributes"],
            json::parse(R"([{"key":"service.name","value":{"stringValue":"web-v1.shop"}}])"));
  ASSERT_EQ(resource["scopeSpans"].size(), 1u);
  EXPECT_EQ(resource["scopeSpans"][0]["scope"]["name"], "strait-proxy");
  const auto& spans = resource["scopeSpans"][0]["spans"];
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0]["kind"], 3);
  EXPECT_EQ(spans[1]["kind"], 2);
  EXPECT_EQ(spans[0]["startTimeUnixNano"], std::to_string(kStart));  // 64-bit: as a string
  EXPECT_EQ(spans[0]["endTimeUnixNano"], std::to_string(kStart + 5'000'000));
  EXPECT_EQ(spans[0]["status"], json::parse(R"({"code":2})"));
  EXPECT_FALSE(spans[1].contains("status"));
  EXPECT_FALSE(spans[1].contains("parentSpanId"));
  bool found = false;
  for (const auto& a : spans[0]["attributes"]) {
    if (a["key"] == "http.status_code") {
      EXPECT_EQ(a["value"], json::parse(R"({"intValue":"503"})"));
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(SpanJson, ZipkinShape) {
  const auto body =
      json::parse(zipkin_json("web-v1.shop", std::vector{client_span(), root_span()}));
  ASSERT_TRUE(body.is_array());
  ASSERT_EQ(body.size(), 2u);
  EXPECT_EQ(body[0]["kind"], "CLIENT");
  EXPECT_EQ(body[1]["kind"], "SERVER");
  EXPECT_EQ(body[0]["id"], "0102030405060708");
  EXPECT_EQ(body[0]["parentId"], "00f067aa0ba902b7");
  EXPECT_FALSE(body[1].contains("parentId"));
  EXPECT_EQ(body[0]["timestamp"], kStart / 1000);
  EXPECT_EQ(body[0]["duration"], 5000);
  EXPECT_EQ(body[1]["duration"], 1);
  EXPECT_EQ(body[0]["localEndpoint"], json::parse(R"({"serviceName":"web-v1.shop"})"));
  EXPECT_EQ(body[0]["tags"]["http.status_code"], "503");  // Zipkin tags are strings
  EXPECT_EQ(body[0]["tags"]["error"], "true");
  EXPECT_FALSE(body[1]["tags"].contains("error"));
}

TEST(SpanJson, TheNameLeavesTheQueryOut) {
  SpanRecord s = root_span();
  s.path.assign("/add?item=7");
  const auto body = json::parse(zipkin_json("web-v1.shop", std::span(&s, 1)));
  EXPECT_EQ(body[0]["name"], "cart/add");
}

TEST(FixedText, TruncatesAtACharacterBoundary) {
  FixedText<4> t;
  t.assign("abcdef");
  EXPECT_EQ(t.view(), "abcd");
  t.assign("ab\xc3\xa9z");  // "abéz": 'é' would be cut after its first byte
  EXPECT_EQ(t.view(), "ab\xc3\xa9");
  t.assign("abc\xc3\xa9");
  EXPECT_EQ(t.view(), "abc");
  t.assign("");
  EXPECT_EQ(t.view(), "");
}

}  // namespace
}  // namespace strait::proxy
