#include "proxy/bootstrap.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace strait::proxy {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kFullBootstrap = R"(
workload:
  name: reviews-v1
  namespace: prod
  serviceAccount: reviews
  trustDomain: example.org
  labels:
    app: reviews
    version: v1
listeners:
  outbound: 127.0.0.1:16001
  inbound: 0.0.0.0:16006
  admin: "[::1]:16000"
inbound:
  - name: reviews
    port: 9080
    protocol: http
    targetPort: 19080
  - name: reviews-grpc
    port: 9090
    protocol: grpc
    targetPort: 19090
upstreams:
  - listen: 127.0.0.1:17001
    service: ratings:9080
  - listen: "[::1]:17002"
    service: details.shop.svc.cluster.local:80
services:
  - name: ratings
    namespace: prod
    ports:
      - port: 9080
        protocol: http
      - port: 9443
        protocol: TLS
    endpoints:
      - address: 10.0.0.5:15006
        identity: spiffe://example.org/ns/prod/sa/ratings
        labels: {version: v2}
      - address: "[fd00::7]:8080"
        mtls: false
    subjectAltNames:
      - spiffe://example.org/ns/prod/sa/ratings-canary
  - name: details
    ports:
      - port: 80
tls:
  certificateChain: certs/chain.pem
  privateKey: /etc/strait/key.pem
  trustBundle: bundle.pem
limits:
  maxRequestLine: 4096
  maxHeadSize: 32768
  maxHeaderCount: 50
  headerReadTimeout: 5s
  idleTimeout: 1m
  connectTimeout: 250ms
  streamIdleTimeout: 1m30s
  drainTimeout: 2.5s
  tunnelIdleTimeout: 1h
  maxIdleUpstreamPerEndpoint: 8
concurrency: 4
)";

// The error of a bootstrap that must not parse ("(parsed)" if it did).
std::string parse_error(std::string_view yaml) {
  auto config = parse_bootstrap(yaml, "/base");
  return config ? "(parsed)" : config.error();
}

// The error of a bootstrap that parses but must not finalize.
std::string finalize_error(std::string_view yaml) {
  auto config = parse_bootstrap(yaml, "/base");
  if (!config) return "(parse failed: " + config.error() + ")";
  auto finalized = finalize_config(*config);
  return finalized ? "(finalized)" : finalized.error();
}

// A minimal file that finalizes, with `extra` appended at the top level.
std::string minimal_with(std::string_view extra) {
  return std::string(R"(
workload: {name: web}
tls: {certificateChain: c.pem, privateKey: k.pem, trustBundle: b.pem}
)") + std::string(extra);
}

