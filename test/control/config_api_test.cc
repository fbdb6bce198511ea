// straitd's REST API without sockets: authentication, apply, list, get, delete, errors, and the
// trace collector's calls.
#include "control/config_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "control/admin_token.h"
#include "control/trace_store.h"
#include "control/traffic_store.h"

namespace strait::control {
namespace {

using nlohmann::json;

constexpr std::string_view kToken = "0123456789abcdef0123456789abcdef";
constexpr std::string_view kAuth = "Bearer 0123456789abcdef0123456789abcdef";

constexpr std::string_view kCollectorToken = "fedcba9876543210fedcba9876543210";
constexpr std::string_view kCollectorAuth = "Bearer fedcba9876543210fedcba9876543210";

constexpr std::string_view kTwoResources = R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}], timeout: 2s, fault: {abort: {http2Error: CANCEL, percentage: {value: 1}}}}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: reviews, namespace: prod}
spec: {host: reviews, subsets: [{name: v1, labels: {version: v1}}]}
)";

class ConfigApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("strait-api-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = std::move(*store::ResourceStore::open((dir_ / "store.db").string()));
    api_ = std::make_unique<ConfigApi>(*store_, std::string(kToken));
  }
  void TearDown() override {
    api_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  ApiResponse call(std::string_view method, std::string_view target, std::string_view body = {},
                   std::string_view auth = kAuth) {
    return api_->handle(ApiRequest{method, target, auth, body});
  }
  ApiResponse send_spans(std::string_view target, std::string_view body,
                         std::string_view auth = kCollectorAuth,
                         std::string_view content_type = "application/json",
                         std::string_view content_encoding = {}) {
    return api_->handle(ApiRequest{"POST", target, auth, body, content_type, content_encoding});
  }
  // The first line of /metrics that starts with `prefix`.
  std::string metric(std::string_view prefix) {
    const std::string text = call("GET", "/metrics").body;
    for (std::size_t at = 0; at < text.size();) {
      const auto end = text.find('\n', at);
      const std::string line = text.substr(at, end - at);
      if (line.starts_with(prefix)) return line;
      if (end == std::string::npos) break;
      at = end + 1;
    }
    return "(no line " + std::string(prefix) + ")";
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::ResourceStore> store_;
  std::unique_ptr<ConfigApi> api_;
};

TEST_F(ConfigApiTest, EveryApiCallNeedsTheToken) {
  EXPECT_EQ(call("GET", "/api/v1/version", {}, "").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/version", {}, "Bearer wrong").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/version", {}, "Basic 0123456789abcdef0123456789abcdef").status, 401);
  EXPECT_EQ(call("POST", "/api/v1/apply", kTwoResources, "").status, 401);
  EXPECT_EQ(store_->revision(), 0);
  EXPECT_EQ(call("GET", "/api/v1/version").status, 200);
  // Health and metrics are for probes and Prometheus.
  EXPECT_EQ(call("GET", "/healthz", {}, "").status, 200);
  EXPECT_EQ(call("GET", "/metrics", {}, "").status, 200);
}

TEST_F(ConfigApiTest, ApplyCreatesConfiguresAndLeavesUnchanged) {
  auto first = call("POST", "/api/v1/apply?source=bookinfo.yaml&namespace=team-a", kTwoResources);
  ASSERT_EQ(first.status, 200) << first.body;
  auto body = json::parse(first.body);
  EXPECT_EQ(body["revision"], 1);
  EXPECT_EQ(body["results"][0]["action"], "created");
  EXPECT_EQ(body["results"][0]["namespace"], "team-a");  // the default namespace of the request
  EXPECT_EQ(body["results"][1]["namespace"], "prod");    // the document's own
  EXPECT_EQ(json::parse(call("POST", "/api/v1/apply?namespace=team-a", kTwoResources).body)["results"][0]["action"],
            "unchanged");
  std::string changed(kTwoResources);
  changed.replace(changed.find("2s"), 2, "3s");
  auto third = json::parse(call("POST", "/api/v1/apply?namespace=team-a", changed).body);
  EXPECT_EQ(third["results"][0]["action"], "configured");
  EXPECT_EQ(third["results"][0]["generation"], 2);
  // An HTTP/2 error abort is stored but not enforced yet: the answer says so.
  ASSERT_TRUE(third.contains("warnings")) << third.dump();
  EXPECT_EQ(third["warnings"][0],
            "VirtualService team-a/reviews: spec.http[0].fault.abort.http2Error: not enforced by the proxies yet");
}

