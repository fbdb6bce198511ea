// The push pipeline without sockets: stored resources and registered workloads compiled by
// straitd (view_compiler) into a view, turned by the proxy into its config (mesh_view), then into a
// snapshot whose routes pick destinations (router).
#include "agent/mesh_view.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>

#include <map>

#include "common/host_name.h"
#include "config/resource.h"
#include "control/view_compiler.h"
#include "proxy/router.h"
#include "proxy/snapshot.h"
#include "strait/networking/v1/virtual_service.pb.h"
#include "support/stored_resources.h"

namespace strait {
namespace {

using strait::testing::stored;

control::RegisteredWorkload workload(const std::string& name, const std::string& version, const std::string& address) {
  control::RegisteredWorkload w;
  w.proxy_id = name + ".shop";
  w.node.set_workload(name);
  w.node.set_namespace_("shop");
  w.node.set_service_account("reviews");
  (*w.node.mutable_labels())["app"] = "reviews";
  (*w.node.mutable_labels())["version"] = version;
  auto* port = w.node.add_ports();
  port->set_service("reviews");
  port->set_port(9080);
  port->set_protocol("http");
  w.node.set_inbound_address(address);
  w.identity = "spiffe://cluster.local/ns/shop/sa/reviews";
  return w;
}

constexpr std::string_view kRouting = R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {x-canary: {exact: "yes"}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{uri: {regex: "/api/v[0-9]+/.*"}}]
    route: [{destination: {host: reviews, subset: v1}}]
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 90}
    - {destination: {host: reviews, subset: v2}, weight: 10}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews.shop.svc.cluster.local
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: billing, namespace: shop}
spec:
  hosts: [billing.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: STATIC
  endpoints: [{address: 192.0.2.10, ports: {tls: 8443}}]
)";

// Protobuf maps serialize in no fixed order unless asked (straitd compares views this way).
std::string deterministic_bytes(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

const proxy::Service* service_named(const proxy::ProxyConfig& config, std::string_view name) {
  for (const auto& s : config.services) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

class MeshViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    resources_ = stored(kRouting);
    workloads_ = {workload("reviews-v1", "v1", "127.0.0.1:16001"), workload("reviews-v2", "v2", "127.0.0.1:16002")};
    base_.workload.name = "web";
    base_.workload.ns = "shop";
    base_.workload.service_account = "web";
    base_.control_plane = true;
  }
  mesh::v1::DiscoveryResponse view() {
    mesh::v1::DiscoveryResponse response;
    response.set_version_info("v7");
    for (auto& r : control::compile_view({&resources_, &workloads_, "BUNDLE", "cluster.local"}))
      *response.add_resources() = std::move(r);
    return response;
  }
  // What straitd sends `node` of the whole view `pushed`: the resources that reach it.
  mesh::v1::DiscoveryResponse own_view(const mesh::v1::DiscoveryResponse& pushed,
                                       const mesh::v1::Node& node) {
    const std::vector<mesh::v1::Resource> full(pushed.resources().begin(),
                                               pushed.resources().end());
    const auto reach = control::reach_of(full);
    const auto scope = control::egress_scope(node, resources_);
    mesh::v1::DiscoveryResponse own;
    for (std::size_t i = 0; i < full.size(); ++i) {
      if (control::visible_to(reach[i], node, scope)) *own.add_resources() = full[i];
    }
    return own;
  }
  std::vector<store::StoredResource> resources_;
  std::vector<control::RegisteredWorkload> workloads_;
  proxy::ProxyConfig base_;
};

TEST_F(MeshViewTest, CompiledViewIsStableAndComplete) {
  auto a = view();
  auto b = view();
  EXPECT_EQ(deterministic_bytes(a), deterministic_bytes(b));
  std::map<std::string, int> types;
  for (const auto& r : a.resources()) types[r.body().type_url().substr(r.body().type_url().rfind('/') + 1)]++;
  EXPECT_EQ(types["strait.mesh.v1.MeshService"], 2);  // reviews (registry) and billing (ServiceEntry)
  EXPECT_EQ(types["strait.networking.v1.VirtualService"], 1);
  EXPECT_EQ(types["strait.networking.v1.DestinationRule"], 1);
  EXPECT_EQ(types["strait.mesh.v1.TrustBundle"], 1);
}

