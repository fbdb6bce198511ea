#include "proxy/mirror.h"
#include "proxy/router.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/snapshot.h"

namespace strait::proxy {
namespace {

Service service(std::string name, std::string ns, std::vector<ServicePort> ports) {
  Service s;
  s.name = std::move(name);
  s.ns = std::move(ns);
  s.fqdn = s.name + "." + s.ns + ".svc.cluster.local";
  s.ports = std::move(ports);
  return s;
}

Endpoint endpoint(std::string host, std::uint16_t port) {
  Endpoint e;
  e.address = HostPort{std::move(host), port};
  e.identity = "spiffe://cluster.local/ns/prod/sa/x";
  return e;
}

// Workload "web" in namespace "prod"; the mesh has:
//   reviews.prod   9080/http                  (one port)
//   ratings.prod   80/http, 9443/grpc         (several ports, one of them 80)
//   multi.prod     9080/http, 9090/http2      (several ports, none 80)
//   details.other  8080/tcp                   (another namespace)
std::shared_ptr<ProxyConfig> mesh_config() {
  auto config = std::make_shared<ProxyConfig>();
  config->workload.name = "web";
  config->workload.ns = "prod";
  config->services.push_back(service("reviews", "prod", {{9080, Protocol::kHttp}}));
  config->services.back().endpoints = {endpoint("10.0.0.1", 15006), endpoint("fd00::2", 15006)};
  config->services.push_back(
      service("ratings", "prod", {{80, Protocol::kHttp}, {9443, Protocol::kGrpc}}));
  config->services.push_back(
      service("multi", "prod", {{9080, Protocol::kHttp}, {9090, Protocol::kHttp2}}));
  config->services.push_back(service("details", "other", {{8080, Protocol::kTcp}}));
  config->inbound_services.push_back(InboundService{"web", 8080, Protocol::kHttp, 18080});
  return config;
}

std::shared_ptr<const Snapshot> snapshot_of(std::shared_ptr<ProxyConfig> config) {
  auto built = build_snapshot(std::move(config), tls::TlsContexts{}, 1);
  if (!built) {
    ADD_FAILURE() << built.error();
    return nullptr;
  }
  return *built;
}

std::string fqdn_of(const Snapshot& snapshot, std::string_view host) {
  const ResolvedService* found = snapshot.find_service(host);
  return found == nullptr ? "(none)" : found->service->fqdn;
}

// "fqdn:port/protocol", "app:port/protocol" (inbound) or "<status> <reason>".
std::string route(const Snapshot& snapshot, const DownstreamInfo& info,
                  std::string_view authority) {
  auto d = route_request(snapshot, info, authority);
  if (!d) return std::to_string(d.error().status) + " " + std::string(name_of(d.error().reason));
  const std::string protocol(name_of(d->protocol));
  if (d->service == nullptr) return "app:" + std::to_string(d->app_port) + "/" + protocol;
  return d->service->service->fqdn + ":" + std::to_string(d->port) + "/" + protocol;
}

std::string outbound(const Snapshot& snapshot, std::string_view authority) {
  return route(snapshot, DownstreamInfo{}, authority);
}

class RouterTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Snapshot> snapshot_ = snapshot_of(mesh_config());
};

TEST_F(RouterTest, SnapshotResolvesEndpointAddresses) {
  ASSERT_NE(snapshot_, nullptr);
  EXPECT_EQ(snapshot_->version, 1U);
  EXPECT_EQ(snapshot_->services_by_fqdn.size(), 4U);
  const ResolvedService* reviews = snapshot_->find_service("reviews");
  ASSERT_NE(reviews, nullptr);
  ASSERT_EQ(reviews->addresses.size(), 2U);
  EXPECT_EQ(reviews->addresses[0].address().to_string(), "10.0.0.1");
  EXPECT_EQ(reviews->addresses[0].port(), 15006);
  EXPECT_TRUE(reviews->addresses[1].address().is_v6());
  EXPECT_EQ(reviews->addresses[1].address().to_string(), "fd00::2");
  // The snapshot points into its own config.
  EXPECT_EQ(reviews->service, &snapshot_->config->services[0]);
  ASSERT_EQ(snapshot_->inbound_by_port.count(8080), 1U);
  EXPECT_EQ(snapshot_->inbound_by_port.at(8080)->target_port, 18080);
}

TEST_F(RouterTest, SnapshotRefusesNonIpEndpoints) {
  auto config = mesh_config();
  config->services[1].endpoints = {endpoint("ratings-host.internal", 15006)};
  auto built = build_snapshot(config, tls::TlsContexts{}, 2);
  ASSERT_FALSE(built);
  EXPECT_EQ(built.error(),
            "service ratings.prod.svc.cluster.local: endpoint address 'ratings-host.internal' is "
            "not an IP address");
  config->services[1].endpoints = {endpoint("10.0.0.256", 1)};
  EXPECT_FALSE(build_snapshot(config, tls::TlsContexts{}, 3));
  config->services[1].endpoints = {endpoint("", 1)};
  EXPECT_FALSE(build_snapshot(config, tls::TlsContexts{}, 4));
}

TEST_F(RouterTest, FindServiceAcceptsEveryWayOfWritingAHost) {
  ASSERT_NE(snapshot_, nullptr);
  const Snapshot& s = *snapshot_;
  constexpr std::string_view kReviews = "reviews.prod.svc.cluster.local";
  EXPECT_EQ(fqdn_of(s, "reviews"), kReviews);  // short name: the workload's namespace
  EXPECT_EQ(fqdn_of(s, "reviews.prod"), kReviews);
  EXPECT_EQ(fqdn_of(s, "reviews.prod.svc"), kReviews);
  EXPECT_EQ(fqdn_of(s, "reviews.prod.svc.cluster.local"), kReviews);
  EXPECT_EQ(fqdn_of(s, "reviews.prod.svc.cluster.local."), kReviews);
  EXPECT_EQ(fqdn_of(s, "reviews."), kReviews);
  EXPECT_EQ(fqdn_of(s, "REVIEWS"), kReviews);
  EXPECT_EQ(fqdn_of(s, "Reviews.Prod.SVC.Cluster.Local"), kReviews);
  EXPECT_EQ(fqdn_of(s, "details.other"), "details.other.svc.cluster.local");
  EXPECT_EQ(fqdn_of(s, "details.other.svc"), "details.other.svc.cluster.local");
}

TEST_F(RouterTest, FindServiceMissesWhatTheMeshDoesNotHave) {
  ASSERT_NE(snapshot_, nullptr);
  const Snapshot& s = *snapshot_;
  EXPECT_EQ(fqdn_of(s, "details"), "(none)");  // short names only reach the workload's namespace
  EXPECT_EQ(fqdn_of(s, "reviews.other"), "(none)");
  EXPECT_EQ(fqdn_of(s, "reviews.prod.svc.cluster"), "(none)");
  EXPECT_EQ(fqdn_of(s, "reviews.prod.svc.example.com"), "(none)");
  EXPECT_EQ(fqdn_of(s, "unknown"), "(none)");
  EXPECT_EQ(fqdn_of(s, ""), "(none)");
  EXPECT_EQ(fqdn_of(s, "."), "(none)");
  EXPECT_EQ(fqdn_of(s, "10.0.0.1"), "(none)");
}

TEST_F(RouterTest, OutboundRoutesByHostAndPort) {
  ASSERT_NE(snapshot_, nullptr);
  const Snapshot& s = *snapshot_;
  EXPECT_EQ(outbound(s, "reviews:9080"), "reviews.prod.svc.cluster.local:9080/http");
  EXPECT_EQ(outbound(s, "ratings.prod:9443"), "ratings.prod.svc.cluster.local:9443/grpc");
  EXPECT_EQ(outbound(s, "multi.prod.svc.cluster.local:9090"),
            "multi.prod.svc.cluster.local:9090/http2");
  EXPECT_EQ(outbound(s, "details.other:8080"), "details.other.svc.cluster.local:8080/tcp");
  EXPECT_EQ(outbound(s, "REVIEWS.PROD.:9080"), "reviews.prod.svc.cluster.local:9080/http");
}

TEST_F(RouterTest, PortDefaultsToTheOnlyPortElse80) {
  ASSERT_NE(snapshot_, nullptr);
  const Snapshot& s = *snapshot_;
  EXPECT_EQ(outbound(s, "reviews"), "reviews.prod.svc.cluster.local:9080/http");
  EXPECT_EQ(outbound(s, "ratings"), "ratings.prod.svc.cluster.local:80/http");
  EXPECT_EQ(outbound(s, "multi"), "404 no_route");  // several ports, none of them 80
  EXPECT_EQ(outbound(s, "details.other"), "details.other.svc.cluster.local:8080/tcp");
}

TEST_F(RouterTest, UnknownHostOrPortIs404) {
  ASSERT_NE(snapshot_, nullptr);
  const Snapshot& s = *snapshot_;
  auto unknown = route_request(s, DownstreamInfo{}, "unknown:80");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().status, 404);
  EXPECT_EQ(unknown.error().reason, LocalReason::kNoRoute);
  EXPECT_EQ(unknown.error().detail, "'unknown' is not a service of the mesh");

