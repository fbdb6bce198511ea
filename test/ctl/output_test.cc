#include "ctl/output.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "ctl/api_client.h"
#include "net/http_client.h"

namespace strait::ctl {
namespace {

using nlohmann::json;
using std::chrono::system_clock;

// 2026-11-22T01:00:00Z, the creationTimestamp of the samples.
const system_clock::time_point kCreated =
    system_clock::time_point(std::chrono::sys_days(std::chrono::year(2026) / 11 / 22)) +
    std::chrono::hours(1);

json sample(std::string name, std::string ns, std::string rv, int generation,
            std::string created = "2026-11-22T01:00:00Z") {
  return json{
      {"apiVersion", "networking.istio.io/v1"},
      {"kind", "VirtualService"},
      {"metadata",
       {{"name", name},
        {"namespace", ns},
        {"labels", {{"app", "reviews"}, {"tier", "backend"}}},
        {"annotations", json::object()},
        {"resourceVersion", rv},
        {"generation", generation},
        {"creationTimestamp", created}}},
      {"spec",
       {{"hosts", {"reviews"}},
        {"http",
         {{{"timeout", "5s"},
           {"route",
            {{{"destination", {{"host", "reviews"}, {"subset", "v1"}}}, {"weight", 100}}}}}}}}}};
}

TEST(OutputTest, Ages) {
  const std::string ts = "2026-11-22T01:00:00Z";
  EXPECT_EQ(format_age(ts, kCreated), "0s");
  EXPECT_EQ(format_age(ts, kCreated + std::chrono::seconds(5)), "5s");
  EXPECT_EQ(format_age(ts, kCreated + std::chrono::seconds(59)), "59s");
  EXPECT_EQ(format_age(ts, kCreated + std::chrono::seconds(60)), "1m");
  EXPECT_EQ(format_age(ts, kCreated + std::chrono::minutes(3) + std::chrono::seconds(20)), "3m");
  EXPECT_EQ(format_age(ts, kCreated + std::chrono::hours(2) + std::chrono::minutes(59)), "2h");
  EXPECT_EQ(format_age(ts, kCreated + std::chrono::hours(24 * 4 + 5)), "4d");
  EXPECT_EQ(format_age(ts, kCreated - std::chrono::seconds(30)), "0s");  // clock skew
  EXPECT_EQ(format_age("2026-11-22T01:00:00.123456Z", kCreated + std::chrono::seconds(7)), "7s");
  EXPECT_EQ(format_age("2026-11-22T03:00:00+02:00", kCreated + std::chrono::seconds(7)), "7s");
  EXPECT_EQ(format_age("2026-11-21T20:00:00-05:00", kCreated + std::chrono::minutes(10)), "10m");
  EXPECT_EQ(format_age("", kCreated), "<unknown>");
  EXPECT_EQ(format_age("yesterday", kCreated), "<unknown>");
  EXPECT_EQ(format_age("2026-13-01T00:00:00Z", kCreated), "<unknown>");
}

TEST(OutputTest, TableIsAlignedWithTwoSpaces) {
  std::vector<json> items{sample("reviews", "prod", "12", 2),
                          sample("a-much-longer-name", "default", "7", 10, "2026-11-21T23:00:00Z")};
  const auto table = render_table(items, {.now = kCreated + std::chrono::seconds(5)});
  EXPECT_EQ(table,
            "NAMESPACE  NAME                KIND            REVISION  GENERATION  AGE\n"
            "prod       reviews             VirtualService  12        2           5s\n"
            "default    a-much-longer-name  VirtualService  7         10          2h\n");
}

TEST(OutputTest, WideAddsLabelsAndColorOnlyBoldsTheHeader) {
  json bare = sample("bare", "prod", "3", 1);
  bare["metadata"].erase("labels");
  const auto table =
      render_table({sample("reviews", "prod", "12", 2), bare},
                   {.wide = true, .color = true, .now = kCreated + std::chrono::hours(1)});
  EXPECT_EQ(
      table,
      "\x1b[1mNAMESPACE  NAME     KIND            REVISION  GENERATION  AGE  LABELS\x1b[0m\n"
      "prod       reviews  VirtualService  12        2           1h   app=reviews,tier=backend\n"
      "prod       bare     VirtualService  3         1           1h   <none>\n");
}

TEST(OutputTest, EmptyTableIsJustTheHeader) {
  EXPECT_EQ(render_table({}, {}), "NAMESPACE  NAME  KIND  REVISION  GENERATION  AGE\n");
}

TEST(OutputTest, JsonIsPretty) {
  const json r = sample("reviews", "prod", "12", 2);
  const auto text = render_json(r);
  EXPECT_TRUE(text.starts_with("{\n  \"apiVersion\": \"networking.istio.io/v1\",\n")) << text;
  EXPECT_TRUE(text.ends_with("}\n"));
  EXPECT_EQ(json::parse(text), r);
}

TEST(OutputTest, YamlRoundTripsAndKeepsStringsStrings) {
  std::vector<json> items{sample("reviews", "prod", "12", 2), sample("ratings", "prod", "13", 1)};
  const auto text = render_yaml(items);
  EXPECT_NE(text.find("\n---\n"), std::string::npos) << text;
  EXPECT_NE(text.find("resourceVersion: \"12\""), std::string::npos) << text;
  EXPECT_NE(text.find("generation: 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("apiVersion: networking.istio.io/v1"), std::string::npos) << text;
  const auto docs = YAML::LoadAll(text);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0]["metadata"]["name"].as<std::string>(), "reviews");
  EXPECT_EQ(docs[0]["metadata"]["resourceVersion"].Tag(), "!");  // quoted: a string
  EXPECT_EQ(docs[0]["spec"]["http"][0]["route"][0]["destination"]["subset"].as<std::string>(),
            "v1");
  EXPECT_EQ(docs[0]["spec"]["http"][0]["route"][0]["weight"].as<int>(), 100);
  EXPECT_EQ(docs[1]["metadata"]["name"].as<std::string>(), "ratings");
}

TEST(OutputTest, YamlQuotesAmbiguousScalars) {
  const auto text = render_yaml({json{{"a", "true"},
                                      {"b", "1.5"},
                                      {"c", ""},
                                      {"d", "null"},
                                      {"e", "plain"},
                                      {"f", true},
                                      {"g", nullptr}}});
  EXPECT_EQ(text, "a: \"true\"\nb: \"1.5\"\nc: \"\"\nd: \"null\"\ne: plain\nf: true\ng: null\n");
}

TEST(OutputTest, YamlWritesDoublesAsTheirShortestText) {
  const auto text = render_yaml({json{{"d", 3.1}, {"p", 0.1}, {"w", 10.0}, {"e", 1e100}}});
  EXPECT_EQ(text, "d: 3.1\ne: 1e+100\np: 0.1\nw: 10.0\n");
  const auto doc = YAML::Load(text);
  EXPECT_EQ(doc["d"].as<double>(), 3.1);
  EXPECT_EQ(doc["e"].as<double>(), 1e100);
}

TEST(OutputTest, OutputFormats) {
  EXPECT_EQ(parse_output_format("").value(), OutputFormat::kTable);
  EXPECT_EQ(parse_output_format("wide").value(), OutputFormat::kWide);
  EXPECT_EQ(parse_output_format("json").value(), OutputFormat::kJson);
  EXPECT_EQ(parse_output_format("yaml").value(), OutputFormat::kYaml);
  EXPECT_FALSE(parse_output_format("xml"));
}

TEST(UrlTest, ParsesHttpUrlsAndRefusesHttps) {
  auto u = net::parse_url("http://127.0.0.1:15014");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 15014);
  EXPECT_EQ(u->prefix, "");
  u = net::parse_url("http://[::1]:8080/base/");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->prefix, "/base");
  u = net::parse_url("localhost:99");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->port, 99);
  u = net::parse_url("https://127.0.0.1:15014");
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().find("https is not supported"), std::string::npos);
  EXPECT_FALSE(net::parse_url("http://host:0"));
  EXPECT_FALSE(net::parse_url("http://host:70000"));
  EXPECT_FALSE(net::parse_url("http://:80"));
  EXPECT_FALSE(net::parse_url("http://127.0.0.1:"));
}

TEST(UrlTest, Encoding) {
  EXPECT_EQ(url_encode("a-b_c.d~e"), "a-b_c.d~e");
  EXPECT_EQ(url_encode("dir/my file.yaml"), "dir%2Fmy%20file.yaml");
  EXPECT_EQ(url_encode("&=?"), "%26%3D%3F");
}

}  // namespace
}  // namespace strait::ctl