TEST_F(MeshViewTest, ProxyConfigCarriesServicesSubsetsAndRoutes) {
  auto applied = agent::config_from_view(base_, view());
  ASSERT_TRUE(applied) << applied.error();
  EXPECT_EQ(applied->trust_bundle_pem, "BUNDLE");
  EXPECT_EQ(applied->config.config_version, "v7");
  const proxy::Service* reviews = nullptr;
  const proxy::Service* billing = nullptr;
  for (const auto& s : applied->config.services) {
    if (s.fqdn == "reviews.shop.svc.cluster.local") reviews = &s;
    if (s.fqdn == "billing.example.com") billing = &s;
  }
  ASSERT_NE(reviews, nullptr);
  ASSERT_NE(billing, nullptr);
  ASSERT_EQ(reviews->endpoints.size(), 2u);
  EXPECT_TRUE(reviews->endpoints[0].mtls);
  EXPECT_EQ(reviews->endpoints[0].address.to_string(), "127.0.0.1:16001");
  EXPECT_EQ(reviews->allowed_identities, std::vector<std::string>{"spiffe://cluster.local/ns/shop/sa/reviews"});
  ASSERT_EQ(reviews->subsets.size(), 2u);
  ASSERT_EQ(reviews->http_routes.size(), 3u);
  EXPECT_EQ(reviews->http_routes[0].targets[0].weight, 100u);  // a single destination takes everything
  EXPECT_EQ(reviews->http_routes[2].targets[1].subset, "v2");
  ASSERT_EQ(billing->endpoints.size(), 1u);
  EXPECT_FALSE(billing->endpoints[0].mtls);
  EXPECT_EQ(billing->endpoints[0].address.to_string(), "192.0.2.10:8443");
  EXPECT_EQ(billing->ports[0].protocol, proxy::Protocol::kTls);
}

TEST_F(MeshViewTest, RoutesPickSubsetsByHeaderPathAndWeight) {
  auto applied = agent::config_from_view(base_, view());
  ASSERT_TRUE(applied) << applied.error();
  auto snapshot = proxy::build_snapshot(std::make_shared<const proxy::ProxyConfig>(applied->config), {}, 1);
  ASSERT_TRUE(snapshot) << snapshot.error();
  proxy::DownstreamInfo outbound;
  std::map<std::string, std::string> headers;
  auto lookup = [](const void* context, std::string_view name) -> std::optional<std::string_view> {
    const auto& h = *static_cast<const std::map<std::string, std::string>*>(context);
    auto it = h.find(std::string(name));
    return it == h.end() ? std::nullopt : std::optional<std::string_view>(it->second);
  };
  auto subset_for = [&](std::string_view path, std::uint64_t random) -> std::string {
    auto d = proxy::route_request(**snapshot, outbound, "reviews:9080");
    EXPECT_TRUE(d);
    proxy::RequestAttributes request{"GET", path, "reviews:9080", 9080, &headers, lookup};
    auto routed = proxy::select_http_route(*d, request, random);
    EXPECT_TRUE(routed);
    if (!routed || d->subset == nullptr) return "";
    EXPECT_EQ(d->subset->members.size(), 1u);
    return d->subset->name;
  };
  EXPECT_EQ(subset_for("/api/v2/x", 95), "v1");  // regex route beats the split
  int v2 = 0;
  for (std::uint64_t r = 0; r < 100; ++r) v2 += subset_for("/", r) == "v2" ? 1 : 0;
  EXPECT_EQ(v2, 10);  // 90/10 by weight
  headers["x-canary"] = "yes";
  EXPECT_EQ(subset_for("/", 0), "v2");
}

TEST_F(MeshViewTest, UnusableViewIsRefusedWithTheResourceNamed) {
  auto response = view();
  networking::v1::VirtualService bad;
  bad.add_hosts("reviews");
  bad.add_http()->add_match()->mutable_uri()->set_regex("(unclosed");
  auto* r = response.add_resources();
  r->set_name("broken");
  r->set_namespace_("shop");
  r->mutable_body()->PackFrom(bad);
  auto applied = agent::config_from_view(base_, response);
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().find("VirtualService shop/broken: http[0].match[0].uri.regex"), std::string::npos)
      << applied.error();
}