TEST(BootstrapTest, ParsesEveryField) {
  auto parsed = parse_bootstrap(kFullBootstrap, "/etc/strait");
  ASSERT_TRUE(parsed) << parsed.error();
  ProxyConfig& c = *parsed;

  EXPECT_EQ(c.workload.name, "reviews-v1");
  EXPECT_EQ(c.workload.ns, "prod");
  EXPECT_EQ(c.workload.service_account, "reviews");
  EXPECT_EQ(c.workload.trust_domain, "example.org");
  EXPECT_EQ(c.workload.labels,
            (std::map<std::string, std::string>{{"app", "reviews"}, {"version", "v1"}}));
  EXPECT_EQ(c.workload.spiffe_id(), "spiffe://example.org/ns/prod/sa/reviews");

  EXPECT_EQ(c.outbound_addr.to_string(), "127.0.0.1:16001");
  EXPECT_EQ(c.inbound_addr.to_string(), "0.0.0.0:16006");
  EXPECT_EQ(c.admin_addr.host, "::1");
  EXPECT_EQ(c.admin_addr.port, 16000);
  EXPECT_EQ(c.admin_addr.to_string(), "[::1]:16000");

  ASSERT_EQ(c.inbound_services.size(), 2U);
  EXPECT_EQ(c.inbound_services[0].name, "reviews");
  EXPECT_EQ(c.inbound_services[0].port, 9080);
  EXPECT_EQ(c.inbound_services[0].protocol, Protocol::kHttp);
  EXPECT_EQ(c.inbound_services[0].target_port, 19080);
  EXPECT_EQ(c.inbound_services[1].protocol, Protocol::kGrpc);
  EXPECT_EQ(c.inbound_services[1].target_port, 19090);

  ASSERT_EQ(c.upstreams.size(), 2U);
  EXPECT_EQ(c.upstreams[0].listen.to_string(), "127.0.0.1:17001");
  EXPECT_EQ(c.upstreams[0].service, "ratings");
  EXPECT_EQ(c.upstreams[0].port, 9080);
  EXPECT_EQ(c.upstreams[1].listen.to_string(), "[::1]:17002");
  EXPECT_EQ(c.upstreams[1].service, "details.shop.svc.cluster.local");
  EXPECT_EQ(c.upstreams[1].port, 80);

  ASSERT_EQ(c.services.size(), 2U);
  const Service& ratings = c.services[0];
  EXPECT_EQ(ratings.name, "ratings");
  EXPECT_EQ(ratings.ns, "prod");
  ASSERT_EQ(ratings.ports.size(), 2U);
  EXPECT_EQ(ratings.ports[0].port, 9080);
  EXPECT_EQ(ratings.ports[0].protocol, Protocol::kHttp);
  EXPECT_EQ(ratings.ports[1].port, 9443);
  EXPECT_EQ(ratings.ports[1].protocol, Protocol::kTls);
  ASSERT_EQ(ratings.endpoints.size(), 2U);
  EXPECT_EQ(ratings.endpoints[0].address.to_string(), "10.0.0.5:15006");
  EXPECT_TRUE(ratings.endpoints[0].mtls);
  EXPECT_EQ(ratings.endpoints[0].identity, "spiffe://example.org/ns/prod/sa/ratings");
  EXPECT_EQ(ratings.endpoints[0].labels, (std::map<std::string, std::string>{{"version", "v2"}}));
  EXPECT_EQ(ratings.endpoints[1].address.host, "fd00::7");
  EXPECT_EQ(ratings.endpoints[1].address.port, 8080);
  EXPECT_FALSE(ratings.endpoints[1].mtls);
  EXPECT_EQ(ratings.endpoints[1].identity, "");
  EXPECT_EQ(ratings.allowed_identities,
            std::vector<std::string>{"spiffe://example.org/ns/prod/sa/ratings-canary"});
  const Service& details = c.services[1];
  EXPECT_EQ(details.ns, "");                              // filled in by finalize_config
  EXPECT_EQ(details.ports[0].protocol, Protocol::kHttp);  // the default

  EXPECT_EQ(c.tls.certificate_chain, "/etc/strait/certs/chain.pem");
  EXPECT_EQ(c.tls.private_key, "/etc/strait/key.pem");
  EXPECT_EQ(c.tls.trust_bundle, "/etc/strait/bundle.pem");

  EXPECT_EQ(c.limits.max_request_line, 4096U);
  EXPECT_EQ(c.limits.max_head_size, 32768U);
  EXPECT_EQ(c.limits.max_header_count, 50U);
  EXPECT_EQ(c.limits.header_read_timeout, milliseconds(5000));
  EXPECT_EQ(c.limits.idle_timeout, milliseconds(60'000));
  EXPECT_EQ(c.limits.connect_timeout, milliseconds(250));
  EXPECT_EQ(c.limits.stream_idle_timeout, milliseconds(90'000));
  EXPECT_EQ(c.limits.drain_timeout, milliseconds(2500));
  EXPECT_EQ(c.limits.tunnel_idle_timeout, milliseconds(3'600'000));
  EXPECT_EQ(c.limits.max_idle_upstream_per_endpoint, 8U);
  EXPECT_EQ(c.concurrency, 4);

  ASSERT_TRUE(finalize_config(c));
  EXPECT_EQ(c.services[0].fqdn, "ratings.prod.svc.cluster.local");
  EXPECT_EQ(c.services[1].ns, "prod");  // the workload's namespace
  EXPECT_EQ(c.services[1].fqdn, "details.prod.svc.cluster.local");
  // Allowed identities: the listed ones plus every endpoint's, sorted and without duplicates.
  EXPECT_EQ(c.services[0].allowed_identities,
            (std::vector<std::string>{"spiffe://example.org/ns/prod/sa/ratings",
                                      "spiffe://example.org/ns/prod/sa/ratings-canary"}));
  EXPECT_TRUE(c.services[1].allowed_identities.empty());
}

TEST(BootstrapTest, DefaultsWhenSectionsAreMissing) {
  auto parsed = parse_bootstrap(minimal_with(""), "/base");
  ASSERT_TRUE(parsed) << parsed.error();
  const ProxyConfig defaults;
  EXPECT_EQ(parsed->workload.ns, "default");
  EXPECT_EQ(parsed->workload.service_account, "default");
  EXPECT_EQ(parsed->workload.trust_domain, "cluster.local");
  EXPECT_EQ(parsed->outbound_addr.to_string(), "127.0.0.1:15001");
  EXPECT_EQ(parsed->inbound_addr.to_string(), "127.0.0.1:15006");
  EXPECT_EQ(parsed->admin_addr.to_string(), "127.0.0.1:15000");
  EXPECT_EQ(parsed->limits.idle_timeout, defaults.limits.idle_timeout);
  EXPECT_EQ(parsed->limits.max_head_size, defaults.limits.max_head_size);
  EXPECT_EQ(parsed->concurrency, 0);
  EXPECT_TRUE(finalize_config(*parsed));
}

TEST(BootstrapTest, TlsPathsResolveAgainstTheBaseDirectory) {
  constexpr std::string_view yaml =
      "tls: {certificateChain: a/chain.pem, privateKey: ../key.pem, trustBundle: /abs/b.pem}";
  auto parsed = parse_bootstrap(yaml, "/etc/strait");
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->tls.certificate_chain, "/etc/strait/a/chain.pem");
  EXPECT_EQ(parsed->tls.private_key, "/etc/strait/../key.pem");
  EXPECT_EQ(parsed->tls.trust_bundle, "/abs/b.pem");
  // Without a base directory (a file in the current directory), paths stay relative.
  auto here = parse_bootstrap(yaml, "");
  ASSERT_TRUE(here) << here.error();
  EXPECT_EQ(here->tls.certificate_chain, "a/chain.pem");
  EXPECT_EQ(here->tls.trust_bundle, "/abs/b.pem");
}

TEST(BootstrapTest, TracingSamplingAndReceivers) {
  auto none = parse_bootstrap(minimal_with(""), "/base");
  ASSERT_TRUE(none) << none.error();
  EXPECT_DOUBLE_EQ(none->tracing.sampling_percent, 1.0);
  EXPECT_TRUE(none->tracing.targets.empty());
  auto both = parse_bootstrap(
      minimal_with(
          "tracing: {samplingPercentage: 100, reportSpans: false, otlp: "
          "http://127.0.0.1:4318/v1/traces, zipkin: http://127.0.0.1:9411/api/v2/spans}\n"),
      "/base");
  ASSERT_TRUE(both) << both.error();
  EXPECT_DOUBLE_EQ(both->tracing.sampling_percent, 100);
  EXPECT_FALSE(both->tracing.report_spans);
  ASSERT_EQ(both->tracing.targets.size(), 2u);
  EXPECT_FALSE(both->tracing.targets[0].zipkin);
  EXPECT_EQ(both->tracing.targets[0].url, "http://127.0.0.1:4318/v1/traces");
  EXPECT_TRUE(both->tracing.targets[1].zipkin);
  EXPECT_EQ(parse_error(minimal_with("tracing: {samplingPercentage: 101}\n")),
            "tracing.samplingPercentage: must be a number from 0 to 100");
  EXPECT_EQ(parse_error(minimal_with("tracing: {otlp: https://collector:4318/v1/traces}\n")),
            "tracing.otlp: must be an http:// URL");
}

TEST(BootstrapTest, AccessLogOffUnlessTheFileTurnsItOn) {
  auto none = parse_bootstrap(minimal_with(""), "/base");
  ASSERT_TRUE(none) << none.error();
  EXPECT_FALSE(none->access_log.enabled);
  EXPECT_TRUE(none->access_log.path.empty());
  auto on =
      parse_bootstrap(minimal_with("accessLog: {enabled: true, path: /var/log/a.log}\n"), "/base");
  ASSERT_TRUE(on) << on.error();
  EXPECT_TRUE(on->access_log.enabled);
  EXPECT_EQ(on->access_log.path, "/var/log/a.log");
  EXPECT_EQ(parse_error(minimal_with("accessLog: {enabled: maybe}\n")).substr(0, 17),
            "accessLog.enabled");
  EXPECT_NE(parse_error(minimal_with("accessLog: {format: text}\n")).find("accessLog"),
            std::string::npos);
}

TEST(BootstrapTest, PeerAuthenticationIsStrictUnlessTheFileSaysOtherwise) {
  auto strict = parse_bootstrap(R"(
tls: {certificateChain: c.pem, privateKey: k.pem, trustBundle: b.pem}
)",
                                "");
  ASSERT_TRUE(strict) << strict.error();
  EXPECT_EQ(strict->inbound_mtls.workload.mode, MtlsMode::kStrict);
  auto mixed = parse_bootstrap(R"(
peerAuthentication:
  mode: PERMISSIVE
  portLevelMtls: {19080: STRICT, 19090: DISABLE}
)",
                               "");
  ASSERT_TRUE(mixed) << mixed.error();
  EXPECT_EQ(mixed->inbound_mtls.workload.mode, MtlsMode::kPermissive);
  EXPECT_EQ(mixed->inbound_mtls.for_port(19080).mode, MtlsMode::kStrict);
  EXPECT_EQ(mixed->inbound_mtls.for_port(19090).mode, MtlsMode::kDisable);
  EXPECT_EQ(mixed->inbound_mtls.for_port(19091).mode, MtlsMode::kPermissive);
  auto bad_mode = parse_bootstrap("peerAuthentication: {mode: strict}\n", "");
  ASSERT_FALSE(bad_mode);
  EXPECT_EQ(bad_mode.error(), "peerAuthentication.mode: must be STRICT, PERMISSIVE or DISABLE");
  auto bad_port = parse_bootstrap("peerAuthentication: {portLevelMtls: {0: STRICT}}\n", "");
  ASSERT_FALSE(bad_port);
  EXPECT_EQ(bad_port.error(), "peerAuthentication.portLevelMtls.0: port must be from 1 to 65535");
  auto unknown = parse_bootstrap("peerAuthentication: {mtls: {mode: STRICT}}\n", "");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("peerAuthentication.mtls"), std::string::npos) << unknown.error();
}

