// The config API schema accepts Istio's JSON/YAML field names and rejects anything else.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <string>

#include "strait/meta/v1/metadata.pb.h"
#include "strait/networking/v1/destination_rule.pb.h"
#include "strait/networking/v1/service_entry.pb.h"
#include "strait/networking/v1/sidecar.pb.h"
#include "strait/networking/v1/virtual_service.pb.h"
#include "strait/networking/v1/workload_entry.pb.h"
#include "strait/security/v1/authorization_policy.pb.h"
#include "strait/security/v1/peer_authentication.pb.h"
#include "strait/security/v1/request_authentication.pb.h"
#include "strait/telemetry/v1/telemetry.pb.h"

namespace {

namespace pb = google::protobuf;
namespace net = strait::networking::v1;
namespace sec = strait::security::v1;
namespace tel = strait::telemetry::v1;

// Strict parse: unknown fields are errors, as at apply time.
pb::util::Status Parse(const std::string& json, pb::Message* msg) {
  pb::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  return pb::util::JsonStringToMessage(json, msg, opts);
}

// Note: protobuf's JSON mapping only takes durations in seconds ("2s", "0.030s", "300s"). Istio's YAML
// also allows Go-style units ("30ms", "5m", "1h"); the config loader must normalise those to seconds before
// handing the document to JsonStringToMessage (see GoStyleDurationsNeedNormalising).

TEST(ApiSchema, VirtualService) {
  const std::string json = R"json({
    "hosts": ["reviews"],
    "gateways": ["mesh"],
    "exportTo": ["."],
    "http": [{
      "name": "jason",
      "match": [{
        "name": "by-user",
        "headers": {"end-user": {"exact": "jason"}},
        "uri": {"prefix": "/api"},
        "ignoreUriCase": true,
        "queryParams": {"v": {"regex": "^2"}},
        "withoutHeaders": {"x-skip": {}},
        "sourceLabels": {"app": "productpage"},
        "port": 9080
      }],
      "route": [
        {"destination": {"host": "reviews", "subset": "v1", "port": {"number": 9080}}, "weight": 90},
        {"destination": {"host": "reviews", "subset": "v2"}, "weight": 10,
         "headers": {"response": {"set": {"x-canary": "1"}, "remove": ["x-internal"]}}}
      ],
      "timeout": "10s",
      "retries": {"attempts": 3, "perTryTimeout": "2s", "retryOn": "5xx,connect-failure",
                  "retryRemoteLocalities": true},
      "fault": {"abort": {"httpStatus": 503, "percentage": {"value": 0.5}},
                "delay": {"fixedDelay": "7s", "percentage": {"value": 10}}},
      "mirror": {"host": "reviews", "subset": "v3"},
      "mirrorPercentage": {"value": 25.0},
      "rewrite": {"uriRegexRewrite": {"match": "^/api/(.*)", "rewrite": "/\\1"}},
      "headers": {"request": {"add": {"x-route": "jason"}}},
      "corsPolicy": {"allowOrigins": [{"exact": "https://example.com"}], "allowMethods": ["GET"],
                     "maxAge": "86400s", "allowCredentials": false}
    }, {
      "match": [{"uri": {"exact": "/old"}}],
      "redirect": {"uri": "/new", "derivePort": "FROM_REQUEST_PORT", "redirectCode": 302}
    }, {
      "directResponse": {"status": 418, "body": {"string": "teapot"}}
    }, {
      "delegate": {"name": "reviews-delegate", "namespace": "team-a"}
    }],
    "tcp": [{"match": [{"port": 27017}], "route": [{"destination": {"host": "mongo"}}]}],
    "tls": [{"match": [{"sniHosts": ["login.example.com"], "port": 443}],
             "route": [{"destination": {"host": "login"}}]}]
  })json";
  net::VirtualService vs;
  auto st = Parse(json, &vs);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(vs.http_size(), 4);
  const auto& r = vs.http(0);
  EXPECT_EQ(r.match(0).headers().at("end-user").exact(), "jason");
  EXPECT_TRUE(r.match(0).ignore_uri_case());
  EXPECT_FALSE(r.match(0).without_headers().at("x-skip").has_exact());
  ASSERT_EQ(r.route_size(), 2);
  EXPECT_EQ(r.route(0).weight(), 90);
  EXPECT_EQ(r.route(1).weight(), 10);
  EXPECT_EQ(r.route(0).destination().subset(), "v1");
  EXPECT_EQ(r.route(0).destination().port().number(), 9080u);
  EXPECT_EQ(r.retries().attempts(), 3);
  EXPECT_EQ(r.retries().per_try_timeout().seconds(), 2);
  EXPECT_EQ(r.retries().retry_on(), "5xx,connect-failure");
  EXPECT_TRUE(r.retries().retry_remote_localities().value());
  EXPECT_EQ(r.fault().abort().http_status(), 503);
  EXPECT_DOUBLE_EQ(r.fault().abort().percentage().value(), 0.5);
  EXPECT_EQ(r.fault().delay().fixed_delay().seconds(), 7);
  EXPECT_EQ(r.mirror().subset(), "v3");
  EXPECT_DOUBLE_EQ(r.mirror_percentage().value(), 25.0);
  EXPECT_EQ(r.rewrite().uri_regex_rewrite().rewrite(), "/\\1");
  EXPECT_EQ(r.cors_policy().max_age().seconds(), 86400);
  EXPECT_TRUE(r.cors_policy().has_allow_credentials());
  EXPECT_EQ(vs.http(1).redirect().derive_port(), net::HTTPRedirect::FROM_REQUEST_PORT);
  EXPECT_EQ(vs.http(1).redirect().redirect_code(), 302u);
  EXPECT_EQ(vs.http(2).direct_response().body().string(), "teapot");
  EXPECT_EQ(vs.http(3).delegate().namespace_(), "team-a");
  EXPECT_EQ(vs.tcp(0).match(0).port(), 27017u);
  EXPECT_EQ(vs.tls(0).match(0).sni_hosts(0), "login.example.com");

  net::VirtualService grpc;
  ASSERT_TRUE(Parse(R"json({"http":[{"fault":{"abort":{"grpcStatus":"UNAVAILABLE","percentage":{"value":1}}},
                        "redirect":{"port":8443}}]})json", &grpc).ok());
  EXPECT_EQ(grpc.http(0).fault().abort().grpc_status(), "UNAVAILABLE");
  EXPECT_EQ(grpc.http(0).redirect().port(), 8443u);
}

