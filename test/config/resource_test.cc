// YAML documents of Istio's kinds into the protobuf messages of api/, and back to JSON.
#include "config/resource.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/proto_yaml.h"

namespace strait::config {
namespace {

constexpr std::string_view kVirtualService = R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: prod
  labels: {team: bookinfo}
spec:
  hosts: [reviews]
  http:
  - match:
    - headers:
        end-user: {exact: jason}
      uri: {prefix: /api}
    route:
    - destination: {host: reviews, subset: v2}
      weight: 90
    - destination: {host: reviews, subset: v1, port: {number: 9080}}
      weight: 10
    timeout: 500ms
    retries:
      attempts: 3
      perTryTimeout: 1m30s
      retryOn: 5xx,reset
)";

std::string first_error(std::string_view yaml) {
  auto parsed = parse_resources(yaml, "test.yaml");
  return parsed ? std::string("(no error)") : parsed.error();
}

TEST(ResourceTest, VirtualServiceRoundTripsWithIstioNamesAndDurations) {
  auto parsed = parse_resources(kVirtualService, "vs.yaml");
  ASSERT_TRUE(parsed) << parsed.error();
  ASSERT_EQ(parsed->size(), 1u);
  const Resource& r = parsed->front();
  EXPECT_EQ(r.kind->kind, "VirtualService");
  EXPECT_EQ(r.name, "reviews");
  EXPECT_EQ(r.ns, "prod");
  EXPECT_EQ(r.labels.at("team"), "bookinfo");
  const auto json = message_to_json(*r.spec);
  const auto& route = json["http"][0];
  EXPECT_EQ(json["hosts"][0], "reviews");
  EXPECT_EQ(route["timeout"], "500ms");
  EXPECT_EQ(route["retries"]["perTryTimeout"], "1m30s");
  EXPECT_EQ(route["retries"]["attempts"], 3);
  EXPECT_EQ(route["route"][0]["weight"], 90);
  EXPECT_EQ(route["route"][1]["destination"]["port"]["number"], 9080);
  EXPECT_EQ(route["match"][0]["headers"]["end-user"]["exact"], "jason");
  EXPECT_EQ(route["match"][0]["uri"]["prefix"], "/api");
}

TEST(ResourceTest, EveryKindIsKnownWithItsGroup) {
  EXPECT_EQ(all_kinds().size(), 10u);
  for (const char* kind : {"VirtualService", "DestinationRule", "ServiceEntry", "WorkloadEntry", "Sidecar"}) {
    ASSERT_NE(find_kind(kind), nullptr) << kind;
    EXPECT_EQ(find_kind(kind)->group, "networking.istio.io");
  }
  for (const char* kind : {"PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication"}) {
    ASSERT_NE(find_kind(kind), nullptr) << kind;
    EXPECT_EQ(find_kind(kind)->group, "security.istio.io");
  }
  ASSERT_NE(find_kind("Telemetry"), nullptr);
  ASSERT_NE(find_kind("RateLimitPolicy"), nullptr);
  EXPECT_EQ(find_kind("RateLimitPolicy")->group, "strait.dev");
  EXPECT_EQ(find_kind("Gateway"), nullptr);
}

TEST(ResourceTest, OlderApiVersionsAreAccepted) {
  for (const char* version : {"v1", "v1beta1", "v1alpha3"}) {
    const std::string yaml = std::string("apiVersion: networking.istio.io/") + version +
                             "\nkind: DestinationRule\nmetadata: {name: r}\nspec: {host: reviews}\n";
    EXPECT_TRUE(parse_resources(yaml, "x")) << version;
  }
}

TEST(ResourceTest, ErrorsNameTheDocumentFieldPathAndPosition) {
  const std::string unknown = first_error(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a}
spec:
  http:
  - rout: []
)");
  EXPECT_EQ(unknown, "test.yaml: document 1: spec.http[0].rout: unknown field (line 6, column 5)");

  EXPECT_NE(first_error("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a}\n"
                        "spec: {http: [{route: [{weight: abc}]}]}\n")
                .find("spec.http[0].route[0].weight: must be a whole number"),
            std::string::npos);
  EXPECT_NE(first_error("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a}\n"
                        "spec: {http: [{timeout: 5x}]}\n")
                .find("spec.http[0].timeout: unknown unit 'x' in '5x'"),
            std::string::npos);
}

TEST(ResourceTest, EnumsAreWrittenByNameAndBadNamesListTheChoices) {
  auto ok = parse_resources(R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    outlierDetection: {consecutive5xxErrors: 7, interval: 10s, baseEjectionTime: 30s}
)", "dr.yaml");
  ASSERT_TRUE(ok) << ok.error();
  const auto json = message_to_json(*ok->front().spec);
  EXPECT_EQ(json["trafficPolicy"]["loadBalancer"]["simple"], "ROUND_ROBIN");
  EXPECT_EQ(json["trafficPolicy"]["outlierDetection"]["consecutive5xxErrors"], 7);
  EXPECT_EQ(json["trafficPolicy"]["outlierDetection"]["baseEjectionTime"], "30s");

  const std::string bad = first_error("apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
                                      "metadata: {name: r}\nspec: {trafficPolicy: {loadBalancer: {simple: FASTEST}}}\n");
  EXPECT_NE(bad.find("spec.trafficPolicy.loadBalancer.simple: unknown value 'FASTEST' (one of"), std::string::npos) << bad;
  EXPECT_NE(bad.find("ROUND_ROBIN"), std::string::npos);
}