TEST(BootstrapTest, UnknownFieldsAreNamed) {
  EXPECT_EQ(parse_error("workloads: {name: web}"), "workloads: unknown field");
  EXPECT_EQ(parse_error("workload: {name: web, nmae: x}"), "workload.nmae: unknown field");
  EXPECT_EQ(parse_error("listeners: {outbund: 127.0.0.1:1}"), "listeners.outbund: unknown field");
  EXPECT_EQ(parse_error("inbound: [{name: a, port: 1, targetport: 2}]"),
            "inbound[0].targetport: unknown field");
  EXPECT_EQ(parse_error("upstreams: [{listen: 127.0.0.1:1, service: a:1, proto: http}]"),
            "upstreams[0].proto: unknown field");
  EXPECT_EQ(parse_error(R"(
services:
  - name: a
    ports: [{port: 80}]
  - name: b
    ports: [{port: 80, protocl: http}]
)"),
            "services[1].ports[0].protocl: unknown field");
  EXPECT_EQ(parse_error(R"(
services:
  - name: a
    ports: [{port: 80}]
    endpoints: [{adress: 10.0.0.1:80}]
)"),
            "services[0].endpoints[0].adress: unknown field");
  EXPECT_EQ(parse_error("tls: {certificateChain: a, privateKey: b, trustBundle: c, ca: d}"),
            "tls.ca: unknown field");
  EXPECT_EQ(parse_error("limits: {idleTimeOut: 5s}"), "limits.idleTimeOut: unknown field");
}