TEST(ApiSchema, DestinationRule) {
  const std::string json = R"json({
    "host": "reviews.prod.svc.cluster.local",
    "exportTo": ["*"],
    "workloadSelector": {"matchLabels": {"app": "ratings"}},
    "trafficPolicy": {
      "loadBalancer": {
        "consistentHash": {"httpCookie": {"name": "user", "path": "/", "ttl": "0s"},
                           "ringHash": {"minimumRingSize": "2048"}},
        "localityLbSetting": {"enabled": true, "failover": [{"from": "us-east", "to": "us-west"}]},
        "warmup": {"duration": "30s", "minimumPercent": 10, "aggression": 1.0}
      },
      "connectionPool": {
        "tcp": {"maxConnections": 100, "connectTimeout": "0.030s",
                "tcpKeepalive": {"time": "7200s", "interval": "75s", "probes": 9}, "idleTimeout": "3600s"},
        "http": {"http1MaxPendingRequests": 1, "http2MaxRequests": 1000, "maxRequestsPerConnection": 10,
                 "maxRetries": 3, "idleTimeout": "30s", "h2UpgradePolicy": "UPGRADE",
                 "useClientProtocol": false, "maxConcurrentStreams": 100}
      },
      "outlierDetection": {"consecutive5xxErrors": 7, "consecutiveGatewayErrors": 3, "interval": "300s",
                           "baseEjectionTime": "900s", "maxEjectionPercent": 50, "minHealthPercent": 20,
                           "splitExternalLocalOriginErrors": true, "consecutiveLocalOriginFailures": 4},
      "tls": {"mode": "ISTIO_MUTUAL"},
      "retryBudget": {"percent": 25.5, "minRetryConcurrency": 5},
      "portLevelSettings": [{"port": {"number": 80}, "loadBalancer": {"simple": "LEAST_REQUEST"}}]
    },
    "subsets": [
      {"name": "v1", "labels": {"version": "v1"}},
      {"name": "v2", "labels": {"version": "v2"},
       "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"},
                         "tls": {"mode": "SIMPLE", "sni": "reviews.example.com", "insecureSkipVerify": false}}},
      {"name": "v3", "labels": {"version": "v3"},
       "trafficPolicy": {"loadBalancer": {"consistentHash": {"useSourceIp": true, "maglev": {"tableSize": "65537"}}}}},
      {"name": "v4", "labels": {"version": "v4"},
       "trafficPolicy": {"loadBalancer": {"consistentHash": {"httpQueryParameterName": "user"}}}}
    ]
  })json";
  net::DestinationRule dr;
  auto st = Parse(json, &dr);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const auto& tp = dr.traffic_policy();
  EXPECT_EQ(dr.workload_selector().match_labels().at("app"), "ratings");
  ASSERT_TRUE(tp.load_balancer().has_consistent_hash());
  EXPECT_EQ(tp.load_balancer().consistent_hash().http_cookie().name(), "user");
  EXPECT_TRUE(tp.load_balancer().consistent_hash().http_cookie().has_ttl());
  EXPECT_EQ(tp.load_balancer().consistent_hash().ring_hash().minimum_ring_size(), 2048u);
  EXPECT_EQ(tp.connection_pool().tcp().max_connections(), 100);
  EXPECT_EQ(tp.connection_pool().tcp().connect_timeout().nanos(), 30000000);
  EXPECT_EQ(tp.connection_pool().http().http1_max_pending_requests(), 1);
  EXPECT_EQ(tp.connection_pool().http().h2_upgrade_policy(),
            net::ConnectionPoolSettings::HTTPSettings::UPGRADE);
  EXPECT_EQ(tp.outlier_detection().consecutive_5xx_errors().value(), 7u);
  EXPECT_EQ(tp.outlier_detection().interval().seconds(), 300);
  EXPECT_EQ(tp.outlier_detection().base_ejection_time().seconds(), 900);
  EXPECT_EQ(tp.tls().mode(), net::ClientTLSSettings::ISTIO_MUTUAL);
  EXPECT_DOUBLE_EQ(tp.retry_budget().percent().value(), 25.5);
  EXPECT_EQ(tp.retry_budget().min_retry_concurrency(), 5u);
  EXPECT_EQ(tp.port_level_settings(0).load_balancer().simple(), net::LoadBalancerSettings::LEAST_REQUEST);
  ASSERT_EQ(dr.subsets_size(), 4);
  EXPECT_EQ(dr.subsets(1).traffic_policy().load_balancer().simple(), net::LoadBalancerSettings::ROUND_ROBIN);
  EXPECT_TRUE(dr.subsets(2).traffic_policy().load_balancer().consistent_hash().use_source_ip());
  EXPECT_EQ(dr.subsets(2).traffic_policy().load_balancer().consistent_hash().maglev().table_size(), 65537u);
  EXPECT_EQ(dr.subsets(3).traffic_policy().load_balancer().consistent_hash().http_query_parameter_name(), "user");

  // Unset wrapper fields stay distinguishable from zero (Istio defaults apply).
  net::DestinationRule bare;
  ASSERT_TRUE(Parse(R"json({"host":"a","trafficPolicy":{"outlierDetection":{"consecutive5xxErrors":0}}})json", &bare).ok());
  EXPECT_TRUE(bare.traffic_policy().outlier_detection().has_consecutive_5xx_errors());
  EXPECT_FALSE(bare.traffic_policy().outlier_detection().has_consecutive_gateway_errors());
}