TEST_F(MeshViewTest, TrafficPolicyAndRouteResilienceReachTheProxy) {
  resources_ = stored(R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /slow}}]
    timeout: 1.5s
    retries: {attempts: 4, perTryTimeout: 250ms, retryOn: "gateway-error,reset,429", retryIgnorePreviousHosts: false}
    route: [{destination: {host: reviews}}]
  - retries: {attempts: 1}
    route: [{destination: {host: reviews}}]
    mirror: {host: reviews, subset: v2}
    mirrorPercentage: {value: 25}
    mirrors: [{destination: {host: billing.example.com, port: {number: 443}}}]
  - route: [{destination: {host: reviews}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  trafficPolicy:
    retryBudget: {percent: 10, minRetryConcurrency: 5}
    outlierDetection: {consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 2s, maxEjectionPercent: 50}
    connectionPool:
      tcp: {maxConnections: 4, connectTimeout: 250ms}
      http: {http1MaxPendingRequests: 2, http2MaxRequests: 8, maxRequestsPerConnection: 1, maxRetries: 3}
)");
  auto applied = agent::config_from_view(base_, view());
  ASSERT_TRUE(applied) << applied.error();
  const proxy::Service& reviews = applied->config.services.front();
  ASSERT_EQ(reviews.http_routes.size(), 3u);
  const auto& slow = reviews.http_routes[0];
  EXPECT_EQ(slow.timeout, std::chrono::milliseconds(1500));
  ASSERT_TRUE(slow.retries);
  EXPECT_EQ(slow.retries->attempts, 4);
  EXPECT_EQ(slow.retries->per_try_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(slow.retries->retry_on.conditions, kRetryOnGatewayError | kRetryOnReset | kRetryOnRetriableStatusCodes);
  EXPECT_EQ(slow.retries->retry_on.status_codes, std::vector<int>{429});
  EXPECT_FALSE(slow.retries->avoid_previous_host);
  // attempts without retryOn: Istio's default conditions.
  ASSERT_TRUE(reviews.http_routes[1].retries);
  EXPECT_EQ(reviews.http_routes[1].retries->attempts, 1);
  EXPECT_EQ(reviews.http_routes[1].retries->retry_on.conditions, proxy::default_retry_policy().retry_on.conditions);
  EXPECT_EQ(reviews.http_routes[1].timeout, std::chrono::milliseconds(0));
  const auto& mirrors = reviews.http_routes[1].mirrors;
  ASSERT_EQ(mirrors.size(), 2u);
  EXPECT_EQ(mirrors[0].host, "reviews.shop.svc.cluster.local");
  EXPECT_EQ(mirrors[0].subset, "v2");
  EXPECT_EQ(mirrors[0].percent, 25);
  EXPECT_EQ(mirrors[1].host, "billing.example.com");
  EXPECT_EQ(mirrors[1].port, 443);
  EXPECT_EQ(mirrors[1].percent, 100);  // without a percentage: every request
  EXPECT_FALSE(reviews.http_routes[2].retries);  // the default policy applies at the proxy
  EXPECT_EQ(reviews.traffic.all.retry_budget.percent, 10);
  EXPECT_EQ(reviews.traffic.all.retry_budget.min_retry_concurrency, 5u);
  ASSERT_TRUE(reviews.traffic.all.outlier);
  EXPECT_EQ(reviews.traffic.all.outlier->consecutive_5xx, 3u);
  EXPECT_EQ(reviews.traffic.all.outlier->consecutive_gateway, 0u);
  EXPECT_EQ(reviews.traffic.all.outlier->interval, std::chrono::milliseconds(1000));
  EXPECT_EQ(reviews.traffic.all.outlier->base_ejection, std::chrono::milliseconds(2000));
  EXPECT_EQ(reviews.traffic.all.outlier->max_ejection_percent, 50);
  EXPECT_EQ(reviews.traffic.all.outlier->min_health_percent, 0);
  EXPECT_EQ(reviews.traffic.all.pool.max_connections, 4u);
  EXPECT_EQ(reviews.traffic.all.pool.connect_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(reviews.traffic.all.pool.max_pending_requests, 2u);
  EXPECT_EQ(reviews.traffic.all.pool.max_requests, 8u);
  EXPECT_EQ(reviews.traffic.all.pool.max_requests_per_connection, 1u);
  EXPECT_EQ(reviews.traffic.all.pool.max_retries, 3u);
  EXPECT_EQ(reviews.traffic.all.pool.idle_timeout,
            std::chrono::milliseconds(0));  // unset: the proxy's
}

TEST_F(MeshViewTest, SubsetAndPortPoliciesTakeEachFieldFromTheMostSpecificLayer) {
  resources_ = stored(R"(
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool: {tcp: {maxConnections: 4}}
    outlierDetection: {consecutive5xxErrors: 3}
    portLevelSettings:
    - port: {number: 9080}
      connectionPool: {http: {http2MaxRequests: 7}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer: {simple: RANDOM}
      retryBudget: {percent: 5}
      portLevelSettings:
      - port: {number: 9080}
        outlierDetection: {consecutive5xxErrors: 9}
)");
  auto applied = agent::config_from_view(base_, view());
  ASSERT_TRUE(applied) << applied.error();
  const auto* reviews = service_named(applied->config, "reviews");
  ASSERT_NE(reviews, nullptr);
  using Kind = proxy::LoadBalancer::Kind;
  constexpr auto kUnlimited = proxy::ConnectionPoolPolicy::kUnlimited;
  // The rule: its own fields for other ports. For 9080 its port entry replaces loadBalancer,
  // connectionPool and outlierDetection whole: what it leaves out is back to the defaults.
  const auto& all = reviews->traffic.all;
  EXPECT_EQ(all.lb.kind, Kind::kRoundRobin);
  EXPECT_EQ(all.pool.max_connections, 4u);
  EXPECT_EQ(all.pool.max_requests, kUnlimited);
  ASSERT_TRUE(all.outlier);
  EXPECT_EQ(all.outlier->consecutive_5xx, 3u);
  const auto& port = reviews->traffic.for_port(9080);
  EXPECT_EQ(port.lb.kind, Kind::kLeastRequest);
  EXPECT_EQ(port.pool.max_connections, kUnlimited);
  EXPECT_EQ(port.pool.max_requests, 7u);
  EXPECT_FALSE(port.outlier);
  EXPECT_EQ(&reviews->traffic.for_port(9081), &all);
  ASSERT_EQ(reviews->subsets.size(), 2u);
  // A subset without a policy has the rule's, port by port.
  const auto& v1 = reviews->subsets[0].traffic;
  EXPECT_EQ(v1.all.pool.max_connections, 4u);
  EXPECT_EQ(v1.for_port(9080).pool.max_requests, 7u);
  EXPECT_EQ(v1.for_port(9080).pool.max_connections, kUnlimited);
  EXPECT_FALSE(v1.for_port(9080).outlier);
  // v2: its loadBalancer and retryBudget over the rule's. On 9080 its own port entry comes last
  // and replaces all three fields: its outlierDetection, default balancing and pool; the
  // retryBudget (no port form) stays the subset's.
  const auto& v2 = reviews->subsets[1].traffic;
  EXPECT_EQ(v2.all.lb.kind, Kind::kRandom);
  EXPECT_EQ(v2.all.pool.max_connections, 4u);
  EXPECT_EQ(v2.all.retry_budget.percent, 5);
  EXPECT_EQ(all.retry_budget.percent, 20);  // the default, on for every cluster
  ASSERT_TRUE(v2.all.outlier);
  EXPECT_EQ(v2.all.outlier->consecutive_5xx, 3u);
  const auto& v2_port = v2.for_port(9080);
  EXPECT_EQ(v2_port.lb.kind, Kind::kLeastRequest);
  EXPECT_EQ(v2_port.pool.max_requests, kUnlimited);
  EXPECT_EQ(v2_port.pool.max_connections, kUnlimited);
  EXPECT_EQ(v2_port.retry_budget.percent, 5);
  ASSERT_TRUE(v2_port.outlier);
  EXPECT_EQ(v2_port.outlier->consecutive_5xx, 9u);
}

TEST_F(MeshViewTest, SidecarEgressAndExportToScopeWhatAProxySees) {
  auto scoped = stored(R"(
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: web, namespace: shop}
spec:
  workloadSelector: {labels: {app: web}}
  egress: [{hosts: ["./reviews.shop.svc.cluster.local"]}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: private, namespace: shop}
spec:
  host: reviews
  exportTo: ["."]
)");
  resources_.insert(resources_.end(), scoped.begin(), scoped.end());
  const auto pushed = view();
  std::vector<mesh::v1::Resource> full(pushed.resources().begin(), pushed.resources().end());
  const auto reach = control::reach_of(full);
  ASSERT_EQ(reach.size(), full.size());
  auto names_seen = [&](const mesh::v1::Node& node) {
    const auto scope = control::egress_scope(node, resources_);
    std::vector<std::string> seen;
    for (std::size_t i = 0; i < full.size(); ++i) {
      if (control::visible_to(reach[i], node, scope))
        seen.push_back(full[i].namespace_() + "/" + full[i].name());
    }
    return seen;
  };
  mesh::v1::Node web;
  web.set_namespace_("shop");
  (*web.mutable_labels())["app"] = "web";
  // The Sidecar narrows web to reviews: no billing; the trust bundle always.
  const auto web_sees = names_seen(web);
  EXPECT_EQ(std::ranges::count(web_sees, "shop/billing.example.com"), 0);
  EXPECT_EQ(std::ranges::count(web_sees, "shop/reviews"), 3);  // service, VirtualService, DestinationRule
  EXPECT_EQ(std::ranges::count(web_sees, "shop/private"), 1);
  EXPECT_EQ(std::ranges::count(web_sees, "strait-system/trust-bundle"), 1);
  // Another workload of shop has no Sidecar: everything exported to shop.
  mesh::v1::Node other;
  other.set_namespace_("shop");
  EXPECT_EQ(names_seen(other).size(), full.size());
  // A workload of another namespace does not see what is exported to "." only.
  mesh::v1::Node outsider;
  outsider.set_namespace_("elsewhere");
  const auto outsider_sees = names_seen(outsider);
  EXPECT_EQ(std::ranges::count(outsider_sees, "shop/private"), 0);
  EXPECT_EQ(outsider_sees.size(), full.size() - 1);
}

TEST_F(MeshViewTest, TelemetryResourcesAndProviderEndpointsGiveEachWorkloadItsTracing) {
  auto telemetry = stored(R"(
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: strait-system}
spec:
  tracing: [{providers: [{name: strait}, {name: zipkin}], randomSamplingPercentage: 10}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: reviews-v2, namespace: shop}
spec:
  selector: {matchLabels: {version: v2}}
  tracing: [{randomSamplingPercentage: 100}]
)");
  resources_.insert(resources_.end(), telemetry.begin(), telemetry.end());
  mesh::v1::TelemetryEndpoints endpoints;
  endpoints.set_collector_url("http://127.0.0.1:15014/v1/traces");
  endpoints.set_collector_token("secret");
  mesh::v1::DiscoveryResponse pushed;
  for (auto& r :
       control::compile_view({&resources_, &workloads_, "BUNDLE", "cluster.local", "", &endpoints}))
    *pushed.add_resources() = std::move(r);
  for (const auto& w : workloads_) {
    proxy::ProxyConfig base = base_;
    base.workload.name = w.node.workload();
    base.workload.labels = {w.node.labels().begin(), w.node.labels().end()};
    auto applied = agent::config_from_view(base, own_view(pushed, w.node));
    ASSERT_TRUE(applied) << applied.error();
    const auto& tracing = applied->config.tracing;
    EXPECT_DOUBLE_EQ(tracing.sampling_percent, w.node.workload() == "reviews-v2" ? 100 : 10);
    // straitd has no Zipkin receiver configured: only its own collector, with the token.
    ASSERT_EQ(tracing.targets.size(), 1u);
    EXPECT_EQ(tracing.targets[0].provider, "strait");
    EXPECT_EQ(tracing.targets[0].url, "http://127.0.0.1:15014/v1/traces");
    EXPECT_EQ(tracing.targets[0].bearer_token, "secret");
    EXPECT_EQ(tracing.missing_providers, std::vector<std::string>{"zipkin"});
  }
}

TEST_F(MeshViewTest, PeerAuthenticationSetsInboundModesAndAutoMtls) {
  for (auto& w : workloads_) w.node.mutable_ports(0)->set_target_port(19080);
  auto policies = stored(R"(
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: strait-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: reviews-v2, namespace: shop}
spec:
  selector: {matchLabels: {version: v2}}
  portLevelMtls: {19080: {mode: DISABLE}}
)");
  resources_.insert(resources_.end(), policies.begin(), policies.end());
  const auto pushed = view();
  // Callers send plaintext to v2's 9080 (its target port 19080 is DISABLE), mTLS to v1.
  auto caller = agent::config_from_view(base_, pushed);
  ASSERT_TRUE(caller) << caller.error();
  const proxy::Service* reviews = service_named(caller->config, "reviews");
  ASSERT_NE(reviews, nullptr);
  ASSERT_EQ(reviews->endpoints.size(), 2u);
  EXPECT_TRUE(reviews->endpoints[0].mtls_on(9080));
  EXPECT_FALSE(reviews->endpoints[1].mtls_on(9080));
  EXPECT_TRUE(reviews->endpoints[1].mtls);  // it has a sidecar all the same
  EXPECT_EQ(caller->config.inbound_mtls.workload,
            (MtlsSetting{MtlsMode::kStrict, "strait-system/default"}));
  // Each workload gets the policies that reach it and resolves its own modes.
  for (const auto& w : workloads_) {
    const auto own = own_view(pushed, w.node);
    proxy::ProxyConfig base = base_;
    base.workload.name = w.node.workload();
    base.workload.labels = {w.node.labels().begin(), w.node.labels().end()};
    auto applied = agent::config_from_view(base, own);
    ASSERT_TRUE(applied) << applied.error();
    const bool v2 = w.node.workload() == "reviews-v2";
    EXPECT_EQ(applied->config.inbound_mtls.for_port(19080).mode,
              v2 ? MtlsMode::kDisable : MtlsMode::kStrict);
    EXPECT_EQ(applied->config.inbound_mtls.for_port(19081).mode, MtlsMode::kStrict);
  }
  // Without a policy Istio's default holds: PERMISSIVE.
  resources_.resize(resources_.size() - 2);
  auto plain = agent::config_from_view(base_, view());
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_EQ(plain->config.inbound_mtls.workload, (MtlsSetting{MtlsMode::kPermissive, ""}));
}