TEST_F(ConfigApiTest, SubsetAndPortPoliciesAreEnforcedAndOnlyWhatIsNotIsWarned) {
  constexpr std::string_view kRule = R"(
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: prod}
spec:
  host: reviews
  trafficPolicy:
    connectionPool: {tcp: {tcpKeepalive: {time: 60s}, idleTimeout: 30s}}
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {simple: PASSTHROUGH}
      connectionPool: {http: {http2MaxRequests: 10}}
  subsets:
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      connectionPool: {http: {http2MaxRequests: 5}}
      outlierDetection: {consecutive5xxErrors: 2}
      retryBudget: {percent: 10}
)";
  auto answer = call("POST", "/api/v1/apply", kRule);
  ASSERT_EQ(answer.status, 200) << answer.body;
  const auto body = json::parse(answer.body);
  ASSERT_TRUE(body.contains("warnings")) << body.dump();
  EXPECT_EQ(
      body["warnings"],
      json::array({"DestinationRule prod/reviews: spec.trafficPolicy.portLevelSettings[0]."
                   "loadBalancer.simple: PASSTHROUGH not enforced yet (least request is used)"}));
}

TEST_F(ConfigApiTest, GetListAndDeleteRenderIstioResources) {
  ASSERT_EQ(call("POST", "/api/v1/apply", kTwoResources).status, 200);
  auto one = call("GET", "/api/v1/resources/VirtualService/default/reviews");
  ASSERT_EQ(one.status, 200) << one.body;
  auto resource = json::parse(one.body);
  EXPECT_EQ(resource["apiVersion"], "networking.istio.io/v1");
  EXPECT_EQ(resource["metadata"]["resourceVersion"], "1");
  EXPECT_EQ(resource["spec"]["http"][0]["timeout"], "2s");
  EXPECT_EQ(json::parse(call("GET", "/api/v1/resources").body)["items"].size(), 2u);
  EXPECT_EQ(json::parse(call("GET", "/api/v1/resources?kind=DestinationRule").body)["items"].size(), 1u);
  EXPECT_EQ(json::parse(call("GET", "/api/v1/resources?namespace=prod").body)["items"].size(), 1u);
  EXPECT_EQ(call("GET", "/api/v1/resources?kind=Gateway").status, 400);
  EXPECT_EQ(call("DELETE", "/api/v1/resources/DestinationRule/prod/reviews").status, 200);
  EXPECT_EQ(call("DELETE", "/api/v1/resources/DestinationRule/prod/reviews").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/resources/DestinationRule/prod/reviews").status, 404);
  EXPECT_EQ(call("PUT", "/api/v1/resources/VirtualService/default/reviews").status, 405);
}

TEST_F(ConfigApiTest, InvalidInputIsRefusedWholeWithItsPlace) {
  std::string broken = std::string(kTwoResources) + "---\napiVersion: networking.istio.io/v1\n"
                       "kind: DestinationRule\nmetadata: {name: x}\nspec: {hots: a}\n";
  auto refused = call("POST", "/api/v1/apply?source=bad.yaml", broken);
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(json::parse(refused.body)["error"], "bad.yaml: document 3: spec.hots: unknown field (line 16, column 8)");
  EXPECT_EQ(store_->revision(), 0);  // nothing of the first two documents landed
  EXPECT_EQ(call("POST", "/api/v1/apply", "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
                                         "metadata: {name: a, namespace: Bad_NS}\nspec: {}\n").status,
            400);
  EXPECT_EQ(call("POST", "/api/v1/apply", "").status, 400);
  const std::string twice = std::string(kTwoResources) + "---\n" + std::string(kTwoResources.substr(0, kTwoResources.find("---")));
  auto duplicate = call("POST", "/api/v1/apply", twice);
  EXPECT_EQ(duplicate.status, 400);
  EXPECT_NE(duplicate.body.find("appears twice"), std::string::npos) << duplicate.body;
}

TEST_F(ConfigApiTest, SemanticErrorsAreRefusedWithTheirPathAndNothingIsStored) {
  const std::string bad_regex = std::string(kTwoResources) +
                                "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\n"
                                "metadata: {name: api}\nspec:\n  hosts: [api]\n"
                                "  http: [{match: [{uri: {regex: \"(oops\"}}], route: [{destination: {host: api}}],"
                                " retries: {perTryTimeout: 0s}}]\n";
  auto refused = call("POST", "/api/v1/apply?source=bad.yaml", bad_regex);
  ASSERT_EQ(refused.status, 400) << refused.body;
  const auto body = json::parse(refused.body);
  EXPECT_TRUE(body["error"].get<std::string>().starts_with(
      "bad.yaml: document 3: spec.http[0].match[0].uri.regex: invalid RE2 regex: missing ): (oops"))
      << body["error"];
  ASSERT_EQ(body["errors"].size(), 2u);
  EXPECT_EQ(body["errors"][1], "bad.yaml: document 3: spec.http[0].retries.perTryTimeout: must be at least 1ms");
  EXPECT_EQ(store_->revision(), 0);
}

TEST_F(ConfigApiTest, AnUndefinedSubsetIsRefused) {
  const std::string rule = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: reviews}\n"
                           "spec: {host: reviews, subsets: [{name: v1}]}\n";
  const std::string service = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\n"
                              "spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews, subset: SUBSET}}]}]}\n";
  auto with_subset = [&](std::string subset) {
    std::string out = service;
    out.replace(out.find("SUBSET"), 6, subset);
    return out;
  };
  auto refused = call("POST", "/api/v1/apply?source=vs.yaml", with_subset("v1"));
  ASSERT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["error"],
            "vs.yaml: VirtualService default/reviews: spec.http[0].route[0].destination.subset: subset 'v1' is not "
            "defined by any DestinationRule for reviews.default.svc.cluster.local in namespace default");
  EXPECT_EQ(store_->revision(), 0);
  // Together with its DestinationRule, or after it, it lands.
  ASSERT_EQ(call("POST", "/api/v1/apply", rule + "---\n" + with_subset("v1")).status, 200);
  EXPECT_EQ(call("POST", "/api/v1/apply", with_subset("v2")).status, 400);
  EXPECT_EQ(store_->revision(), 1);
}