TEST(BootstrapTest, WrongTypesAreNamed) {
  EXPECT_EQ(parse_error("- a\n- b\n"), "(top): must be a map");
  EXPECT_EQ(parse_error(""), "(top): must be a map");
  EXPECT_EQ(parse_error("just text"), "(top): must be a map");
  EXPECT_EQ(parse_error("workload: [web]"), "workload: must be a map");
  EXPECT_EQ(parse_error("workload: {name: [web]}"), "workload.name: must be a string");
  EXPECT_EQ(parse_error("workload: {name: {a: b}}"), "workload.name: must be a string");
  EXPECT_EQ(parse_error("workload: {name: }"), "workload.name: must be a string");
  EXPECT_EQ(parse_error("workload: {labels: [a, b]}"), "workload.labels: must be a map of strings");
  EXPECT_EQ(parse_error("workload: {labels: {a: [b]}}"), "workload.labels.a: must be a string");
  EXPECT_EQ(parse_error("inbound: {name: a}"), "inbound: must be a list");
  EXPECT_EQ(parse_error("upstreams: 127.0.0.1:1=a:1"), "upstreams: must be a list");
  EXPECT_EQ(parse_error("services: {}"), "services: must be a list");
  EXPECT_EQ(parse_error("inbound: [{name: a, port: [80]}]"), "inbound[0].port: must be a number");
  EXPECT_EQ(parse_error("inbound: [{name: a, port: eighty}]"),
            "inbound[0].port: must be a whole number from 0 to 65535, got 'eighty'");
  EXPECT_EQ(parse_error("inbound: [{name: a, port: -1}]"),
            "inbound[0].port: must be a whole number from 0 to 65535, got '-1'");
  EXPECT_EQ(parse_error("inbound: [{name: a, port: 80.5}]"),
            "inbound[0].port: must be a whole number from 0 to 65535, got '80.5'");
  EXPECT_EQ(parse_error("concurrency: many"),
            "concurrency: must be a whole number from 0 to 256, got 'many'");
  EXPECT_EQ(parse_error("concurrency: 257"),
            "concurrency: must be a whole number from 0 to 256, got '257'");
  EXPECT_EQ(parse_error("limits: {maxHeaderCount: 0}"), "limits.maxHeaderCount: must be positive");
  EXPECT_EQ(parse_error("limits: {maxHeadSize: 2000000}"),
            "limits.maxHeadSize: must be a whole number from 0 to 1048576, got '2000000'");
  EXPECT_EQ(parse_error("limits: {idleTimeout: [5s]}"), "limits.idleTimeout: must be a string");
  EXPECT_EQ(parse_error(R"(
services:
  - name: a
    ports: [{port: 80}]
    endpoints: [{address: 10.0.0.1:80, mtls: yes}]
)"),
            "services[0].endpoints[0].mtls: must be true or false");
  EXPECT_EQ(parse_error("services: [{name: a, ports: [{port: 80}], endpoints: {}}]"),
            "services[0].endpoints: must be a list");
  EXPECT_EQ(parse_error("services: [{name: a, ports: [{port: 80}], subjectAltNames: x}]"),
            "services[0].subjectAltNames: must be a list");
  EXPECT_EQ(parse_error("services: [{name: a, ports: [{port: 80}], subjectAltNames: [[x]]}]"),
            "services[0].subjectAltNames[0]: must be a string");
}