TEST_F(MeshViewTest, AuthorizationPoliciesReachTheWorkloadsTheySelectWithTheirDryRunMark) {
  auto policies = stored(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-viewers, namespace: shop}
spec:
  selector: {matchLabels: {app: reviews}}
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/web"], notNamespaces: [other]}}]
    to: [{operation: {methods: [GET], paths: ["/api/*"], hosts: [Reviews.Shop], ports: ["9080"]}}]
    when: [{key: "request.headers[X-Team]", values: [payments]}, {key: source.ip, values: [10.0.0.0/8]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-admin
  namespace: shop
  annotations: {istio.io/dry-run: "true"}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: [/admin]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: web-only, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
)");
  resources_.insert(resources_.end(), policies.begin(), policies.end());
  auto applied = agent::config_from_view(base_, own_view(view(), workloads_[0].node));
  ASSERT_TRUE(applied) << applied.error();
  const auto& authz = applied->config.authorization;
  ASSERT_EQ(authz.size(), 2u);  // not web-only
  EXPECT_EQ(authz[0].name, "shop/reviews-viewers");
  EXPECT_FALSE(authz[0].dry_run);
  EXPECT_EQ(authz[1].name, "shop/deny-admin");
  EXPECT_EQ(authz[1].action, proxy::AuthzPolicy::Action::kDeny);
  EXPECT_TRUE(authz[1].dry_run);
  ASSERT_EQ(authz[0].rules.size(), 1u);
  const auto& rule = authz[0].rules[0];
  ASSERT_EQ(rule.from.size(), 1u);
  EXPECT_EQ(rule.from[0].namespaces.not_values.size(), 1u);
  ASSERT_EQ(rule.to.size(), 1u);
  EXPECT_EQ(rule.to[0].ports, std::vector<std::uint16_t>{9080});
  EXPECT_EQ(rule.to[0].hosts.values[0].text, "reviews.shop");  // hosts are case-insensitive
  EXPECT_EQ(rule.to[0].paths.values[0].kind, proxy::AuthzPattern::Kind::kPrefix);
  ASSERT_EQ(rule.when.size(), 2u);
  EXPECT_EQ(rule.when[0].key, proxy::AuthzCondition::Key::kHeader);
  EXPECT_EQ(rule.when[0].name, "x-team");
  EXPECT_EQ(rule.when[1].ips.values.size(), 1u);
  // The request the rule describes passes; the same from another namespace's principal does not.
  proxy::AuthzRequest request;
  request.principal = "cluster.local/ns/shop/sa/web";
  request.source_namespace = "shop";
  request.source_ip = "10.2.3.4";
  request.port = 9080;
  request.host = "reviews.shop:9080";
  request.method = "GET";
  request.path = "/api/x";
  static const std::map<std::string, std::string, std::less<>> headers{{"x-team", "payments"}};
  request.context = &headers;
  request.header = [](const void* context,
                      std::string_view name) -> std::optional<std::string_view> {
    const auto& h = *static_cast<const std::map<std::string, std::string, std::less<>>*>(context);
    auto it = h.find(name);
    return it == h.end() ? std::nullopt : std::optional<std::string_view>(it->second);
  };
  EXPECT_TRUE(proxy::authorize(authz, request).allowed);
  request.path = "/admin";
  const auto d = proxy::authorize(authz, request);
  EXPECT_FALSE(d.allowed);  // not under /api/ (the ALLOW), and the dry-run DENY only reports
  request.principal = "cluster.local/ns/shop/sa/ratings";
  request.path = "/api/x";
  EXPECT_FALSE(proxy::authorize(authz, request).allowed);
}

TEST_F(MeshViewTest, RateLimitPoliciesReachTheWorkloadsTheySelectAndBecomeRules) {
  auto policies = stored(R"(
apiVersion: strait.dev/v1alpha1
kind: RateLimitPolicy
metadata: {name: reviews, namespace: shop}
spec:
  selector: {matchLabels: {app: reviews}}
  limits:
  - name: api
    match: [{uri: {prefix: /api}}]
    perSource: PRINCIPAL
    tokenBucket: {maxTokens: 10, tokensPerFill: 5, fillInterval: 500ms}
---
apiVersion: strait.dev/v1alpha1
kind: RateLimitPolicy
metadata: {name: mesh-wide, namespace: strait-system}
spec:
  limits: [{name: all, tokenBucket: {maxTokens: 1000, fillInterval: 1ms}}]
---
apiVersion: strait.dev/v1alpha1
kind: RateLimitPolicy
metadata: {name: root-selected, namespace: strait-system}
spec:
  selector: {matchLabels: {app: reviews}}
  limits: [{name: all, tokenBucket: {maxTokens: 50, fillInterval: 1s}}]
---
apiVersion: strait.dev/v1alpha1
kind: RateLimitPolicy
metadata: {name: elsewhere, namespace: other}
spec:
  limits: [{name: all, tokenBucket: {maxTokens: 1, fillInterval: 1s}}]
)");
  for (auto& p : policies) {
    if (p.name == "mesh-wide" || p.name == "root-selected") p.ns = "strait-system";
    if (p.name == "elsewhere") p.ns = "other";
  }
  resources_.insert(resources_.end(), policies.begin(), policies.end());
  const auto pushed = view();
  std::vector<mesh::v1::Resource> full(pushed.resources().begin(), pushed.resources().end());
  const auto reach = control::reach_of(full);
  auto policies_seen = [&](const mesh::v1::Node& node) {
    const auto scope = control::egress_scope(node, resources_);
    std::vector<std::string> seen;
    for (std::size_t i = 0; i < full.size(); ++i) {
      if (full[i].body().type_url().ends_with("RateLimitPolicy") &&
          control::visible_to(reach[i], node, scope))
        seen.push_back(full[i].namespace_() + "/" + full[i].name());
    }
    return seen;
  };
  mesh::v1::Node reviews = workloads_[0].node;
  mesh::v1::Node web;
  web.set_namespace_("shop");
  (*web.mutable_labels())["app"] = "web";
  EXPECT_EQ(policies_seen(reviews),
            (std::vector<std::string>{"shop/reviews", "strait-system/mesh-wide",
                                      "strait-system/root-selected"}));
  EXPECT_EQ(policies_seen(web), std::vector<std::string>{"strait-system/mesh-wide"});

  // The reviews proxy's view: its two policies, as rules.
  auto applied = agent::config_from_view(base_, own_view(pushed, reviews));
  ASSERT_TRUE(applied) << applied.error();
  const auto& rules = applied->config.rate_limits;
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].name, "shop/reviews/api");
  EXPECT_TRUE(rules[0].per_source);
  EXPECT_EQ(rules[0].max_tokens, 10u);
  EXPECT_EQ(rules[0].tokens_per_fill, 5u);
  EXPECT_EQ(rules[0].fill_interval, std::chrono::milliseconds(500));
  ASSERT_EQ(rules[0].matches.size(), 1u);
  EXPECT_EQ(rules[0].matches[0].uri.value, "/api");
  EXPECT_EQ(rules[1].name, "strait-system/mesh-wide/all");
  EXPECT_EQ(rules[1].tokens_per_fill, 1u);  // the default
  EXPECT_FALSE(rules[1].per_source);
}