  auto wrong_port = route_request(s, DownstreamInfo{}, "reviews:1234");
  ASSERT_FALSE(wrong_port);
  EXPECT_EQ(wrong_port.error().status, 404);
  EXPECT_EQ(wrong_port.error().reason, LocalReason::kNoRoute);
  EXPECT_EQ(wrong_port.error().detail, "reviews.prod.svc.cluster.local has no port 1234");

  EXPECT_EQ(outbound(s, "[fd00::1]:80"), "404 no_route");
  EXPECT_EQ(outbound(s, "10.0.0.1:15006"), "404 no_route");  // endpoints are not services
}

TEST_F(RouterTest, MalformedAuthorityIs400) {
  ASSERT_NE(snapshot_, nullptr);
  const Snapshot& s = *snapshot_;
  for (const std::string_view authority :
       {"", ":80", "reviews:0", "reviews:65536", "reviews:http", "[::1", "[::1]x", "[]:80"}) {
    auto d = route_request(s, DownstreamInfo{}, authority);
    ASSERT_FALSE(d) << authority;
    EXPECT_EQ(d.error().status, 400) << authority;
    EXPECT_EQ(d.error().reason, LocalReason::kMalformedRequest) << authority;
  }
}

TEST_F(RouterTest, InboundRoutesByPort) {
  auto config = mesh_config();
  config->inbound_services.push_back(InboundService{"web-grpc", 9090, Protocol::kGrpc, 19090});
  auto snapshot = snapshot_of(config);
  ASSERT_NE(snapshot, nullptr);
  DownstreamInfo info;
  info.kind = ListenerKind::kInbound;
  info.inbound_port = 8080;
  EXPECT_EQ(route(*snapshot, info, "anything"), "app:18080/http");
  info.inbound_port = 9090;
  EXPECT_EQ(route(*snapshot, info, "web:9090"), "app:19090/grpc");
  info.inbound_port = 7777;
  auto unknown = route_request(*snapshot, info, "web");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().status, 404);
  EXPECT_EQ(unknown.error().reason, LocalReason::kUnknownInboundPort);
  EXPECT_EQ(unknown.error().detail, "this workload serves no port 7777");
  // No port named (no SNI) and two services: nothing to fall back on.
  info.inbound_port = 0;
  EXPECT_EQ(route(*snapshot, info, "web"), "404 unknown_inbound_port");
}

TEST_F(RouterTest, InboundFallsBackToTheOnlyService) {
  ASSERT_NE(snapshot_, nullptr);
  DownstreamInfo info;
  info.kind = ListenerKind::kInbound;
  info.inbound_port = 0;
  EXPECT_EQ(route(*snapshot_, info, ""), "app:18080/http");
  // The fallback is for a missing port only: a wrong one is still refused.
  info.inbound_port = 9999;
  EXPECT_EQ(route(*snapshot_, info, ""), "404 unknown_inbound_port");
}