TEST(ApiSchema, ServiceEntryAndWorkloadEntry) {
  net::ServiceEntry se;
  auto st = Parse(R"json({
    "hosts": ["api.example.com"], "addresses": ["240.0.0.1"],
    "ports": [{"number": 443, "name": "https", "protocol": "TLS", "targetPort": 8443}],
    "location": "MESH_EXTERNAL", "resolution": "DNS_ROUND_ROBIN",
    "endpoints": [{"address": "10.0.0.1", "ports": {"https": 9443}, "locality": "us-east1/a", "weight": 2}],
    "exportTo": ["."], "subjectAltNames": ["spiffe://example.com/ns/default/sa/api"]
  })json", &se);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(se.resolution(), net::ServiceEntry::DNS_ROUND_ROBIN);
  EXPECT_EQ(se.location(), net::ServiceEntry::MESH_EXTERNAL);
  EXPECT_EQ(se.ports(0).target_port(), 8443u);
  EXPECT_EQ(se.endpoints(0).ports().at("https"), 9443u);

  net::ServiceEntry internal;
  ASSERT_TRUE(Parse(R"json({"hosts":["vm.internal"],"location":"MESH_INTERNAL","resolution":"STATIC",
                        "workloadSelector":{"labels":{"app":"vm"}}})json", &internal).ok());
  EXPECT_EQ(internal.workload_selector().labels().at("app"), "vm");

  net::WorkloadEntry we;
  st = Parse(R"json({"address": "2.2.2.2", "ports": {"http": 8080}, "labels": {"app": "details", "version": "v1"},
                 "network": "vm-net", "locality": "us-west/zone1/sub", "weight": 3,
                 "serviceAccount": "details-legacy"})json", &we);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(we.service_account(), "details-legacy");
  EXPECT_EQ(we.weight(), 3u);
  EXPECT_EQ(we.labels().at("version"), "v1");
}