TEST(BootstrapTest, RequiredFieldsAreNamed) {
  EXPECT_EQ(parse_error("inbound: [{port: 80}]"), "inbound[0].name: is required");
  EXPECT_EQ(parse_error("inbound: [{name: a}]"), "inbound[0].port: is required");
  EXPECT_EQ(parse_error("upstreams: [{listen: 127.0.0.1:1}]"),
            "upstreams[0]: needs listen and service");
  EXPECT_EQ(parse_error("services: [{ports: [{port: 80}]}]"), "services[0].name: is required");
  EXPECT_EQ(parse_error("services: [{name: a}]"),
            "services[0].ports: is required: a list of {port, protocol}");
  EXPECT_EQ(parse_error("services: [{name: a, ports: []}]"),
            "services[0].ports: is required: a list of {port, protocol}");
  EXPECT_EQ(parse_error("services: [{name: a, ports: [{protocol: http}]}]"),
            "services[0].ports[0].port: is required");
  EXPECT_EQ(parse_error("services: [{name: a, ports: [{port: 80}], endpoints: [{mtls: false}]}]"),
            "services[0].endpoints[0].address: is required");
  EXPECT_EQ(parse_error("tls: {certificateChain: a, privateKey: b}"),
            "tls.trustBundle: is required");
}

TEST(BootstrapTest, PortsOutOfRangeAreNamed) {
  EXPECT_EQ(parse_error("inbound: [{name: a, port: 0}]"),
            "inbound[0].port: port must be from 1 to 65535");
  EXPECT_EQ(parse_error("inbound: [{name: a, port: 70000}]"),
            "inbound[0].port: must be a whole number from 0 to 65535, got '70000'");
  EXPECT_EQ(parse_error("inbound: [{name: a, port: 80, targetPort: 0}]"),
            "inbound[0].targetPort: port must be from 1 to 65535");
  EXPECT_EQ(parse_error("services: [{name: a, ports: [{port: 65536}]}]"),
            "services[0].ports[0].port: must be a whole number from 0 to 65535, got '65536'");
  EXPECT_EQ(parse_error("listeners: {outbound: 127.0.0.1:70000}"),
            "listeners.outbound: '127.0.0.1:70000' is not HOST:PORT with a port from 0 to 65535");
  EXPECT_EQ(parse_error("services: [{name: a, ports: [{port: 80}], endpoints: "
                        "[{address: 127.0.0.1:0, mtls: false}]}]"),
            "services[0].endpoints[0].address: port must be from 1 to 65535");
  EXPECT_EQ(parse_error("upstreams: [{listen: 127.0.0.1:1, service: a:0}]"),
            "upstreams[0]: --upstream '127.0.0.1:1=a:0': target is not SERVICE:PORT");
  // Listeners may ask for an ephemeral port.
  auto parsed = parse_bootstrap("listeners: {admin: 127.0.0.1:0}", "");
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->admin_addr.port, 0);
}

TEST(BootstrapTest, BadDurationsAreNamed) {
  EXPECT_EQ(parse_error("limits: {idleTimeout: 5x}"),
            "limits.idleTimeout: unknown unit 'x' in '5x'");
  EXPECT_EQ(parse_error("limits: {connectTimeout: 5}"),
            "limits.connectTimeout: missing unit in '5' (use ms, s, m or h)");
  EXPECT_EQ(parse_error("limits: {drainTimeout: 0s}"), "limits.drainTimeout: must be at least 1ms");
  EXPECT_EQ(parse_error("limits: {headerReadTimeout: 250us}"),
            "limits.headerReadTimeout: must be at least 1ms");
  EXPECT_EQ(parse_error("limits: {tunnelIdleTimeout: \"\"}"),
            "limits.tunnelIdleTimeout: empty duration");
}