TEST_F(RouterTest, PlaintextInboundFindsThePortInTheHostAndHonoursStrict) {
  auto config = mesh_config();
  config->inbound_services.push_back(InboundService{"web", 9090, Protocol::kGrpc, 19090});
  config->inbound_services.push_back(InboundService{"admin", 7070, Protocol::kHttp, 17070});
  config->inbound_mtls = EffectiveMtls{.workload = {MtlsMode::kPermissive, "prod/default"}};
  config->inbound_mtls.ports[19090] = {MtlsMode::kStrict, "prod/web/portLevelMtls/19090"};
  auto snapshot = snapshot_of(config);
  ASSERT_NE(snapshot, nullptr);
  DownstreamInfo info;
  info.kind = ListenerKind::kInbound;
  info.plaintext = true;
  EXPECT_EQ(route(*snapshot, info, "web:8080"), "app:18080/http");
  EXPECT_EQ(route(*snapshot, info, "127.0.0.1:8080"), "app:18080/http");
  // A host without a port names a service with one port here.
  EXPECT_EQ(route(*snapshot, info, "admin"), "app:17070/http");
  EXPECT_EQ(route(*snapshot, info, "admin.prod.svc.cluster.local."), "app:17070/http");
  // web has two ports here: the host must say which.
  auto ambiguous = route_request(*snapshot, info, "web");
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().reason, LocalReason::kUnknownInboundPort);
  EXPECT_NE(ambiguous.error().detail.find("must name the service port"), std::string::npos);
  // The STRICT port refuses plaintext, with the policy named; over mTLS it is served.
  auto strict = route_request(*snapshot, info, "web:9090");
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().status, 403);
  EXPECT_EQ(strict.error().reason, LocalReason::kMtlsRequired);
  EXPECT_NE(strict.error().detail.find("prod/web/portLevelMtls/19090 is STRICT"),
            std::string::npos);
  info.plaintext = false;
  info.inbound_port = 9090;
  EXPECT_EQ(route(*snapshot, info, "web:9090"), "app:19090/grpc");
}

TEST_F(RouterTest, PlaintextInboundTakesThePortACallersSidecarStates) {
  auto config = mesh_config();
  config->inbound_services.push_back(InboundService{"web", 9090, Protocol::kGrpc, 19090});
  config->inbound_mtls = EffectiveMtls{.workload = {MtlsMode::kDisable, "prod/default"}};
  auto snapshot = snapshot_of(config);
  ASSERT_NE(snapshot, nullptr);
  DownstreamInfo info;
  info.kind = ListenerKind::kInbound;
  info.plaintext = true;
  // The Host names another service (a route sent it here) or no port: the stated port decides.
  auto stated = route_request(*snapshot, info, "reviews", 9090);
  ASSERT_TRUE(stated);
  EXPECT_EQ(stated->app_port, 19090);
  stated = route_request(*snapshot, info, "web:8080", 9090);
  ASSERT_TRUE(stated);
  EXPECT_EQ(stated->app_port, 19090);
  // A port this workload does not serve is no statement: the Host is read as before.
  stated = route_request(*snapshot, info, "web:8080", 7777);
  ASSERT_TRUE(stated);
  EXPECT_EQ(stated->app_port, 18080);
  // Over mTLS the SNI names the port; the header is not read.
  info.plaintext = false;
  info.inbound_port = 8080;
  stated = route_request(*snapshot, info, "web", 9090);
  ASSERT_TRUE(stated);
  EXPECT_EQ(stated->app_port, 18080);
  EXPECT_EQ(parse_stated_port("9090"), 9090);
  EXPECT_EQ(parse_stated_port("90x"), 0);
  EXPECT_EQ(parse_stated_port("70000"), 0);
  EXPECT_EQ(parse_stated_port(std::nullopt), 0);
}

TEST_F(RouterTest, PlaintextInboundToAStrictWorkloadIsRefused) {
  auto config = mesh_config();
  config->inbound_mtls = EffectiveMtls{.workload = {MtlsMode::kStrict, "strait-system/default"}};
  auto snapshot = snapshot_of(config);
  ASSERT_NE(snapshot, nullptr);
  DownstreamInfo info;
  info.kind = ListenerKind::kInbound;
  info.plaintext = true;
  EXPECT_EQ(route(*snapshot, info, "web"), "403 mtls_required");
  config->inbound_mtls.workload.mode = MtlsMode::kDisable;
  snapshot = snapshot_of(config);
  EXPECT_EQ(route(*snapshot, info, "web"), "app:18080/http");
}

TEST_F(RouterTest, UpstreamBindingUsesItsFixedService) {
  ASSERT_NE(snapshot_, nullptr);
  DownstreamInfo info;
  info.kind = ListenerKind::kUpstreamBinding;
  info.fixed_host = "ratings";
  info.fixed_port = 9443;
  // The request's own Host does not matter, even when malformed.
  EXPECT_EQ(route(*snapshot_, info, "reviews:9080"), "ratings.prod.svc.cluster.local:9443/grpc");
  EXPECT_EQ(route(*snapshot_, info, ""), "ratings.prod.svc.cluster.local:9443/grpc");
  info.fixed_host = "details.other.svc.cluster.local";
  info.fixed_port = 0;
  EXPECT_EQ(route(*snapshot_, info, "x"), "details.other.svc.cluster.local:8080/tcp");
  info.fixed_host = "gone";
  EXPECT_EQ(route(*snapshot_, info, "reviews"), "404 no_route");
}

TEST(SplitAuthorityTest, HostAndPort) {
  auto a = split_authority("reviews:9080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "reviews");
  EXPECT_EQ(a->port, 9080);
  a = split_authority("reviews");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "reviews");
  EXPECT_EQ(a->port, 0);
  a = split_authority("[::1]:8443");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 8443);
  a = split_authority("[fd00::1]");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "fd00::1");
  EXPECT_EQ(a->port, 0);
  a = split_authority("reviews:65535");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->port, 65535);
  // RFC 3986 allows an empty port: the same as none.
  a = split_authority("reviews:");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "reviews");
  EXPECT_EQ(a->port, 0);
}