TEST_F(ConfigApiTest, TwoVirtualServicesForOneHostAreRefusedInOneNamespaceOnly) {
  const std::string first = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: first}\n"
                            "spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews}}]}]}\n";
  std::string second = first;
  second.replace(second.find("first"), 5, "second");
  ASSERT_EQ(call("POST", "/api/v1/apply?namespace=prod", first).status, 200);
  auto refused = call("POST", "/api/v1/apply?namespace=prod&source=second.yaml", second);
  ASSERT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["error"],
            "second.yaml: VirtualService prod/second: spec.hosts[0]: host 'reviews' is also claimed by "
            "VirtualService prod/first (one VirtualService per host and namespace)");
  EXPECT_EQ(store_->revision(), 1);
  EXPECT_EQ(call("POST", "/api/v1/apply?namespace=test", second).status, 200);
  EXPECT_EQ(call("POST", "/api/v1/apply?namespace=prod", first).status, 200);  // re-applying is no conflict
}

TEST_F(ConfigApiTest, MetricsCountRevisionResourcesAndResponses) {
  ASSERT_EQ(call("POST", "/api/v1/apply", kTwoResources).status, 200);
  const std::string text = call("GET", "/metrics").body;
  EXPECT_NE(text.find("strait_config_revision 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("strait_config_resources{kind=\"VirtualService\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("strait_api_responses_total{code=\"200\"} 1\n"), std::string::npos);
}

TEST_F(ConfigApiTest, JoinTokensNeedTheirStoreAndTheAdminToken) {
  EXPECT_EQ(call("POST", "/api/v1/tokens", R"({"namespace": "shop", "serviceAccount": "web"})").status, 404);
  auto tokens = std::move(*store::JoinTokenStore::open((dir_ / "store.db").string()));
  api_ = std::make_unique<ConfigApi>(*store_, std::string(kToken), tokens.get());
  EXPECT_EQ(call("POST", "/api/v1/tokens", R"({"namespace": "shop", "serviceAccount": "web"})", "").status, 401);
  auto created = call("POST", "/api/v1/tokens", R"({"namespace": "shop", "serviceAccount": "web", "ttl": "10m"})");
  ASSERT_EQ(created.status, 200) << created.body;
  const auto token = json::parse(created.body)["token"].get<std::string>();
  auto redeemed = tokens->redeem(token);
  ASSERT_TRUE(redeemed) << redeemed.error();
  EXPECT_EQ(redeemed->service_account, "web");
  const auto listed = json::parse(call("GET", "/api/v1/tokens").body);
  ASSERT_EQ(listed["items"].size(), 1u);
  EXPECT_EQ(listed.dump().find(token.substr(token.rfind('.') + 1)), std::string::npos);  // no secret
  const std::string id = listed["items"][0]["id"];
  EXPECT_EQ(call("DELETE", "/api/v1/tokens/" + id).status, 200);
  EXPECT_EQ(call("DELETE", "/api/v1/tokens/" + id).status, 404);
  EXPECT_FALSE(tokens->redeem(token));
  EXPECT_EQ(call("POST", "/api/v1/tokens", R"({"namespace": "shop", "serviceAccount": "web", "ttl": "10s"})").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/tokens", R"({"namespace": "Shop", "serviceAccount": "web"})").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/tokens", "not json").status, 400);
  api_ = std::make_unique<ConfigApi>(*store_, std::string(kToken));
}

TEST(AdminTokenTest, CreatedOnceWithMode0600AndReadBack) {
  const auto path = std::filesystem::temp_directory_path() / ("strait-token-" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  auto token = load_or_create_token(path.string());
  ASSERT_TRUE(token) << token.error();
  EXPECT_EQ(token->size(), 64u);
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(*load_or_create_token(path.string()), *token);
  EXPECT_TRUE(bearer_matches("Bearer " + *token, *token));
  EXPECT_FALSE(bearer_matches("Bearer " + token->substr(1), *token));
  std::filesystem::permissions(path, std::filesystem::perms::group_read, std::filesystem::perm_options::add);
  EXPECT_FALSE(load_or_create_token(path.string()));
  std::filesystem::remove(path);
}

constexpr std::string_view kOtlpBody = R"({"resourceSpans":[{
  "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"web"}}]},
  "scopeSpans":[{"spans":[
    {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"GET /",
     "kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000012500000",
     "attributes":[{"key":"http.status_code","value":{"intValue":"200"}}]},
    {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b8",
     "parentSpanId":"00f067aa0ba902b7","name":"GET /reviews","kind":"SPAN_KIND_CLIENT",
     "startTimeUnixNano":"1700000000001000000","endTimeUnixNano":"1700000000011000000",
     "status":{"code":2}}]}]}]})";