TEST_F(MeshViewTest, TcpAndTlsRoutesReachTheServiceTheirVirtualServiceClaims) {
  resources_ = stored(R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  tls:
  - match: [{sniHosts: [V2.Example.com], port: 9443, sourceLabels: {app: web}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{sniHosts: ["*"], sourceLabels: {app: tester}}]
    route: [{destination: {host: reviews, subset: v1}}]
  tcp:
  - match: [{destinationSubnets: [10.0.0.0/8]}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route:
    - {destination: {host: reviews, subset: v1, port: {number: 9081}}, weight: 90}
    - {destination: {host: reviews, subset: v2}, weight: 10}
)");
  base_.workload.labels = {{"app", "web"}};
  auto applied = agent::config_from_view(base_, view());
  ASSERT_TRUE(applied) << applied.error();
  const proxy::Service* reviews = service_named(applied->config, "reviews");
  ASSERT_NE(reviews, nullptr);
  // The tester's route is not web's; the block on addresses (not enforced) never matches.
  ASSERT_EQ(reviews->tls_routes.size(), 1u);
  ASSERT_EQ(reviews->tls_routes[0].matches.size(), 1u);
  EXPECT_EQ(reviews->tls_routes[0].matches[0].port, 9443);
  EXPECT_EQ(reviews->tls_routes[0].matches[0].sni_hosts,
            std::vector<std::string>{"v2.example.com"});
  EXPECT_EQ(reviews->tls_routes[0].targets[0].host, "reviews.shop.svc.cluster.local");
  EXPECT_EQ(reviews->tls_routes[0].targets[0].weight, 100u);
  ASSERT_EQ(reviews->tcp_routes.size(), 1u);
  EXPECT_TRUE(reviews->tcp_routes[0].matches.empty());
  ASSERT_EQ(reviews->tcp_routes[0].targets.size(), 2u);
  EXPECT_EQ(reviews->tcp_routes[0].targets[0].port, 9081);
  EXPECT_EQ(reviews->tcp_routes[0].targets[1].weight, 10u);
}

TEST_F(MeshViewTest, MatchBlocksForOtherCallersAreLeftOutNotWidened) {
  resources_ = stored(R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - match: [{sourceLabels: {app: tester}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{sourceNamespace: other}, {uri: {prefix: /v2}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{gateways: [edge]}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
)");
  base_.workload.labels = {{"app", "web"}};
  auto applied = agent::config_from_view(base_, view());
  ASSERT_TRUE(applied) << applied.error();
  const proxy::Service* reviews = service_named(applied->config, "reviews");
  ASSERT_NE(reviews, nullptr);
  // Only the /v2 block of the second route and the catch-all remain for web in shop.
  ASSERT_EQ(reviews->http_routes.size(), 2u);
  ASSERT_EQ(reviews->http_routes[0].matches.size(), 1u);
  EXPECT_EQ(reviews->http_routes[0].matches[0].uri.value, "/v2");
  EXPECT_TRUE(reviews->http_routes[1].matches.empty());
  // As the tester, the first route is this proxy's too.
  base_.workload.labels = {{"app", "tester"}};
  auto tester = agent::config_from_view(base_, view());
  ASSERT_TRUE(tester);
  for (const auto& s : tester->config.services) {
    if (s.name == "reviews") {
      EXPECT_EQ(s.http_routes.size(), 3u);
    }
  }
}

TEST(QualifyHost, ResolvesShortNamesInTheResourceNamespace) {
  EXPECT_EQ(qualify_host("reviews", "shop"), "reviews.shop.svc.cluster.local");
  EXPECT_EQ(qualify_host("reviews.prod", "shop"), "reviews.prod.svc.cluster.local");
  EXPECT_EQ(qualify_host("Reviews.prod.svc", "shop"), "reviews.prod.svc.cluster.local");
  EXPECT_EQ(qualify_host("api.example.com", "shop"), "api.example.com");
}

}  // namespace
}  // namespace strait