TEST(ResourceTest, OneofAllowsASingleMember) {
  const std::string bad = first_error("apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
                                      "metadata: {name: a}\nspec: {http: [{match: [{uri: {exact: /a, prefix: /b}}]}]}\n");
  EXPECT_NE(bad.find("spec.http[0].match[0].uri.prefix: only one of 'exact' and 'prefix' may be set"),
            std::string::npos)
      << bad;
}

TEST(ResourceTest, KindApiVersionAndMetadataAreChecked) {
  EXPECT_NE(first_error("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: a}\n")
                .find("kind: unknown kind 'Gateway' (one of VirtualService"),
            std::string::npos);
  EXPECT_NE(first_error("apiVersion: security.istio.io/v1\nkind: VirtualService\nmetadata: {name: a}\n")
                .find("apiVersion: 'security.istio.io/v1' does not serve VirtualService"),
            std::string::npos);
  EXPECT_NE(first_error("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {}\n")
                .find("metadata.name: is required"),
            std::string::npos);
  EXPECT_NE(first_error("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a}\nsepc: {}\n")
                .find("sepc: unknown field"),
            std::string::npos);
}

TEST(ResourceTest, ManyDocumentsLandWholeOrNotAtAll) {
  const std::string two = std::string(kVirtualService) +
                          "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
                          "metadata: {name: r}\nspec: {host: reviews, subsets: [{name: v1, labels: {version: v1}}]}\n";
  auto ok = parse_resources(two, "two.yaml");
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->size(), 2u);
  EXPECT_EQ(message_to_json(*(*ok)[1].spec)["subsets"][0]["labels"]["version"], "v1");

  const std::string broken = two + "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
                                   "metadata: {name: s}\nspec: {host: 5, subsets: nope}\n";
  auto failed = parse_resources(broken, "three.yaml");
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().find("three.yaml: document 3: spec.subsets: must be a list"), std::string::npos)
      << failed.error();
}

TEST(ResourceTest, InvalidYamlSaysWhere) {
  auto failed = parse_resources("kind: [unclosed\n", "bad.yaml");
  ASSERT_FALSE(failed);
  EXPECT_TRUE(failed.error().starts_with("bad.yaml: invalid YAML at line ")) << failed.error();
}

TEST(ResourceTest, InvalidUtf8IsRefused) {
  const std::string bad = first_error(std::string("apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
                                                  "metadata: {name: a}\nspec: {hosts: [a") + "\xFF\xFE" + "b]}\n");
  EXPECT_NE(bad.find("spec.hosts[0]: must be valid UTF-8"), std::string::npos) << bad;
  const std::string raw = std::string("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a") +
                          "\xFF" + "}\n";
  EXPECT_NE(first_error(raw).find("must be valid UTF-8"), std::string::npos) << first_error(raw);
}

TEST(ResourceTest, ControlCharactersInKeysAreRefused) {
  const std::string bad = first_error("apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
                                      "metadata: {name: r}\nspec: {host: a, subsets: [{name: v1, labels: {\"a\\x0bb\": c}}]}\n");
  EXPECT_NE(bad.find("spec.subsets[0].labels: a key contains a control character"), std::string::npos) << bad;
  EXPECT_NE(first_error("apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
                        "metadata: {name: r, labels: {\"x\\ty\": z}}\nspec: {host: a}\n")
                .find("metadata.labels"),
            std::string::npos);
}

TEST(ResourceTest, MalformedTextThatLoopsYamlCppIsRefused) {
  // yaml-cpp 0.7 loops forever on these (issue 1040): they must come back as errors, at once.
  for (const char* text : {",", ", x", "apiVersion: v1\n,\n"}) {
    const std::string error = first_error(text);
    EXPECT_NE(error.find("invalid YAML"), std::string::npos) << text << " -> " << error;
  }
}

TEST(ResourceTest, AMissingSpecIsAnEmptySpec) {
  auto parsed = parse_resources("apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
                                "metadata: {name: default, namespace: strait-system}\n", "pa.yaml");
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(message_to_json(*parsed->front().spec), nlohmann::json::object());
}

TEST(ProtoYamlTest, IstioDurationsFormatBack) {
  EXPECT_EQ(format_istio_duration(0, 500'000'000), "500ms");
  EXPECT_EQ(format_istio_duration(90, 0), "1m30s");
  EXPECT_EQ(format_istio_duration(3600, 0), "1h");
  EXPECT_EQ(format_istio_duration(3661, 0), "1h1m1s");
  EXPECT_EQ(format_istio_duration(0, 0), "0s");
  EXPECT_EQ(format_istio_duration(0, 250'000), "250us");
}

}  // namespace
}  // namespace strait::config