constexpr std::string_view kZipkinBody = R"([{"traceId":"a3ce929d0e0e4736","id":"00f067aa0ba902b9",
  "name":"get /ratings","kind":"SERVER","timestamp":1700000001000000,"duration":1500,
  "localEndpoint":{"serviceName":"ratings"},"tags":{"http.status_code":"200"}}])";

class CollectorApiTest : public ConfigApiTest {
 protected:
  void SetUp() override {
    ConfigApiTest::SetUp();
    api_->set_collector(&traces_, std::string(kCollectorToken));
  }
  TraceStore traces_;
};

TEST_F(ConfigApiTest, WithoutACollectorIngestIsNotFound) {
  EXPECT_EQ(send_spans("/v1/traces", kOtlpBody, kAuth).status, 404);
  EXPECT_EQ(send_spans("/api/v2/spans", kZipkinBody, kAuth).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/traces").status, 404);
  EXPECT_EQ(metric("straitd_collector"), "(no line straitd_collector)");
}

TEST_F(CollectorApiTest, IngestTakesTheCollectorOrTheAdminToken) {
  auto otlp = send_spans("/v1/traces", kOtlpBody);
  EXPECT_EQ(otlp.status, 200) << otlp.body;
  EXPECT_EQ(json::parse(otlp.body), json::parse(R"({"partialSuccess":{}})"));
  EXPECT_EQ(send_spans("/v1/traces", kOtlpBody, kAuth).status, 200);
  auto zipkin = send_spans("/api/v2/spans", kZipkinBody);
  EXPECT_EQ(zipkin.status, 202) << zipkin.body;
  EXPECT_EQ(json::parse(zipkin.body), json::object());
  EXPECT_EQ(send_spans("/api/v2/spans", kZipkinBody, kAuth).status, 202);
  // No credential, or a wrong one: 401, and nothing is stored.
  for (const std::string_view auth : {std::string_view(), std::string_view("Bearer nope"),
                                      std::string_view("fedcba9876543210fedcba9876543210")}) {
    EXPECT_EQ(send_spans("/v1/traces", kOtlpBody, auth).status, 401) << auth;
    EXPECT_EQ(send_spans("/api/v2/spans", kZipkinBody, auth).status, 401) << auth;
  }
  EXPECT_EQ(traces_.stats().spans_received, 6u);
  EXPECT_EQ(traces_.stats().traces, 2u);
  EXPECT_EQ(call("GET", "/v1/traces", {}, kCollectorAuth).status, 405);
  EXPECT_EQ(call("PUT", "/api/v2/spans", kZipkinBody, kCollectorAuth).status, 405);
}

TEST_F(CollectorApiTest, TheCollectorTokenIsRefusedEverywhereElse) {
  const std::pair<std::string_view, std::string_view> calls[] = {
      {"GET", "/api/v1/version"},
      {"GET", "/api/v1/traces"},
      {"GET", "/api/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736"},
      {"GET", "/api/v1/resources"},
      {"POST", "/api/v1/apply"},
      {"GET", "/api/v1/proxies"},
      {"POST", "/api/v1/tokens"},
      {"POST", "/api/v1/ca/rotate"},
      {"GET", "/api/v1/nothing"}};
  for (const auto& [method, target] : calls) {
    const auto answer = call(method, target, kTwoResources, kCollectorAuth);
    EXPECT_EQ(answer.status, 403) << method << " " << target;
    EXPECT_EQ(json::parse(answer.body)["error"],
              "the collector token allows span ingest only (POST /v1/traces, POST /api/v2/spans); "
              "use the admin token");
  }
  EXPECT_EQ(store_->revision(), 0);
  EXPECT_EQ(call("GET", "/api/v1/traces").status, 200);
}

TEST_F(CollectorApiTest, ProtobufAndCompressedBodiesAre415AndMalformedOnes400) {
  auto protobuf = send_spans("/v1/traces", "\x0a\x02", kCollectorAuth, "application/x-protobuf");
  EXPECT_EQ(protobuf.status, 415);
  EXPECT_EQ(json::parse(protobuf.body)["error"], "send OTLP as JSON (application/json)");
  EXPECT_EQ(
      send_spans("/api/v2/spans", "\x0a\x02", kCollectorAuth, "application/x-protobuf").status,
      415);
  auto gzip = send_spans("/v1/traces", kOtlpBody, kCollectorAuth, "application/json", "gzip");
  EXPECT_EQ(gzip.status, 415);
  EXPECT_EQ(json::parse(gzip.body)["error"],
            "Content-Encoding gzip is not supported: send the body uncompressed (turn off the "
            "exporter's compression)");
  // JSON with parameters, or no Content-Type at all, is read.
  EXPECT_EQ(
      send_spans("/v1/traces", kOtlpBody, kCollectorAuth, "Application/JSON; charset=utf-8").status,
      200);
  EXPECT_EQ(send_spans("/api/v2/spans", kZipkinBody, kCollectorAuth, "").status, 202);
  auto bad = send_spans("/v1/traces",
                        R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"x"}]}]}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(
      json::parse(bad.body),
      json::parse(
          R"({"error":"resourceSpans[0].scopeSpans[0].spans[0].traceId: not 32 hex digits"})"));
  EXPECT_EQ(send_spans("/api/v2/spans", "{}").status, 400);
  EXPECT_EQ(traces_.stats().spans_received, 3u);  // the two accepted requests only
}