TEST(SplitAuthorityTest, Refusals) {
  for (const std::string_view authority :
       {"", ":80", "reviews:0", "reviews:65536", "reviews:-1", "reviews:8o", "reviews:99999999999",
        "[::1", "[::1]8080", "[]", "[]:80"}) {
    EXPECT_FALSE(split_authority(authority)) << authority;
  }
}

TEST(MeshSniTest, RoundTrips) {
  EXPECT_EQ(mesh_sni(9080, "reviews.prod.svc.cluster.local"),
            "p9080.reviews.prod.svc.cluster.local");
  for (const std::uint16_t port : {1, 80, 9080, 65535}) {
    EXPECT_EQ(port_from_mesh_sni(mesh_sni(port, "a.b.svc.cluster.local")), port);
  }
  EXPECT_EQ(port_from_mesh_sni("p443"), 443);
}

TEST(MeshSniTest, MalformedSniHasNoPort) {
  for (const std::string_view sni :
       {"", "p", "p.reviews", "9080.reviews", "q9080.reviews", "P9080.reviews", "p70000.reviews",
        "p-1.reviews", "p+80.reviews", "p 80.reviews", "p9080x.reviews", "p80abc", "p0x50.reviews",
        "p99999999999.reviews"}) {
    EXPECT_EQ(port_from_mesh_sni(sni), 0) << sni;
  }
}

}  // namespace
}  // namespace strait::proxy

namespace strait::proxy {
namespace {

RequestAttributes request_to(std::string_view authority, std::string_view path, std::uint16_t port = 9080) {
  RequestAttributes r;
  r.method = "GET";
  r.path = path;
  r.authority = authority;
  r.port = port;
  return r;
}

TEST(RedirectLocation, KeepsWhatTheRedirectDoesNotReplace) {
  Redirect r;
  r.uri = "/new";
  EXPECT_EQ(redirect_location(r, request_to("reviews:9080", "/old?x=1")), "http://reviews:9080/new?x=1");
  r.uri = "/new?y=2";  // a uri with its own query replaces the request's
  EXPECT_EQ(redirect_location(r, request_to("reviews:9080", "/old?x=1")), "http://reviews:9080/new?y=2");
  r.uri.clear();
  r.authority = "example.com";
  r.scheme = "https";
  EXPECT_EQ(redirect_location(r, request_to("reviews:9080", "/a?b=c")), "https://example.com/a?b=c");
  r.port_mode = Redirect::Port::kFixed;
  r.port = 8443;
  EXPECT_EQ(redirect_location(r, request_to("reviews", "/")), "https://example.com:8443/");
  r.port_mode = Redirect::Port::kFromRequestPort;
  r.scheme.clear();
  r.authority.clear();
  EXPECT_EQ(redirect_location(r, request_to("reviews", "/p", 9080)), "http://reviews:9080/p");
  r.port_mode = Redirect::Port::kFromProtocolDefault;
  EXPECT_EQ(redirect_location(r, request_to("reviews:9080", "/p")), "http://reviews/p");
}

TEST(RouteAction, FaultsDrawTheirSharesAndAbortBeatsTheRoute) {
  HttpRoute route;
  route.virtual_service = "shop/reviews";
  route.fault_abort = FaultAbort{25.0, 503, -1};
  route.fault_delay = FaultDelay{50.0, std::chrono::milliseconds(7)};
  Destination d;
  d.route = &route;
  const auto request = request_to("reviews", "/");
  int aborted = 0;
  int delayed = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    // Draws spread evenly over the range the percentages are taken from.
    const auto action = route_action(d, request, i * 100'000, i * 100'000);
    aborted += action.respond ? 1 : 0;
    delayed += action.delay.count() == 7 ? 1 : 0;
    if (action.respond) {
      EXPECT_EQ(action.respond->status, 503);
      EXPECT_EQ(action.respond->reason, LocalReason::kFaultAbort);
    }
  }
  EXPECT_EQ(aborted, 250);
  EXPECT_EQ(delayed, 500);
  route.fault_abort = FaultAbort{100.0, 0, 14};
  const auto grpc = route_action(d, request, 0, 0);
  ASSERT_TRUE(grpc.respond);
  EXPECT_EQ(grpc.respond->grpc_status, 14);
  EXPECT_EQ(grpc.respond->status, 200);
}

using Fields = std::vector<std::pair<std::string, std::string>>;

std::optional<std::string_view> field_of(const void* context, std::string_view name) {
  for (const auto& [n, v] : *static_cast<const Fields*>(context)) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

TEST(RouteAction, CorsPreflightIsAnsweredAndAllowedOriginsGetTheirFields) {
  HttpRoute route;
  CorsPolicy cors;
  StringMatcher origin;
  origin.kind = StringMatcher::Kind::kExact;
  origin.value = "https://shop.example";
  cors.allow_origins.push_back(origin);
  cors.allow_methods = "GET, POST";
  cors.allow_headers = "x-user";
  cors.expose_headers = "x-trace";
  cors.max_age = "600";
  cors.allow_credentials = true;
  route.cors = cors;
  route.fault_abort = FaultAbort{100, 503, -1};  // CORS comes first: preflights are not aborted
  Destination d;
  d.route = &route;
  const Fields preflight{{"origin", "https://shop.example"}, {"access-control-request-method", "POST"}};
  RequestAttributes request = request_to("reviews", "/");
  request.method = "OPTIONS";
  request.context = &preflight;
  request.header = &field_of;
  auto action = route_action(d, request, 0, 0);
  ASSERT_TRUE(action.respond);
  EXPECT_EQ(action.respond->status, 200);
  EXPECT_EQ(action.respond->reason, LocalReason::kCorsPreflight);
  const Fields answered{{"access-control-allow-origin", "https://shop.example"},
                        {"access-control-allow-methods", "GET, POST"},
                        {"access-control-allow-headers", "x-user"},
                        {"access-control-max-age", "600"},
                        {"access-control-allow-credentials", "true"}};
  EXPECT_EQ(action.respond->fields, answered);
  EXPECT_NE(build_local_response(*action.respond, false).find("access-control-max-age: 600\r\n"), std::string::npos);
  // A preflight from another origin goes on (FORWARD), here to the fault; with IGNORE it is answered bare.
  const Fields stranger{{"origin", "https://evil.example"}, {"access-control-request-method", "POST"}};
  request.context = &stranger;
  EXPECT_EQ(route_action(d, request, 0, 0).respond->reason, LocalReason::kFaultAbort);
  route.cors->ignore_unmatched_preflights = true;
  action = route_action(d, request, 0, 0);
  EXPECT_EQ(action.respond->reason, LocalReason::kCorsPreflight);
  EXPECT_TRUE(action.respond->fields.empty());
  // An actual request from the allowed origin is forwarded with fields for its answer.
  route.fault_abort.reset();
  const Fields actual{{"origin", "https://shop.example"}};
  request.method = "GET";
  request.context = &actual;
  action = route_action(d, request, 0, 0);
  EXPECT_FALSE(action.respond);
  const Fields added{{"access-control-allow-origin", "https://shop.example"},
                     {"access-control-expose-headers", "x-trace"},
                     {"access-control-allow-credentials", "true"}};
  EXPECT_EQ(action.response_fields, added);
  route.cors->allow_origins.front().value = "*";  // any origin
  request.context = &stranger;
  EXPECT_EQ(route_action(d, request, 0, 0).response_fields.front().second, "https://evil.example");
}

TEST(RouteAction, DirectResponseAndRedirectAnswerWithoutAnUpstream) {
  HttpRoute route;
  route.direct_response = DirectResponse{418, "teapot"};
  Destination d;
  d.route = &route;
  auto action = route_action(d, request_to("reviews", "/"), 0, 0);
  ASSERT_TRUE(action.respond);
  EXPECT_EQ(action.respond->status, 418);
  EXPECT_EQ(action.respond->body, "teapot");
  const std::string wire = build_local_response(*action.respond, false);
  EXPECT_NE(wire.find("HTTP/1.1 418 "), std::string::npos);
  EXPECT_NE(wire.find("x-strait-reason: direct_response\r\n"), std::string::npos);
  EXPECT_TRUE(wire.ends_with("\r\n\r\nteapot"));
  route.direct_response.reset();
  route.redirect = Redirect{.uri = "/b", .code = 308};
  action = route_action(d, request_to("reviews", "/a"), 0, 0);
  ASSERT_TRUE(action.respond);
  EXPECT_EQ(action.respond->status, 308);
  EXPECT_EQ(action.respond->location, "http://reviews/b");
  EXPECT_FALSE(route_action(Destination{}, request_to("reviews", "/"), 0, 0).respond);
}

}  // namespace
}  // namespace strait::proxy