TEST(BootstrapTest, EndpointIdentities) {
  EXPECT_EQ(parse_error(
                "services: [{name: a, ports: [{port: 80}], endpoints: [{address: 10.0.0.1:80}]}]"),
            "services[0].endpoints[0].identity: is required for an mTLS endpoint");
  EXPECT_EQ(parse_error(R"(
services:
  - name: a
    ports: [{port: 80}]
    endpoints: [{address: 10.0.0.1:80, mtls: true, identity: "spiffe://td/workload/a"}]
)"),
            "services[0].endpoints[0].identity: is not a spiffe://<td>/ns/<ns>/sa/<sa> ID");
  EXPECT_EQ(parse_error(R"(
services:
  - name: a
    ports: [{port: 80}]
    endpoints: [{address: 10.0.0.1:80, identity: "https://td/ns/a/sa/b"}]
)"),
            "services[0].endpoints[0].identity: is not a spiffe://<td>/ns/<ns>/sa/<sa> ID");
  // Even a plaintext endpoint's identity, when given, must be a SPIFFE ID.
  EXPECT_EQ(parse_error(R"(
services:
  - name: a
    ports: [{port: 80}]
    endpoints: [{address: 10.0.0.1:80, mtls: false, identity: nope}]
)"),
            "services[0].endpoints[0].identity: is not a spiffe://<td>/ns/<ns>/sa/<sa> ID");
}

TEST(BootstrapTest, BadAddressesAreNamed) {
  EXPECT_EQ(parse_error("listeners: {inbound: localhost}"),
            "listeners.inbound: 'localhost' is not HOST:PORT");
  EXPECT_EQ(parse_error(R"(listeners: {admin: "[::1]"})"),
            "listeners.admin: '[::1]' is not [IPv6]:PORT");
  EXPECT_EQ(parse_error("services: [{name: a, ports: [{port: 80}], endpoints: [{address: 10.0.0.1, "
                        "mtls: false}]}]"),
            "services[0].endpoints[0].address: '10.0.0.1' is not HOST:PORT");
}

TEST(BootstrapTest, InvalidYamlSaysWhere) {
  const std::string error = parse_error("workload:\n  name: [unclosed\n");
  EXPECT_TRUE(error.starts_with("invalid YAML at line ")) << error;
  EXPECT_TRUE(parse_error("a: b: c").starts_with("invalid YAML")) << parse_error("a: b: c");
}

TEST(BootstrapTest, FinalizeRequiresAWorkloadName) {
  EXPECT_EQ(finalize_error("tls: {certificateChain: c, privateKey: k, trustBundle: b}"),
            "workload name is required (--workload)");
}

TEST(BootstrapTest, FinalizeRequiresAValidWorkloadIdentity) {
  EXPECT_EQ(finalize_error("workload: {name: web, namespace: \"a/b\"}\n"
                           "tls: {certificateChain: c, privateKey: k, trustBundle: b}"),
            "namespace, service account and trust domain do not form a valid SPIFFE ID: "
            "spiffe://cluster.local/ns/a/b/sa/default");
}

TEST(BootstrapTest, FinalizeRequiresTlsFiles) {
  EXPECT_EQ(finalize_error("workload: {name: web}"),
            "TLS files are required (tls.certificateChain, privateKey, trustBundle)");
}