TEST_F(ConfigApiTest, SpansOverTheStoresLimitsAreAPartialSuccess) {
  TraceStore small(TraceStoreLimits{.max_spans_per_trace = 1});
  api_->set_collector(&small, std::string(kCollectorToken));
  auto answer = send_spans("/v1/traces", kOtlpBody);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(json::parse(answer.body),
            json::parse(R"j({"partialSuccess":{"rejectedSpans":1,"errorMessage":
              "1 of 2 spans dropped by the collector's limits (at most 1 spans per trace, 64 MiB in all)"}})j"));
  api_->set_collector(nullptr, "");
}

TEST_F(CollectorApiTest, ListsAndFindsTraces) {
  ASSERT_EQ(send_spans("/v1/traces", kOtlpBody).status, 200);
  ASSERT_EQ(send_spans("/api/v2/spans", kZipkinBody).status, 202);
  const auto listed = call("GET", "/api/v1/traces");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(json::parse(listed.body), json::parse(R"({"traces":[
    {"traceId":"0000000000000000a3ce929d0e0e4736","rootService":"ratings","rootName":"get /ratings",
     "startTime":"2023-11-14T22:13:21.000000Z","durationMs":1.5,"spanCount":1,
     "services":["ratings"],"error":false},
    {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","rootService":"web","rootName":"GET /",
     "startTime":"2023-11-14T22:13:20.000000Z","durationMs":12.5,"spanCount":2,
     "services":["web"],"error":true}]})"));
  const auto web = json::parse(call("GET", "/api/v1/traces?service=web&limit=5").body);
  ASSERT_EQ(web["traces"].size(), 1u);
  EXPECT_EQ(web["traces"][0]["rootService"], "web");
  EXPECT_EQ(json::parse(call("GET", "/api/v1/traces?limit=1").body)["traces"].size(), 1u);
  const auto slow = json::parse(call("GET", "/api/v1/traces?minDuration=10ms").body);
  ASSERT_EQ(slow["traces"].size(), 1u);
  EXPECT_EQ(slow["traces"][0]["rootService"], "web");
  EXPECT_EQ(call("GET", "/api/v1/traces?limit=0").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/traces?limit=1001").status, 400);
  EXPECT_EQ(json::parse(call("GET", "/api/v1/traces?limit=ten").body)["error"],
            "limit: expected a number from 1 to 1000, got 'ten'");
  EXPECT_EQ(call("GET", "/api/v1/traces?minDuration=soon").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/traces").status, 405);

  const auto found = call("GET", "/api/v1/traces/4BF92F3577B34DA6A3CE929D0E0E4736");
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_EQ(json::parse(found.body),
            json::parse(R"({"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spans":[
    {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","parentSpanId":"",
     "name":"GET /","kind":"server","service":"web","startTime":"2023-11-14T22:13:20.000000Z",
     "startUnixNano":"1700000000000000000","durationMs":12.5,"error":false,
     "attributes":{"http.status_code":"200"}},
    {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b8",
     "parentSpanId":"00f067aa0ba902b7","name":"GET /reviews","kind":"client","service":"web",
     "startTime":"2023-11-14T22:13:20.001000Z","startUnixNano":"1700000000001000000",
     "durationMs":10.0,"error":true,"attributes":{}}]})"));
  // A Zipkin 64-bit id finds its padded trace.
  EXPECT_EQ(call("GET", "/api/v1/traces/a3ce929d0e0e4736").status, 200);
  const auto missing = call("GET", "/api/v1/traces/0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["error"],
            "no trace 0af7651916cd43dd8448eb211c80319c (traces are kept in memory: the most "
            "recent 2000)");
  const auto invalid = call("GET", "/api/v1/traces/xyz");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(json::parse(invalid.body)["error"], "'xyz' is not a trace id: not 16 or 32 hex digits");
  EXPECT_EQ(call("GET", "/api/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736/spans").status, 404);
}