namespace strait::proxy {
namespace {

TEST(Rewrite, PrefixMatchesRewriteTheirPrefixOthersTheWholePathAndTheQueryStays) {
  Rewrite rewrite;
  rewrite.uri = "/v2/";
  RouteMatch prefix;
  prefix.uri = StringMatcher{StringMatcher::Kind::kPrefix, "/api/", nullptr};
  EXPECT_EQ(rewritten_path(rewrite, &prefix, "/api/list?page=2"), "/v2/list?page=2");
  RouteMatch exact;
  exact.uri = StringMatcher{StringMatcher::Kind::kExact, "/old", nullptr};
  EXPECT_EQ(rewritten_path(rewrite, &exact, "/old?x"), "/v2/?x");
  EXPECT_EQ(rewritten_path(rewrite, nullptr, "/anything?q"), "/v2/anything?q");  // no uri match: prefix "/"
  Rewrite none;
  EXPECT_FALSE(rewritten_path(none, &prefix, "/api/x"));
  Rewrite regex;
  regex.regex = std::make_shared<const re2::RE2>("/items/([0-9]+)");
  regex.regex_replacement = "/item/\\1/detail";
  EXPECT_EQ(rewritten_path(regex, nullptr, "/items/42?full=1"), "/item/42/detail?full=1");
}

TEST(HeaderEdits, RouteThenDestinationSetAddAndRemove) {
  HeaderOps route;
  route.set = {{"x-route", "canary"}};
  route.remove = {"x-drop"};
  HeaderOps target;
  target.add = {{"x-destination", "v1"}};
  const HeaderEdits edits{&route, &target};
  std::vector<std::pair<std::string, std::string>> fields{
      {":path", "/"}, {"x-route", "original"}, {"x-drop", "1"}, {"x-keep", "yes"}};
  edits.apply(fields);
  const std::vector<std::pair<std::string, std::string>> expected{
      {":path", "/"}, {"x-keep", "yes"}, {"x-route", "canary"}, {"x-destination", "v1"}};
  EXPECT_EQ(fields, expected);
  EXPECT_TRUE(edits.drops("X-Drop"));
  EXPECT_TRUE(edits.drops("x-route"));
  EXPECT_FALSE(edits.drops("x-destination"));
  EXPECT_TRUE(HeaderEdits{}.empty());
}

TEST(HeaderEdits, TheDestinationsSetOrRemoveReplacesTheRoutes) {
  HeaderOps route;
  route.set = {{"x-version", "route"}, {"x-gone", "route"}};
  route.add = {{"x-tag", "route"}};
  HeaderOps target;
  target.set = {{"x-version", "destination"}, {"x-tag", "destination"}};
  target.remove = {"x-gone"};
  const HeaderEdits edits{&route, &target};
  std::vector<std::pair<std::string, std::string>> fields{{"x-version", "client"}, {"x-gone", "client"}};
  edits.apply(fields);
  const std::vector<std::pair<std::string, std::string>> expected{{"x-version", "destination"},
                                                                  {"x-tag", "destination"}};
  EXPECT_EQ(fields, expected);  // one x-version, no x-gone, and the route's x-tag replaced
}

}  // namespace
}  // namespace strait::proxy