TEST(BootstrapTest, FinalizeRefusesDuplicateServices) {
  EXPECT_EQ(finalize_error(minimal_with(R"(
services:
  - {name: a, ports: [{port: 80}]}
  - {name: a, ports: [{port: 81}]}
)")),
            "service a.default.svc.cluster.local is listed twice");
  // The same service once in the workload's namespace implicitly and once explicitly.
  EXPECT_EQ(finalize_error(minimal_with(R"(
services:
  - {name: a, ports: [{port: 80}]}
  - {name: a, namespace: default, ports: [{port: 81}]}
)")),
            "service a.default.svc.cluster.local is listed twice");
  // Same name in two namespaces is two services.
  EXPECT_EQ(finalize_error(minimal_with(R"(
services:
  - {name: a, ports: [{port: 80}]}
  - {name: a, namespace: other, ports: [{port: 81}]}
)")),
            "(finalized)");
}

TEST(BootstrapTest, FinalizeRequiresInboundTargetPorts) {
  EXPECT_EQ(finalize_error(minimal_with("inbound: [{name: web, port: 8080}]\n")),
            "inbound service web:8080 has no application port (--app-port or targetPort)");
  EXPECT_EQ(
      finalize_error(minimal_with(
          "inbound: [{name: a, port: 80, targetPort: 1}, {name: b, port: 80, targetPort: 2}]\n")),
      "two inbound services use port 80");
}

TEST(BootstrapTest, FinalizeChecksConcurrency) {
  auto parsed = parse_bootstrap(minimal_with(""), "");
  ASSERT_TRUE(parsed);
  parsed->concurrency = -1;
  EXPECT_FALSE(finalize_config(*parsed));
  parsed->concurrency = 300;
  EXPECT_FALSE(finalize_config(*parsed));
  parsed->concurrency = 256;
  EXPECT_TRUE(finalize_config(*parsed));
}

TEST(BootstrapTest, LoadBootstrapFileNamesTheFile) {
  auto missing = load_bootstrap_file("/nonexistent/strait/bootstrap.yaml");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), "/nonexistent/strait/bootstrap.yaml: cannot read the file");
}

TEST(ParseHostPortTest, Ipv4AndNames) {
  auto hp = parse_host_port("127.0.0.1:8080");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 8080);
  hp = parse_host_port("reviews.prod:9080");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "reviews.prod");
  EXPECT_EQ(hp->port, 9080);
  hp = parse_host_port("0.0.0.0:0");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->port, 0);
  hp = parse_host_port("h:65535");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->port, 65535);
}

TEST(ParseHostPortTest, Ipv6NeedsBrackets) {
  auto hp = parse_host_port("[::1]:80");
  ASSERT_TRUE(hp) << hp.error();
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, 80);
  EXPECT_EQ(hp->to_string(), "[::1]:80");
  hp = parse_host_port("[fe80::1:2]:443");
  ASSERT_TRUE(hp) << hp.error();
  EXPECT_EQ(hp->host, "fe80::1:2");
  EXPECT_EQ(hp->to_string(), "[fe80::1:2]:443");
  // Without brackets an IPv6 literal is ambiguous ("::1:80" is itself an address): refused.
  EXPECT_FALSE(parse_host_port("::1:80"));
  EXPECT_FALSE(parse_host_port("fe80::1"));
  EXPECT_FALSE(parse_host_port("[::1]"));
  EXPECT_FALSE(parse_host_port("[::1]80"));
  EXPECT_FALSE(parse_host_port("[::1]:"));
  EXPECT_FALSE(parse_host_port("[]:80"));
  EXPECT_FALSE(parse_host_port("[::1:80"));
}

TEST(ParseHostPortTest, Refusals) {
  for (const std::string_view text : {"", "host", ":80", "host:", "host:70000", "host:-1",
                                      "host:80x", "host: 80", "host:0x50", "host:99999999999"}) {
    EXPECT_FALSE(parse_host_port(text)) << text;
  }
}

TEST(ParseProtocolTest, IstioNamesAnyCase) {
  EXPECT_EQ(parse_protocol("http"), Protocol::kHttp);
  EXPECT_EQ(parse_protocol("HTTP"), Protocol::kHttp);
  EXPECT_EQ(parse_protocol("http1"), Protocol::kHttp);
  EXPECT_EQ(parse_protocol("HTTP/1.1"), Protocol::kHttp);
  EXPECT_EQ(parse_protocol("http2"), Protocol::kHttp2);
  EXPECT_EQ(parse_protocol("h2c"), Protocol::kHttp2);
  EXPECT_EQ(parse_protocol("gRPC"), Protocol::kGrpc);
  EXPECT_EQ(parse_protocol("tcp"), Protocol::kTcp);
  EXPECT_EQ(parse_protocol("TLS"), Protocol::kTls);
  const auto bad = parse_protocol("udp");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "unknown protocol 'udp' (use http, http2, grpc, tcp or tls)");
  EXPECT_FALSE(parse_protocol(""));
  EXPECT_FALSE(parse_protocol("http "));
  for (const Protocol p :
       {Protocol::kHttp, Protocol::kHttp2, Protocol::kGrpc, Protocol::kTcp, Protocol::kTls}) {
    EXPECT_EQ(parse_protocol(name_of(p)), p);
  }
}

TEST(ParseServiceFlagTest, NamePortAndProtocol) {
  auto s = parse_service_flag("reviews:9080");
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->name, "reviews");
  EXPECT_EQ(s->port, 9080);
  EXPECT_EQ(s->protocol, Protocol::kHttp);
  EXPECT_EQ(s->target_port, 0);
  s = parse_service_flag("reviews:9090:grpc");
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->port, 9090);
  EXPECT_EQ(s->protocol, Protocol::kGrpc);
  s = parse_service_flag("reviews:9090:grpc:19091");  // its own application port
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->port, 9090);
  EXPECT_EQ(s->protocol, Protocol::kGrpc);
  EXPECT_EQ(s->target_port, 19091);
}