TEST_F(CollectorApiTest, MetricsCountSpansTracesAndRequests) {
  ASSERT_EQ(send_spans("/v1/traces", kOtlpBody).status, 200);
  ASSERT_EQ(send_spans("/v1/traces", "nope").status, 400);
  ASSERT_EQ(send_spans("/api/v2/spans", kZipkinBody).status, 202);
  ASSERT_EQ(send_spans("/api/v2/spans", kZipkinBody, "").status, 401);
  EXPECT_EQ(metric("straitd_collector_spans_received_total "),
            "straitd_collector_spans_received_total 3");
  EXPECT_EQ(metric("straitd_collector_spans_dropped_total "),
            "straitd_collector_spans_dropped_total 0");
  EXPECT_EQ(metric("straitd_collector_traces_evicted_total "),
            "straitd_collector_traces_evicted_total 0");
  EXPECT_EQ(metric("straitd_collector_traces "), "straitd_collector_traces 2");
  EXPECT_EQ(metric("straitd_collector_spans "), "straitd_collector_spans 3");
  EXPECT_EQ(metric("straitd_collector_requests_total{format=\"otlp\",code=\"200\"}"),
            "straitd_collector_requests_total{format=\"otlp\",code=\"200\"} 1");
  EXPECT_EQ(metric("straitd_collector_requests_total{format=\"otlp\",code=\"400\"}"),
            "straitd_collector_requests_total{format=\"otlp\",code=\"400\"} 1");
  EXPECT_EQ(metric("straitd_collector_requests_total{format=\"zipkin\",code=\"202\"}"),
            "straitd_collector_requests_total{format=\"zipkin\",code=\"202\"} 1");
  EXPECT_EQ(metric("straitd_collector_requests_total{format=\"zipkin\",code=\"401\"}"),
            "straitd_collector_requests_total{format=\"zipkin\",code=\"401\"} 1");
  const std::string text = call("GET", "/metrics").body;
  EXPECT_NE(text.find("# TYPE straitd_collector_traces gauge\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE straitd_collector_requests_total counter\n"), std::string::npos);
}

}  // namespace
}  // namespace strait::control