TEST(ApiSchema, Sidecar) {
  net::Sidecar sc;
  auto st = Parse(R"json({
    "workloadSelector": {"labels": {"app": "ratings"}},
    "ingress": [{"port": {"number": 9080, "protocol": "HTTP", "name": "http"},
                 "defaultEndpoint": "127.0.0.1:8080", "captureMode": "IPTABLES"}],
    "egress": [{"hosts": ["./*", "istio-system/*"]},
               {"port": {"number": 3306, "protocol": "MYSQL", "name": "mysql"}, "bind": "127.0.0.1",
                "captureMode": "NONE", "hosts": ["*/mysql.foo.svc.cluster.local"]}],
    "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
    "inboundConnectionPool": {"http": {"http1MaxPendingRequests": 1024}}
  })json", &sc);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(sc.egress_size(), 2);
  EXPECT_EQ(sc.egress(0).hosts(1), "istio-system/*");
  EXPECT_EQ(sc.egress(1).capture_mode(), net::NONE);
  EXPECT_EQ(sc.ingress(0).default_endpoint(), "127.0.0.1:8080");
  EXPECT_EQ(sc.outbound_traffic_policy().mode(), net::OutboundTrafficPolicy::REGISTRY_ONLY);
}

TEST(ApiSchema, PeerAuthentication) {
  sec::PeerAuthentication pa;
  auto st = Parse(R"json({
    "selector": {"matchLabels": {"app": "finance"}},
    "mtls": {"mode": "STRICT"},
    "portLevelMtls": {"8080": {"mode": "DISABLE"}, "9090": {"mode": "PERMISSIVE"}}
  })json", &pa);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(pa.mtls().mode(), sec::PeerAuthentication::MutualTLS::STRICT);
  EXPECT_EQ(pa.port_level_mtls().at(8080).mode(), sec::PeerAuthentication::MutualTLS::DISABLE);
  EXPECT_EQ(pa.port_level_mtls().at(9090).mode(), sec::PeerAuthentication::MutualTLS::PERMISSIVE);
  EXPECT_EQ(pa.selector().match_labels().at("app"), "finance");
}