TEST(ParseServiceFlagTest, Refusals) {
  EXPECT_EQ(parse_service_flag("reviews:9090:grpc:0").error(),
            "--service 'reviews:9090:grpc:0': the application's port must be from 1 to 65535");
  EXPECT_FALSE(parse_service_flag("reviews:9090:grpc:"));
  EXPECT_FALSE(parse_service_flag("reviews:9090:grpc:1x"));
  EXPECT_FALSE(parse_service_flag("reviews:9090::19091"));
  EXPECT_EQ(parse_service_flag("reviews").error(),
            "--service 'reviews' is not NAME:PORT[:PROTOCOL[:APP_PORT]]");
  EXPECT_EQ(parse_service_flag(":9080").error(),
            "--service ':9080' is not NAME:PORT[:PROTOCOL[:APP_PORT]]");
  EXPECT_EQ(parse_service_flag("reviews:0").error(),
            "--service 'reviews:0': port must be from 1 to 65535");
  EXPECT_FALSE(parse_service_flag("reviews:70000"));
  EXPECT_FALSE(parse_service_flag("reviews:"));
  EXPECT_FALSE(parse_service_flag("reviews:80x"));
  EXPECT_FALSE(parse_service_flag("reviews::http"));
  const auto bad_protocol = parse_service_flag("reviews:9080:udp");
  ASSERT_FALSE(bad_protocol);
  EXPECT_EQ(
      bad_protocol.error(),
      "--service 'reviews:9080:udp': unknown protocol 'udp' (use http, http2, grpc, tcp or tls)");
}

TEST(ParseUpstreamFlagTest, LocalAddressAndService) {
  auto u = parse_upstream_flag("127.0.0.1:17001=ratings:9080");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->listen.to_string(), "127.0.0.1:17001");
  EXPECT_EQ(u->service, "ratings");
  EXPECT_EQ(u->port, 9080);
  u = parse_upstream_flag("[::1]:0=ratings.prod.svc.cluster.local:80");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->listen.host, "::1");
  EXPECT_EQ(u->listen.port, 0);
  EXPECT_EQ(u->service, "ratings.prod.svc.cluster.local");
  EXPECT_EQ(u->port, 80);
}

TEST(ParseUpstreamFlagTest, Refusals) {
  EXPECT_EQ(parse_upstream_flag("127.0.0.1:17001").error(),
            "--upstream '127.0.0.1:17001' is not LOCAL_ADDR=SERVICE:PORT");
  EXPECT_EQ(parse_upstream_flag("17001=ratings:9080").error(),
            "--upstream local address: '17001' is not HOST:PORT");
  EXPECT_EQ(parse_upstream_flag("127.0.0.1:17001=ratings").error(),
            "--upstream '127.0.0.1:17001=ratings': target is not SERVICE:PORT");
  EXPECT_FALSE(parse_upstream_flag("127.0.0.1:17001=ratings:0"));
  EXPECT_FALSE(parse_upstream_flag("127.0.0.1:17001="));
  EXPECT_FALSE(parse_upstream_flag("=ratings:80"));
}

TEST(ParseLabelsTest, Pairs) {
  auto labels = parse_labels("app=reviews,version=v1");
  ASSERT_TRUE(labels) << labels.error();
  EXPECT_EQ(*labels, (std::map<std::string, std::string>{{"app", "reviews"}, {"version", "v1"}}));
  labels = parse_labels("");
  ASSERT_TRUE(labels);
  EXPECT_TRUE(labels->empty());
  labels = parse_labels("empty=");
  ASSERT_TRUE(labels);
  EXPECT_EQ(labels->at("empty"), "");
  labels = parse_labels("expr=a=b");  // the first '=' splits
  ASSERT_TRUE(labels);
  EXPECT_EQ(labels->at("expr"), "a=b");
}

TEST(ParseLabelsTest, Refusals) {
  EXPECT_EQ(parse_labels("app").error(), "label 'app' is not KEY=VALUE");
  EXPECT_EQ(parse_labels("=v").error(), "label '=v' is not KEY=VALUE");
  EXPECT_EQ(parse_labels("a=b,,c=d").error(), "label '' is not KEY=VALUE");
  EXPECT_FALSE(parse_labels("a=b,c"));
}

}  // namespace
}  // namespace strait::proxy