namespace strait::control {
namespace {

TEST_F(ConfigApiTest, TrafficIsServedFromTheStoreWithItsWindowChecked) {
  EXPECT_EQ(call("GET", "/api/v1/traffic").status, 404);  // no traffic view set
  TrafficStore traffic;
  api_->set_traffic(&traffic);
  TrafficSeries s;
  s.reported_by_source = false;
  s.source_workload = "frontend-v1";
  s.source_namespace = "demo";
  s.destination_service = "catalog.demo.svc.cluster.local";
  s.destination_workload = "catalog-v1";
  s.destination_namespace = "demo";
  s.protocol = "http";
  s.response_code = 200;
  s.mutual_tls = true;
  const auto before = TrafficStore::Clock::now() - std::chrono::seconds(40);
  traffic.record("catalog-v1.demo", before, std::vector{s});
  s.requests = 300;
  s.duration_buckets[3] = 300;  // (5, 10] ms
  traffic.record("catalog-v1.demo", before + std::chrono::seconds(5), std::vector{s});

  auto r = call("GET", "/api/v1/traffic?window=1m&namespace=demo");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto body = json::parse(r.body);
  EXPECT_EQ(body["windowSeconds"], 60);
  ASSERT_EQ(body["services"].size(), 1u);
  EXPECT_EQ(body["services"][0]["service"], "catalog.demo.svc.cluster.local");
  EXPECT_DOUBLE_EQ(body["services"][0]["rps"].get<double>(), 5.0);
  EXPECT_TRUE(body["services"][0]["mtls"].get<bool>());
  ASSERT_EQ(body["edges"].size(), 1u);
  EXPECT_EQ(body["edges"][0]["source"]["workload"], "frontend-v1");
  EXPECT_EQ(body["edges"][0]["destination"]["workload"], "catalog-v1");
  EXPECT_GT(body["edges"][0]["p99Ms"].get<double>(), 5.0);
  EXPECT_TRUE(json::parse(call("GET", "/api/v1/traffic?namespace=other").body)["services"].empty());

  r = call("GET", "/api/v1/traffic/series?service=catalog.demo.svc.cluster.local&window=1m");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["points"].size(), 6u);

  EXPECT_EQ(call("GET", "/api/v1/traffic?window=1h").status, 400);
  EXPECT_NE(call("GET", "/api/v1/traffic?window=1h").body.find("10s to 15m"), std::string::npos);
  EXPECT_EQ(call("GET", "/api/v1/traffic?window=soon").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/traffic/series").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/traffic").status, 405);
  EXPECT_EQ(call("GET", "/api/v1/traffic", {}, "Bearer wrong").status, 401);
}

}  // namespace
}  // namespace strait::control