TEST(ApiSchema, AuthorizationPolicy) {
  sec::AuthorizationPolicy ap;
  auto st = Parse(R"json({
    "selector": {"matchLabels": {"app": "httpbin"}},
    "action": "DENY",
    "rules": [{
      "from": [{"source": {"principals": ["cluster.local/ns/default/sa/sleep"],
                           "notPrincipals": ["cluster.local/ns/default/sa/evil"],
                           "requestPrincipals": ["https://issuer.example.com/*"],
                           "namespaces": ["test"], "ipBlocks": ["10.0.0.0/8"],
                           "notRemoteIpBlocks": ["1.2.3.4"]}}],
      "to": [{"operation": {"methods": ["GET"], "paths": ["/info*"], "notPaths": ["/info/secret"],
                            "hosts": ["httpbin.example.com"], "ports": ["8000"]}}],
      "when": [{"key": "request.auth.claims[iss]", "values": ["https://accounts.google.com"],
                "notValues": ["x"]}]
    }]
  })json", &ap);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(ap.action(), sec::AuthorizationPolicy::DENY);
  const auto& rule = ap.rules(0);
  EXPECT_EQ(rule.from(0).source().not_principals(0), "cluster.local/ns/default/sa/evil");
  EXPECT_EQ(rule.from(0).source().request_principals(0), "https://issuer.example.com/*");
  EXPECT_EQ(rule.to(0).operation().not_paths(0), "/info/secret");
  EXPECT_EQ(rule.when(0).key(), "request.auth.claims[iss]");
  EXPECT_EQ(rule.when(0).not_values(0), "x");

  sec::AuthorizationPolicy custom;
  ASSERT_TRUE(Parse(R"json({"action":"CUSTOM","provider":{"name":"ext-authz"},"rules":[{}],
                        "targetRefs":[{"kind":"Gateway","group":"gateway.networking.k8s.io","name":"gw"}]})json",
                    &custom).ok());
  EXPECT_EQ(custom.action(), sec::AuthorizationPolicy::CUSTOM);
  EXPECT_EQ(custom.provider().name(), "ext-authz");
  EXPECT_EQ(custom.rules_size(), 1);
  EXPECT_EQ(custom.target_refs(0).kind(), "Gateway");

  sec::AuthorizationPolicy empty;  // `spec: {}` -> ALLOW with no rules.
  ASSERT_TRUE(Parse("{}", &empty).ok());
  EXPECT_EQ(empty.action(), sec::AuthorizationPolicy::ALLOW);
}

TEST(ApiSchema, RequestAuthentication) {
  sec::RequestAuthentication ra;
  auto st = Parse(R"json({
    "selector": {"matchLabels": {"app": "httpbin"}},
    "jwtRules": [{
      "issuer": "testing@secure.istio.io",
      "audiences": ["httpbin"],
      "jwks": "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"xyz\"}]}",
      "fromHeaders": [{"name": "x-jwt-assertion", "prefix": "Bearer "}],
      "fromParams": ["my_token"],
      "forwardOriginalToken": true,
      "outputPayloadToHeader": "x-jwt-payload",
      "outputClaimToHeaders": [{"header": "x-sub", "claim": "sub"}]
    }, {"issuer": "https://accounts.google.com", "jwksUri": "https://www.googleapis.com/oauth2/v3/certs"}]
  })json", &ra);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(ra.jwt_rules_size(), 2);
  EXPECT_NE(ra.jwt_rules(0).jwks().find("RSA"), std::string::npos);
  EXPECT_EQ(ra.jwt_rules(0).from_headers(0).prefix(), "Bearer ");
  EXPECT_TRUE(ra.jwt_rules(0).forward_original_token());
  EXPECT_EQ(ra.jwt_rules(1).jwks_uri(), "https://www.googleapis.com/oauth2/v3/certs");
}