namespace strait::proxy {
namespace {

// The index must pick exactly the route a walk in order picks, whatever the mix of match kinds.
TEST(RouteIndex, PicksTheSameRouteAsAWalkInOrder) {
  auto config = std::make_shared<ProxyConfig>();
  config->workload.ns = "shop";
  Service svc;
  svc.name = "reviews";
  svc.ns = "shop";
  svc.fqdn = "reviews.shop.svc.cluster.local";
  svc.ports = {{9080, Protocol::kHttp}};
  Endpoint e;
  e.address = HostPort{"10.0.0.1", 15006};
  svc.endpoints = {e};
  for (int i = 0; i < 120; ++i) {
    HttpRoute route;
    route.virtual_service = "shop/r" + std::to_string(i);
    RouteMatch m;
    const std::string n = std::to_string(i % 17);
    switch (i % 6) {
      case 0: m.uri = {StringMatcher::Kind::kExact, "/a/" + n, nullptr}; break;
      case 1: m.uri = {StringMatcher::Kind::kPrefix, "/a/" + n, nullptr}; break;
      case 2: m.uri = {StringMatcher::Kind::kRegex, "/[ab]/" + n + "[0-9]*", std::make_shared<const re2::RE2>("/[ab]/" + n + "[0-9]*")}; break;
      case 3: m.uri = {StringMatcher::Kind::kPrefix, "/b", nullptr};
              m.headers.push_back({"x-k", {StringMatcher::Kind::kExact, n, nullptr}, false}); break;
      case 4: m.uri = {StringMatcher::Kind::kExact, "/A/" + n, nullptr}; m.ignore_uri_case = true; break;
      default: m.method = {StringMatcher::Kind::kExact, i % 12 == 5 ? "POST" : "PUT", nullptr}; break;
    }
    route.matches.push_back(std::move(m));
    if (i % 10 == 9) route.matches.push_back(RouteMatch{.uri = {StringMatcher::Kind::kExact, "/z", nullptr}});
    route.targets.push_back({svc.fqdn, 0, "", 1, {}, {}});
    svc.http_routes.push_back(std::move(route));
  }
  config->services.push_back(svc);
  auto built = build_snapshot(config, {}, 1);
  ASSERT_TRUE(built) << built.error();
  const auto& snapshot = **built;
  const auto* resolved = snapshot.find_service("reviews");
  ASSERT_NE(resolved, nullptr);
  ASSERT_NE(resolved->route_index, nullptr);
  std::map<std::string, std::string> headers;
  auto lookup = [](const void* c, std::string_view name) -> std::optional<std::string_view> {
    const auto& h = *static_cast<const std::map<std::string, std::string>*>(c);
    auto it = h.find(std::string(name));
    return it == h.end() ? std::nullopt : std::optional<std::string_view>(it->second);
  };
  int compared = 0;
  for (const char* method : {"GET", "POST", "PUT"}) {
    for (const char* key : {"", "3", "16"}) {
      headers.clear();
      if (*key != '\0') headers["x-k"] = key;
      for (int n = 0; n < 20; ++n) {
        for (const std::string prefix : {"/a/", "/b/", "/A/", "/c/"}) {
          for (const std::string tail : {"", "7", "/x", "?q=1"}) {
            const std::string path = prefix + std::to_string(n) + tail;
            RequestAttributes request{method, path, "reviews", 9080, &headers, lookup};
            const HttpRoute* walked = nullptr;
            for (const auto& r : resolved->http_routes) {
              if (route_matches(*r.route, request)) {
                walked = r.route;
                break;
              }
            }
            Destination d = *route_request(snapshot, DownstreamInfo{}, "reviews");
            auto routed = select_http_route(d, request, 0);
            EXPECT_EQ(d.route, walked) << method << " " << path << " x-k=" << key;
            EXPECT_EQ(routed.has_value() || !walked, true);
            ++compared;
          }
        }
      }
    }
  }
  EXPECT_EQ(compared, 3 * 3 * 20 * 16);
  EXPECT_EQ(RouteIndex::build({}), nullptr);  // few routes: walked in order
}

TEST(Mirror, ShadowAuthorityKeepsThePort) {
  EXPECT_EQ(shadow_authority("reviews:9080"), "reviews-shadow:9080");
  EXPECT_EQ(shadow_authority("reviews.shop.svc.cluster.local"), "reviews.shop.svc.cluster.local-shadow");
  EXPECT_EQ(shadow_authority("[::1]:8080"), "[::1]-shadow:8080");
}

TEST(ShareDrawn, HoldsItsShareAndItsBounds) {
  int drawn = 0;
  for (std::uint64_t r = 0; r < 100000; ++r) drawn += share_drawn(12.5, r * 2654435761ULL) ? 1 : 0;
  EXPECT_NEAR(drawn, 12500, 500);
  EXPECT_TRUE(share_drawn(100, 12345));
  EXPECT_FALSE(share_drawn(0, 12345));
}

}  // namespace
}  // namespace strait::proxy