TEST(ApiSchema, Telemetry) {
  tel::Telemetry t;
  auto st = Parse(R"json({
    "selector": {"matchLabels": {"app": "reviews"}},
    "tracing": [{"providers": [{"name": "zipkin"}], "randomSamplingPercentage": 10.5,
                 "match": {"mode": "SERVER"},
                 "customTags": {"cluster": {"literal": {"value": "east"}},
                                "user": {"header": {"name": "x-user", "defaultValue": "anon"}}}}],
    "accessLogging": [{"providers": [{"name": "envoy"}], "filter": {"expression": "response.code >= 400"}},
                      {"match": {"mode": "CLIENT"}, "disabled": true}],
    "metrics": [{"providers": [{"name": "prometheus"}],
                 "overrides": [{"match": {"metric": "REQUEST_COUNT", "mode": "CLIENT_AND_SERVER"},
                                "tagOverrides": {"request_host": {"operation": "REMOVE"}}},
                               {"match": {"customMetric": "my_metric"}, "disabled": true}]}]
  })json", &t);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_DOUBLE_EQ(t.tracing(0).random_sampling_percentage().value(), 10.5);
  EXPECT_EQ(t.tracing(0).match().mode(), tel::SERVER);
  EXPECT_EQ(t.tracing(0).custom_tags().at("user").header().default_value(), "anon");
  EXPECT_EQ(t.access_logging(0).filter().expression(), "response.code >= 400");
  EXPECT_TRUE(t.access_logging(1).disabled().value());
  EXPECT_EQ(t.metrics(0).overrides(0).match().metric(), tel::MetricSelector::REQUEST_COUNT);
  EXPECT_EQ(t.metrics(0).overrides(0).tag_overrides().at("request_host").operation(),
            tel::MetricsOverrides::TagOverride::REMOVE);
}

TEST(ApiSchema, ObjectMeta) {
  strait::meta::v1::ObjectMeta m;
  auto st = Parse(R"json({"name": "reviews", "namespace": "prod", "labels": {"app": "reviews"},
                      "annotations": {"istio.io/dry-run": "true"}, "resourceVersion": "42",
                      "generation": "3", "creationTimestamp": "2024-01-02T03:04:05Z"})json", &m);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(m.namespace_(), "prod");
  EXPECT_EQ(m.generation(), 3);
  EXPECT_EQ(m.annotations().at("istio.io/dry-run"), "true");
  EXPECT_GT(m.creation_timestamp().seconds(), 0);
}

TEST(ApiSchema, RejectsUnknownFieldsAndBadEnums) {
  net::VirtualService vs;
  EXPECT_FALSE(Parse(R"json({"hosts": ["a"], "htp": []})json", &vs).ok());
  net::DestinationRule dr;
  EXPECT_FALSE(Parse(R"json({"host": "a", "trafficPolicy": {"outlierDetection": {"consecutive5xx": 1}}})json", &dr).ok());
  EXPECT_FALSE(Parse(R"json({"host": "a", "trafficPolicy": {"loadBalancer": {"simple": "FASTEST"}}})json", &dr).ok());
  // A oneof takes one member only.
  EXPECT_FALSE(Parse(R"json({"host": "a", "trafficPolicy": {"loadBalancer":
                         {"simple": "RANDOM", "consistentHash": {"useSourceIp": true}}}})json", &dr).ok());
  sec::PeerAuthentication pa;
  EXPECT_FALSE(Parse(R"json({"mtls": {"mode": "STRICT", "strict": true}})json", &pa).ok());
}

TEST(ApiSchema, GoStyleDurationsNeedNormalising) {
  net::HTTPRetry retry;
  EXPECT_TRUE(Parse(R"json({"perTryTimeout": "0.250s"})json", &retry).ok());
  EXPECT_EQ(retry.per_try_timeout().nanos(), 250000000);
  EXPECT_FALSE(Parse(R"json({"perTryTimeout": "250ms"})json", &retry).ok());
  EXPECT_FALSE(Parse(R"json({"perTryTimeout": "1m"})json", &retry).ok());
}

// The JSON name of a field, found by walking a dotted path of proto field names from `root`.
std::string JsonName(const pb::Descriptor* root, const std::string& path) {
  const pb::Descriptor* d = root;
  const pb::FieldDescriptor* f = nullptr;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (d == nullptr) return "<not a message: " + part + ">";
    f = d->FindFieldByName(part);
    if (f == nullptr) return "<no field " + part + ">";
    if (dot == std::string::npos) break;
    d = f->message_type();
    start = dot + 1;
  }
  return f->json_name();
}

TEST(ApiSchema, JsonNamesMatchIstio) {
  struct Case {
    const pb::Descriptor* root;
    const char* path;
    const char* istio;
  };
  const Case cases[] = {
      {net::OutlierDetection::descriptor(), "consecutive_5xx_errors", "consecutive5xxErrors"},
      {net::OutlierDetection::descriptor(), "base_ejection_time", "baseEjectionTime"},
      {net::ConnectionPoolSettings::HTTPSettings::descriptor(), "http1_max_pending_requests",
       "http1MaxPendingRequests"},
      {net::ConnectionPoolSettings::HTTPSettings::descriptor(), "http2_max_requests", "http2MaxRequests"},
      {net::ConnectionPoolSettings::HTTPSettings::descriptor(), "h2_upgrade_policy", "h2UpgradePolicy"},
      {net::ConnectionPoolSettings::HTTPSettings::descriptor(), "max_requests_per_connection",
       "maxRequestsPerConnection"},
      {net::HTTPRetry::descriptor(), "per_try_timeout", "perTryTimeout"},
      {net::HTTPRoute::descriptor(), "mirror_percentage", "mirrorPercentage"},
      {net::HTTPRoute::descriptor(), "rewrite.uri_regex_rewrite", "uriRegexRewrite"},
      {net::HTTPMatchRequest::descriptor(), "ignore_uri_case", "ignoreUriCase"},
      {net::LoadBalancerSettings::descriptor(), "consistent_hash.use_source_ip", "useSourceIp"},
      {net::LoadBalancerSettings::descriptor(), "consistent_hash.http_query_parameter_name",
       "httpQueryParameterName"},
      {net::LoadBalancerSettings::descriptor(), "consistent_hash.ring_hash.minimum_ring_size", "minimumRingSize"},
      {net::LoadBalancerSettings::descriptor(), "consistent_hash.maglev.table_size", "tableSize"},
      {net::TrafficPolicy::descriptor(), "retry_budget.min_retry_concurrency", "minRetryConcurrency"},
      {sec::PeerAuthentication::descriptor(), "port_level_mtls", "portLevelMtls"},
      {sec::PeerAuthentication::descriptor(), "mtls", "mtls"},
      {sec::Source::descriptor(), "request_principals", "requestPrincipals"},
      {sec::Source::descriptor(), "not_principals", "notPrincipals"},
      {sec::RequestAuthentication::descriptor(), "jwt_rules", "jwtRules"},
      {tel::Tracing::descriptor(), "random_sampling_percentage", "randomSamplingPercentage"},
      {tel::Telemetry::descriptor(), "access_logging", "accessLogging"},
  };
  for (const auto& c : cases) EXPECT_EQ(JsonName(c.root, c.path), c.istio) << c.path;
}

}  // namespace