namespace strait::proxy {
namespace {

RouteTarget l4_target(std::string host, std::string subset, std::uint32_t weight,
                      std::uint16_t port = 0) {
  RouteTarget t;
  t.host = std::move(host);
  t.subset = std::move(subset);
  t.weight = weight;
  t.port = port;
  return t;
}

// db.prod: 5432/tcp and 9443/tls, endpoints v1 and v2 (subsets); db-canary.prod 5432/tcp.
std::shared_ptr<ProxyConfig> l4_config() {
  auto config = std::make_shared<ProxyConfig>();
  config->workload.ns = "prod";
  config->services.push_back(
      service("db", "prod", {{5432, Protocol::kTcp}, {9443, Protocol::kTls}}));
  auto& db = config->services.back();
  db.endpoints = {endpoint("10.0.0.1", 15006), endpoint("10.0.0.2", 15006)};
  db.endpoints[0].labels = {{"version", "v1"}};
  db.endpoints[1].labels = {{"version", "v2"}};
  db.subsets = {Subset{"v1", {{"version", "v1"}}, {}}, Subset{"v2", {{"version", "v2"}}, {}}};
  L4Route by_sni;
  by_sni.virtual_service = "prod/db";
  by_sni.matches = {L4Match{9443, {"v2.db.example.com"}}};
  by_sni.targets = {l4_target("db.prod.svc.cluster.local", "v2", 100)};
  L4Route any_sni;
  any_sni.virtual_service = "prod/db";
  any_sni.matches = {L4Match{0, {"*.example.com"}}};
  any_sni.targets = {l4_target("db.prod.svc.cluster.local", "v1", 100)};
  db.tls_routes = {by_sni, any_sni};
  L4Route split;
  split.virtual_service = "prod/db";
  split.matches = {L4Match{5432, {}}};
  split.targets = {l4_target("db.prod.svc.cluster.local", "v1", 75),
                   l4_target("db-canary.prod.svc.cluster.local", "", 25)};
  db.tcp_routes = {split};
  config->services.push_back(service("db-canary", "prod", {{5432, Protocol::kTcp}}));
  config->services.back().endpoints = {endpoint("10.0.0.3", 15006)};
  return config;
}

Destination l4_destination(const Snapshot& snapshot, std::uint16_t port) {
  Destination d;
  d.service = snapshot.find_service("db");
  d.port = port;
  for (const auto& p : d.service->service->ports) {
    if (p.port == port) d.protocol = p.protocol;
  }
  return d;
}

TEST(Clusters, EachSubsetAndPortHasItsOwnSettingsAndCounts) {
  auto config = l4_config();
  auto& db = config->services.front();
  db.traffic.all.pool.max_requests = 5;
  db.subsets[1].traffic.all.pool.max_requests = 3;
  TrafficSettings tls_port;
  tls_port.pool.max_requests = 1;
  tls_port.lb.kind = LoadBalancer::Kind::kRandom;
  db.subsets[1].traffic.ports = {PortTrafficSettings{9443, tls_port}};
  CircuitRegistry circuits;
  auto built = build_snapshot(config, tls::TlsContexts{}, 1, &circuits);
  ASSERT_TRUE(built) << built.error();
  const Snapshot& snapshot = **built;
  const ResolvedService& service = *snapshot.find_service("db");
  ASSERT_EQ(service.clusters.size(), 6u);  // {every endpoint, v1, v2} x {5432, 9443}
  const auto& v2 = service.subsets[1];
  EXPECT_EQ(service.cluster(nullptr, 5432).name, "outbound|5432||db.prod.svc.cluster.local");
  EXPECT_EQ(service.cluster(&v2, 9443).name, "outbound|9443|v2|db.prod.svc.cluster.local");
  EXPECT_EQ(service.cluster(&v2, 9443).set, &v2);
  EXPECT_EQ(service.cluster(&v2, 9443).lb().kind, LoadBalancer::Kind::kRandom);
  EXPECT_EQ(service.cluster(&v2, 5432).lb().kind, LoadBalancer::Kind::kLeastRequest);
  EXPECT_EQ(service.cluster(&service.subsets[0], 9443).pool().max_requests,
            ConnectionPoolPolicy::kUnlimited);
  // Each cluster pools its own connections: v1's endpoint is in both the service's and v1's set.
  const auto& all_keys = service.cluster(nullptr, 5432).tcp_keys;
  const auto& v1_keys = service.cluster(&service.subsets[0], 5432).tcp_keys;
  EXPECT_NE(all_keys[0], v1_keys[0]);
  EXPECT_EQ(v1_keys[1], "");  // v2's endpoint is not v1's
  EXPECT_NE(all_keys[1], "");
  // http2MaxRequests counts per cluster: v2 on 9443 holds one request, v2 on 5432 three more,
  // the endpoints of no subset five of their own.
  Destination d = l4_destination(snapshot, 9443);
  d.subset = &v2;
  std::string overflow;
  const CircuitSlot first = take_request_slot(d, overflow);
  EXPECT_TRUE(first.held());
  EXPECT_FALSE(take_request_slot(d, overflow).held());
  EXPECT_EQ(overflow,
            "outbound|9443|v2|db.prod.svc.cluster.local: connectionPool.http.http2MaxRequests (1) "
            "reached");
  d.port = 5432;
  std::vector<CircuitSlot> held;
  for (int i = 0; i < 3; ++i) held.push_back(take_request_slot(d, overflow));
  EXPECT_TRUE(held.back().held());
  EXPECT_FALSE(take_request_slot(d, overflow).held());
  d.subset = nullptr;
  for (int i = 0; i < 5; ++i) held.push_back(take_request_slot(d, overflow));
  EXPECT_TRUE(held.back().held());
  EXPECT_FALSE(take_request_slot(d, overflow).held());
  // A new snapshot carries each cluster's counts over.
  auto next = build_snapshot(config, tls::TlsContexts{}, 2, &circuits);
  ASSERT_TRUE(next);
  Destination again = l4_destination(**next, 9443);
  again.subset = &(*next)->find_service("db")->subsets[1];
  EXPECT_FALSE(take_request_slot(again, overflow).held());
}

TEST(L4Routes, TlsRoutesChooseBySniInOrderAndFallBackToTheService) {
  const auto snapshot = snapshot_of(l4_config());
  ASSERT_TRUE(snapshot);
  auto d = l4_destination(*snapshot, 9443);
  ASSERT_TRUE(select_l4_route(d, "v2.db.example.com", 7));
  ASSERT_NE(d.subset, nullptr);
  EXPECT_EQ(d.subset->name, "v2");
  d = l4_destination(*snapshot, 9443);
  ASSERT_TRUE(select_l4_route(d, "other.example.com", 7));
  ASSERT_NE(d.subset, nullptr);
  EXPECT_EQ(d.subset->name, "v1");
  // No name, or a name no route takes, on a port without tcp routes: the service itself.
  for (const std::string_view sni : {"", "example.com", "db.internal"}) {
    d = l4_destination(*snapshot, 9443);
    ASSERT_TRUE(select_l4_route(d, sni, 7));
    EXPECT_EQ(d.subset, nullptr) << sni;
    EXPECT_EQ(d.service->service->name, "db");
  }
}

TEST(L4Routes, TcpRoutesSplitConnectionsByWeightAcrossServices) {
  const auto snapshot = snapshot_of(l4_config());
  ASSERT_TRUE(snapshot);
  std::map<std::string, int> landed;
  for (std::uint64_t r = 0; r < 1000; ++r) {
    auto d = l4_destination(*snapshot, 5432);
    ASSERT_TRUE(select_l4_route(d, "", r * 7919));
    EXPECT_EQ(d.port, 5432);
    landed[d.service->service->name + (d.subset != nullptr ? "/" + d.subset->name : "")]++;
  }
  EXPECT_EQ(landed.size(), 2u);
  EXPECT_NEAR(landed["db/v1"], 750, 40);
  EXPECT_NEAR(landed["db-canary"], 250, 40);
}

TEST(L4Routes, AMissingSubsetOrServiceIsAnError) {
  auto config = l4_config();
  config->services[0].tcp_routes[0].targets = {l4_target("db.prod.svc.cluster.local", "v9", 1)};
  const auto snapshot = snapshot_of(config);
  ASSERT_TRUE(snapshot);
  auto d = l4_destination(*snapshot, 5432);
  const auto routed = select_l4_route(d, "", 1);
  ASSERT_FALSE(routed);
  EXPECT_EQ(routed.error().reason, LocalReason::kNoHealthyUpstream);
}

TEST(L4Routes, AnHttpPortTakesNoL4Route) {
  auto config = l4_config();
  config->services[0].ports.push_back({8080, Protocol::kHttp});
  config->services[0].tcp_routes[0].matches.clear();  // a route for every connection, of any port
  const auto snapshot = snapshot_of(config);
  ASSERT_TRUE(snapshot);
  auto d = l4_destination(*snapshot, 8080);
  ASSERT_EQ(d.protocol, Protocol::kHttp);
  ASSERT_TRUE(select_l4_route(d, "", 1));
  EXPECT_EQ(d.service->service->name, "db");
  EXPECT_EQ(d.subset, nullptr);
}

TEST(L4Routes, SniPatterns) {
  EXPECT_TRUE(sni_matches("api.example.com", "API.example.com"));
  EXPECT_TRUE(sni_matches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(sni_matches("*.example.com", "example.com"));
  EXPECT_FALSE(sni_matches("*.example.com", "badexample.com"));
  EXPECT_TRUE(sni_matches("*", "anything"));
  EXPECT_FALSE(sni_matches("*", ""));
}

}  // namespace
}  // namespace strait::proxy

namespace strait::proxy {
namespace {

std::shared_ptr<ProxyConfig> hashed_config(LoadBalancer lb) {
  auto config = std::make_shared<ProxyConfig>();
  config->workload.ns = "prod";
  config->services.push_back(service("cart", "prod", {{8080, Protocol::kHttp}}));
  config->services.back().endpoints = {endpoint("10.0.0.1", 15006), endpoint("10.0.0.2", 15006)};
  config->services.back().traffic.all.lb = std::move(lb);
  return config;
}

TEST(HashKeys, TheSourceIpIsAKeyWhenAsked) {
  LoadBalancer lb;
  lb.kind = LoadBalancer::Kind::kMaglev;
  lb.key = LoadBalancer::HashKey::kSourceIp;
  const auto snapshot = snapshot_of(hashed_config(lb));
  ASSERT_TRUE(snapshot);
  Destination d;
  d.service = snapshot->find_service("cart");
  RequestAttributes request;
  request.path = "/";
  EXPECT_FALSE(hash_key(d, request));
  request.source_ip = "127.0.0.1";
  const auto a = hash_key(d, request);
  request.source_ip = "127.0.0.2";
  const auto b = hash_key(d, request);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

TEST(HashKeys, ACookieWithATtlIsGeneratedWhenTheRequestLacksIt) {
  LoadBalancer lb;
  lb.kind = LoadBalancer::Kind::kRingHash;
  lb.key = LoadBalancer::HashKey::kCookie;
  lb.key_name = "sticky";
  lb.cookie_ttl = std::chrono::seconds(3600);
  lb.cookie_path = "/shop";
  lb.cookie_attributes = "; SameSite=Strict";
  const auto snapshot = snapshot_of(hashed_config(lb));
  ASSERT_TRUE(snapshot);
  Destination d;
  d.service = snapshot->find_service("cart");
  const auto cookie = generate_hash_cookie(d, 0x0123456789abcdefULL);
  ASSERT_TRUE(cookie);
  EXPECT_EQ(cookie->first, "set-cookie");
  EXPECT_EQ(cookie->second,
            "sticky=fedcba9876543210; Path=/shop; Max-Age=3600; HttpOnly; SameSite=Strict");
  // The request is hashed as its next ones will be, carrying the cookie.
  std::map<std::string, std::string> headers{{"cookie", "sticky=fedcba9876543210"}};
  RequestAttributes next;
  next.context = &headers;
  next.header = [](const void* context, std::string_view name) -> std::optional<std::string_view> {
    const auto& h = *static_cast<const std::map<std::string, std::string>*>(context);
    auto it = h.find(std::string(name));
    return it == h.end() ? std::nullopt : std::optional<std::string_view>(it->second);
  };
  EXPECT_EQ(d.hash, hash_key(d, next));
  // A request that has a key already, or a cookie without a ttl, generates nothing.
  EXPECT_FALSE(generate_hash_cookie(d, 1));
  Destination plain;
  lb.cookie_ttl = std::chrono::seconds(0);
  const auto no_ttl = snapshot_of(hashed_config(lb));
  plain.service = no_ttl->find_service("cart");
  EXPECT_FALSE(generate_hash_cookie(plain, 1));
}

}  // namespace
}  // namespace strait::proxy
