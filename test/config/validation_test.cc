// Istio's semantic rules (config/validation.h): one resource at a time, then between resources.
#include "config/validation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace strait::config {
namespace {

Resource parse_one(const std::string& yaml) {
  auto parsed = parse_resources(yaml, "test.yaml");
  EXPECT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed ? parsed->size() : 0u, 1u);
  return parsed && !parsed->empty() ? parsed->front() : Resource{};
}

std::vector<Resource> parse_all(const std::string& yaml) {
  auto parsed = parse_resources(yaml, "test.yaml");
  EXPECT_TRUE(parsed) << parsed.error();
  return parsed ? *parsed : std::vector<Resource>{};
}

std::string doc(std::string_view api, std::string_view kind, std::string_view spec, std::string_view name = "r",
                std::string_view ns = "") {
  std::string out = "apiVersion: " + std::string(api) + "\nkind: " + std::string(kind) + "\nmetadata: {name: " +
                    std::string(name) + (ns.empty() ? "" : ", namespace: " + std::string(ns)) + "}\nspec:\n";
  out += spec;
  return out;
}

// All errors of one resource as "path: reason" lines.
std::vector<std::string> errors_of(std::string_view api, std::string_view kind, std::string_view spec) {
  std::vector<std::string> out;
  for (const auto& e : validate(parse_one(doc(api, kind, spec)))) out.push_back(e.to_string());
  return out;
}

std::vector<std::string> vs(std::string_view spec) { return errors_of("networking.istio.io/v1", "VirtualService", spec); }
std::vector<std::string> dr(std::string_view spec) { return errors_of("networking.istio.io/v1", "DestinationRule", spec); }
std::vector<std::string> se(std::string_view spec) { return errors_of("networking.istio.io/v1", "ServiceEntry", spec); }
std::vector<std::string> we(std::string_view spec) { return errors_of("networking.istio.io/v1", "WorkloadEntry", spec); }
std::vector<std::string> sidecar(std::string_view spec) { return errors_of("networking.istio.io/v1", "Sidecar", spec); }
std::vector<std::string> pa(std::string_view spec) { return errors_of("security.istio.io/v1", "PeerAuthentication", spec); }
std::vector<std::string> ap(std::string_view spec) { return errors_of("security.istio.io/v1", "AuthorizationPolicy", spec); }
std::vector<std::string> ra(std::string_view spec) { return errors_of("security.istio.io/v1", "RequestAuthentication", spec); }
std::vector<std::string> telemetry(std::string_view spec) { return errors_of("telemetry.istio.io/v1", "Telemetry", spec); }
std::vector<std::string> rlp(std::string_view spec) {
  return errors_of("strait.dev/v1alpha1", "RateLimitPolicy", spec);
}

// The only error, or a description of what came instead.
std::string only(const std::vector<std::string>& errors) {
  if (errors.size() == 1) return errors.front();
  std::string out = std::to_string(errors.size()) + " errors:";
  for (const auto& e : errors) out += "\n  " + e;
  return out;
}

using Strings = std::vector<std::string>;

// ---- VirtualService ----

TEST(VirtualServiceValidation, LocalAnswersAndHeaderEditsAreChecked) {
  EXPECT_EQ(only(vs(R"(  hosts: [reviews]
  http: [{directResponse: {status: 101}}])")),
            "spec.http[0].directResponse.status: must be an HTTP status from 200 to 599");
  EXPECT_EQ(only(vs(R"(  hosts: [reviews]
  http: [{redirect: {uri: /x, redirectCode: 305}}])")),
            "spec.http[0].redirect.redirectCode: must be 301, 302, 303, 307 or 308");
  EXPECT_EQ(only(vs(R"(  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}], headers: {request: {set: {Host: other}}}}])")),
            "spec.http[0].headers.request.set.Host: pseudo-headers and Host cannot be edited; use rewrite.authority");
  EXPECT_EQ(only(vs(R"(  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}], headers: {response: {remove: [":status"]}}}])")),
            "spec.http[0].headers.response.remove: ':status': pseudo-headers and Host cannot be removed");
}

TEST(VirtualServiceValidation, ValidRoutesPass) {
  EXPECT_EQ(vs(R"(  hosts: [reviews]
  http:
  - match: [{uri: {regex: "/api/v[0-9]+/.*"}, headers: {x-user: {regex: "a|b"}}, queryParams: {q: {exact: x}}}]
    route:
    - {destination: {host: reviews, subset: v1, port: {number: 9080}}, weight: 30}
    - {destination: {host: reviews, subset: v2}, weight: 50}
    retries: {attempts: 3, perTryTimeout: 1ms, retryOn: "5xx,gateway-error, reset,503,retriable-status-codes"}
    fault: {delay: {fixedDelay: 1s, percentage: {value: 100}}, abort: {httpStatus: 503, percentage: {value: 0.5}}}
    mirror: {host: shadow}
    mirrorPercentage: {value: 12.5}
    rewrite: {uriRegexRewrite: {match: "^/old/(.*)$", rewrite: "/new/\\1"}}
  - redirect: {uri: /new, port: 8080}
  - directResponse: {status: 404}
  - delegate: {name: other}
  tcp: [{route: [{destination: {host: db, port: {number: 5432}}}]}]
)"),
            Strings{});
}

TEST(VirtualServiceValidation, NeedsAHost) {
  EXPECT_EQ(only(vs("  http: [{route: [{destination: {host: a}}]}]\n")), "spec.hosts: at least one host is required");
}

TEST(VirtualServiceValidation, WeightsAreRelativeButNotNegativeNorAllZero) {
  // Weights need not sum to 100.
  EXPECT_EQ(vs("  hosts: [a]\n  http: [{route: [{destination: {host: a}, weight: 1}, {destination: {host: b}, weight: 2}]}]\n"),
            Strings{});
  // A lone destination without weight gets all traffic.
  EXPECT_EQ(vs("  hosts: [a]\n  http: [{route: [{destination: {host: a}}]}]\n"), Strings{});
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{route: [{destination: {host: a}, weight: -1}, "
                    "{destination: {host: b}, weight: 5}]}]\n")),
            "spec.http[0].route[0].weight: must not be negative");
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{route: [{destination: {host: a}}, {destination: {host: b}, weight: 0}]}]\n")),
            "spec.http[0].route: weights are all zero (with several destinations, give each a relative weight)");
}

TEST(VirtualServiceValidation, RedirectAndDirectResponseAreExclusive) {
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{redirect: {uri: /x}, route: [{destination: {host: a}}]}]\n")),
            "spec.http[0].redirect: cannot be combined with route or rewrite");
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{redirect: {uri: /x}, rewrite: {uri: /y}}]\n")),
            "spec.http[0].redirect: cannot be combined with route or rewrite");
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{directResponse: {status: 200}, route: [{destination: {host: a}}]}]\n")),
            "spec.http[0].directResponse: cannot be combined with route or redirect");
  auto both = vs("  hosts: [a]\n  http: [{directResponse: {status: 200}, redirect: {uri: /x}}]\n");
  EXPECT_NE(std::ranges::find(both, "spec.http[0].directResponse: cannot be combined with route or redirect"),
            both.end());
}

TEST(VirtualServiceValidation, AnHttpRouteNeedsAnAction) {
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{timeout: 1s}]\n")),
            "spec.http[0]: needs one of route, redirect, directResponse or delegate");
}

TEST(VirtualServiceValidation, Retries) {
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{route: [{destination: {host: a}}], retries: {attempts: 2, perTryTimeout: 500us}}]\n")),
            "spec.http[0].retries.perTryTimeout: must be at least 1ms");
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{route: [{destination: {host: a}}], retries: {attempts: -1}}]\n")),
            "spec.http[0].retries.attempts: must not be negative");
  const auto bad = vs("  hosts: [a]\n  http: [{route: [{destination: {host: a}}], retries: {retryOn: \"5xx,bogus,600\"}}]\n");
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_TRUE(bad[0].starts_with("spec.http[0].retries.retryOn: unknown retry condition 'bogus'")) << bad[0];
  EXPECT_TRUE(bad[1].starts_with("spec.http[0].retries.retryOn: unknown retry condition '600'")) << bad[1];
  EXPECT_EQ(vs("  hosts: [a]\n  http: [{route: [{destination: {host: a}}], retries: {retryOn: \"cancelled,deadline-exceeded,"
               "internal,resource-exhausted,unavailable,retriable-headers,envoy-ratelimited,retriable-4xx,"
               "refused-stream,connect-failure,100,599\"}}]\n"),
            Strings{});
}

TEST(VirtualServiceValidation, FaultAndMirrorPercentages) {
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{route: [{destination: {host: a}}], fault: {delay: {fixedDelay: 1s, "
                    "percentage: {value: 100.5}}}}]\n")),
            "spec.http[0].fault.delay.percentage.value: must be from 0 to 100");
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{route: [{destination: {host: a}}], fault: {abort: {httpStatus: 503, "
                    "percentage: {value: -1}}}}]\n")),
            "spec.http[0].fault.abort.percentage.value: must be from 0 to 100");
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{route: [{destination: {host: a}}], fault: {abort: {httpStatus: 600}}}]\n")),
            "spec.http[0].fault.abort.httpStatus: must be an HTTP status from 200 to 599");
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{route: [{destination: {host: a}}], fault: {abort: {httpStatus: 199}}}]\n")),
            "spec.http[0].fault.abort.httpStatus: must be an HTTP status from 200 to 599");
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{route: [{destination: {host: a}}], mirror: {host: m}, "
                    "mirrorPercentage: {value: 101}}]\n")),
            "spec.http[0].mirrorPercentage.value: must be from 0 to 100");
}

TEST(VirtualServiceValidation, RegexesMustCompileWithRe2) {
  const std::string route = "    route: [{destination: {host: a}}]\n";
  for (const std::string field : {"uri", "scheme", "method", "authority"}) {
    const auto errors = vs("  hosts: [a]\n  http:\n  - match: [{" + field + ": {regex: \"(unclosed\"}}]\n" + route);
    ASSERT_EQ(errors.size(), 1u) << field;
    EXPECT_TRUE(errors[0].starts_with("spec.http[0].match[0]." + field + ".regex: invalid RE2 regex: missing )"))
        << errors[0];
  }
  for (const std::string field : {"headers", "withoutHeaders", "queryParams"}) {
    const auto errors = vs("  hosts: [a]\n  http:\n  - match: [{" + field + ": {x: {regex: \"a**\"}}}]\n" + route);
    ASSERT_EQ(errors.size(), 1u) << field;
    EXPECT_TRUE(errors[0].starts_with("spec.http[0].match[0]." + field + ".x.regex: invalid RE2 regex: bad repetition"))
        << errors[0];
  }
  // Perl's lookahead is not RE2.
  EXPECT_EQ(vs("  hosts: [a]\n  http:\n  - match: [{uri: {regex: \"/(?=x)\"}}]\n" + route).size(), 1u);
  const auto rewrite = vs("  hosts: [a]\n  http:\n  - rewrite: {uriRegexRewrite: {match: \"[z-a]\", rewrite: /}}\n" + route);
  ASSERT_EQ(rewrite.size(), 1u);
  EXPECT_TRUE(rewrite[0].starts_with("spec.http[0].rewrite.uriRegexRewrite.match: invalid RE2 regex")) << rewrite[0];
}

TEST(VirtualServiceValidation, IgnoreUriCaseAndQueryParamPrefix) {
  const std::string route = "    route: [{destination: {host: a}}]\n";
  EXPECT_EQ(only(vs("  hosts: [a]\n  http:\n  - match: [{uri: {regex: /a.*}, ignoreUriCase: true}]\n" + route)),
            "spec.http[0].match[0].ignoreUriCase: applies to exact and prefix uri matches only, not regex");
  EXPECT_EQ(vs("  hosts: [a]\n  http:\n  - match: [{uri: {prefix: /A}, ignoreUriCase: true}]\n" + route), Strings{});
  EXPECT_EQ(only(vs("  hosts: [a]\n  http:\n  - match: [{queryParams: {v: {prefix: x}}}]\n" + route)),
            "spec.http[0].match[0].queryParams.v.prefix: query parameters match by exact or regex only");
}

TEST(VirtualServiceValidation, TlsRoutesMatchBySniHosts) {
  const std::string route = "route: [{destination: {host: a}}]";
  EXPECT_EQ(vs("  hosts: [a]\n  tls: [{match: [{sniHosts: [a.example.com, '*.b.example.com', '*'], "
               "port: 443}], " +
               route + "}]\n  tcp: [{match: [{port: 5432}], " + route + "}]\n"),
            Strings{});
  EXPECT_EQ(only(vs("  hosts: [a]\n  tls: [{" + route + "}]\n")),
            "spec.tls[0].match: is required (TLS routes match by sniHosts)");
  EXPECT_EQ(only(vs("  hosts: [a]\n  tls: [{match: [{port: 443}], " + route + "}]\n")),
            "spec.tls[0].match[0].sniHosts: is required");
  EXPECT_EQ(only(vs("  hosts: [a]\n  tls: [{match: [{sniHosts: ['a.*.com']}], " + route + "}]\n")),
            "spec.tls[0].match[0].sniHosts[0]: must be a host name, '*.' and a domain, or '*'");
  EXPECT_EQ(only(vs("  hosts: [a]\n  tcp: [{match: [{port: 70000}], " + route + "}]\n")),
            "spec.tcp[0].match[0].port: must be a port number from 1 to 65535");
}

TEST(VirtualServiceValidation, DestinationsNeedHostsAndValidPorts) {
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{route: [{destination: {subset: v1}}]}]\n")),
            "spec.http[0].route[0].destination.host: is required");
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{route: [{weight: 1}]}]\n")), "spec.http[0].route[0].destination: is required");
  EXPECT_EQ(only(vs("  hosts: [a]\n  http: [{route: [{destination: {host: a, port: {number: 70000}}}]}]\n")),
            "spec.http[0].route[0].destination.port.number: must be a port number from 1 to 65535");
  EXPECT_EQ(only(vs("  hosts: [a]\n  tcp: [{route: [{destination: {port: {number: 1}}}]}]\n")),
            "spec.tcp[0].route[0].destination.host: is required");
  EXPECT_EQ(only(vs("  hosts: [a]\n  tls: [{match: [{sniHosts: [a]}], route: [{destination: {}}]}]\n")),
            "spec.tls[0].route[0].destination.host: is required");
}

// ---- DestinationRule ----

TEST(DestinationRuleValidation, AGeneratedCookieMustMakeAValidSetCookieField) {
  EXPECT_EQ(dr("  host: r\n  trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: "
               "sticky, path: /, ttl: 60s, "
               "attributes: [{name: SameSite, value: Strict}, {name: Secure}]}}}}\n"),
            Strings{});
  EXPECT_EQ(dr("  host: r\n  trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: "
               "'a;b', path: '/x;y', "
               "attributes: [{name: 'bad name', value: v}]}}}}\n"),
            (Strings{"spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name: 'a;b' is not "
                     "a cookie name (an HTTP token)",
                     "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.path: must not "
                     "hold ';' or control characters",
                     "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.attributes[0]: "
                     "needs a token name and a value "
                     "without ';' or control characters"}));
}

TEST(DestinationRuleValidation, ValidRulePasses) {
  EXPECT_EQ(dr(R"(  host: reviews
  trafficPolicy:
    loadBalancer: {consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 65537}}}
    outlierDetection: {maxEjectionPercent: 100, minHealthPercent: 0, interval: 1ms, baseEjectionTime: 30s}
    connectionPool: {tcp: {connectTimeout: 1s}}
    retryBudget: {percent: 20}
    portLevelSettings: [{port: {number: 80}}, {port: {number: 443}}]
  subsets:
  - {name: v1, labels: {version: v1}, trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, ringHash: {minimumRingSize: 1024}}}}}
  - {name: v2, labels: {version: v2}}
)"),
            Strings{});
}

TEST(DestinationRuleValidation, HostAndSubsetNames) {
  EXPECT_EQ(only(dr("  subsets: [{name: v1}]\n")), "spec.host: is required");
  EXPECT_EQ(only(dr("  host: a\n  subsets: [{name: v1}, {name: v1}]\n")), "spec.subsets[1].name: subset 'v1' is defined twice");
  EXPECT_EQ(only(dr("  host: a\n  subsets: [{labels: {a: b}}]\n")), "spec.subsets[0].name: is required");
}

TEST(DestinationRuleValidation, ConsistentHashSizes) {
  EXPECT_EQ(only(dr("  host: a\n  trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 65536}}}}\n")),
            "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize: must be a prime number (such as 65537)");
  EXPECT_EQ(only(dr("  host: a\n  trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, maglev: "
                    "{tableSize: 18446744073709551557}}}}\n")),
            "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize: must be at most 5000011");
  EXPECT_EQ(only(dr("  host: a\n  trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, ringHash: "
                    "{minimumRingSize: 10000000}}}}\n")),
            "spec.trafficPolicy.loadBalancer.consistentHash.ringHash.minimumRingSize: must be at most 8388608");
}

TEST(DestinationRuleValidation, OutlierDetectionConnectionPoolAndRetryBudget) {
  const auto errors = dr("  host: a\n  trafficPolicy:\n    outlierDetection: {maxEjectionPercent: 101, minHealthPercent: -1, "
                         "interval: 0s, baseEjectionTime: 100us}\n    connectionPool: {tcp: {connectTimeout: 0s}}\n"
                         "    retryBudget: {percent: 150}\n");
  EXPECT_EQ(errors, (Strings{"spec.trafficPolicy.connectionPool.tcp.connectTimeout: must be at least 1ms",
                             "spec.trafficPolicy.outlierDetection.maxEjectionPercent: must be from 0 to 100",
                             "spec.trafficPolicy.outlierDetection.minHealthPercent: must be from 0 to 100",
                             "spec.trafficPolicy.outlierDetection.interval: must be at least 1ms",
                             "spec.trafficPolicy.outlierDetection.baseEjectionTime: must be at least 1ms",
                             "spec.trafficPolicy.retryBudget.percent: must be from 0 to 100"}));
}

TEST(DestinationRuleValidation, PortLevelSettingsPortsAreValidAndUnique) {
  EXPECT_EQ(dr("  host: a\n  trafficPolicy: {portLevelSettings: [{port: {number: 0}}, {port: {number: 80}}, "
                "{port: {number: 80}}]}\n"),
            (Strings{"spec.trafficPolicy.portLevelSettings[0].port.number: must be a port number from 1 to 65535",
                     "spec.trafficPolicy.portLevelSettings[2].port.number: port 80 has settings twice"}));
  EXPECT_EQ(only(dr("  host: a\n  subsets: [{name: v1, trafficPolicy: {portLevelSettings: [{port: {number: 80}, "
                    "outlierDetection: {maxEjectionPercent: 200}}]}}]\n")),
            "spec.subsets[0].trafficPolicy.portLevelSettings[0].outlierDetection.maxEjectionPercent: must be from 0 to 100");
}

TEST(DestinationRuleValidation, TcpKeepaliveAndIdleTimeout) {
  EXPECT_EQ(
      dr("  host: a\n  trafficPolicy: {connectionPool: {tcp: {idleTimeout: 30s, tcpKeepalive: "
         "{time: 60s, interval: 10s, probes: 3}}}}\n"),
      Strings{});
  EXPECT_EQ(
      dr("  host: a\n  trafficPolicy: {portLevelSettings: [{port: {number: 80}, connectionPool: "
         "{tcp: "
         "{idleTimeout: 5s, tcpKeepalive: {time: 500ms, interval: 40000s, probes: 200}}}}]}\n"),
      (Strings{"spec.trafficPolicy.portLevelSettings[0].connectionPool.tcp.tcpKeepalive.time: must "
               "be from 1s to 32767s",
               "spec.trafficPolicy.portLevelSettings[0].connectionPool.tcp.tcpKeepalive.interval: "
               "must be from 1s to 32767s",
               "spec.trafficPolicy.portLevelSettings[0].connectionPool.tcp.tcpKeepalive.probes: "
               "must be at most 127"}));
}

// ---- ServiceEntry, WorkloadEntry, Sidecar ----

TEST(ServiceEntryValidation, HostsPortsAndStaticEndpoints) {
  EXPECT_EQ(se("  hosts: [api.example.com]\n  ports: [{number: 443, name: https, protocol: TLS}]\n  resolution: DNS\n"),
            Strings{});
  EXPECT_EQ(se("  hosts: [db.internal]\n  ports: [{number: 5432, name: pg}]\n  resolution: STATIC\n"
               "  endpoints: [{address: 10.0.0.1, ports: {pg: 5433}}]\n"),
            Strings{});
  EXPECT_EQ(only(se("  ports: [{number: 80, name: http}]\n")), "spec.hosts: at least one host is required");
  EXPECT_EQ(only(se("  hosts: [\"\"]\n")), "spec.hosts[0]: must not be empty");
  EXPECT_EQ(se("  hosts: [a.b]\n  ports: [{number: 80, name: a}, {number: 80, name: b}, {number: 0, name: c}]\n"),
            (Strings{"spec.ports[1].number: port 80 is declared twice",
                     "spec.ports[2].number: must be a port number from 1 to 65535"}));
  EXPECT_EQ(only(se("  hosts: [a.b]\n  resolution: STATIC\n")),
            "spec.endpoints: resolution STATIC needs endpoints (or a workloadSelector)");
  EXPECT_EQ(se("  hosts: [a.b]\n  resolution: STATIC\n  workloadSelector: {labels: {app: a}}\n"), Strings{});
  EXPECT_EQ(only(se("  hosts: [a.b]\n  resolution: STATIC\n  endpoints: [{labels: {a: b}}]\n")),
            "spec.endpoints[0].address: is required with resolution STATIC");
}

TEST(WorkloadEntryValidation, AddressAndPorts) {
  EXPECT_EQ(we("  address: 10.0.0.5\n  ports: {http: 8080}\n"), Strings{});
  EXPECT_EQ(only(we("  network: n1\n")), "spec.address: is required");
  EXPECT_EQ(only(we("  address: 10.0.0.5\n  ports: {http: 70000}\n")),
            "spec.ports.http: must be a port number from 1 to 65535");
}

TEST(SidecarValidation, EgressHostsAreNamespaceSlashHost) {
  EXPECT_EQ(sidecar("  egress: [{hosts: [./reviews, \"*/*\", \"~/*\", istio-system/*, prod/db.prod.svc.cluster.local]}]\n"),
            Strings{});
  EXPECT_EQ(sidecar("  egress: [{hosts: [reviews, /x, \"ns/\"]}]\n"),
            (Strings{"spec.egress[0].hosts[0]: must be 'namespace/host' (the namespace may be '.', '*' or '~'), not 'reviews'",
                     "spec.egress[0].hosts[1]: must be 'namespace/host' (the namespace may be '.', '*' or '~'), not '/x'",
                     "spec.egress[0].hosts[2]: must be 'namespace/host' (the namespace may be '.', '*' or '~'), not 'ns/'"}));
}

// ---- Security ----

TEST(PeerAuthenticationValidation, PortLevelMtlsNeedsASelectorAndValidPorts) {
  EXPECT_EQ(pa("  selector: {matchLabels: {app: a}}\n  mtls: {mode: STRICT}\n  portLevelMtls: {8080: {mode: DISABLE}}\n"),
            Strings{});
  EXPECT_EQ(only(pa("  portLevelMtls: {8080: {mode: DISABLE}}\n")),
            "spec.portLevelMtls: needs a selector (port-level settings apply to selected workloads only)");
  EXPECT_EQ(only(pa("  selector: {matchLabels: {app: a}}\n  portLevelMtls: {70000: {mode: DISABLE}}\n")),
            "spec.portLevelMtls.70000: must be a port number from 1 to 65535");
}

TEST(AuthorizationPolicyValidation, CustomIsRefused) {
  EXPECT_EQ(only(ap("  action: CUSTOM\n  provider: {name: ext-authz}\n  rules: [{}]\n")),
            "spec.action: CUSTOM needs an external authorizer, which strait does not have yet");
  EXPECT_EQ(ap("  action: DENY\n  rules: [{}]\n"), Strings{});
}

TEST(AuthorizationPolicyValidation, PrincipalsHaveTheSpiffePathShape) {
  EXPECT_EQ(ap("  rules: [{from: [{source: {principals: [\"*\", cluster.local/ns/default/sa/sleep, "
               "\"cluster.local/ns/default/*\", \"*/ns/prod/sa/api\", \"*/sa/api\", \"cluster.local/*\"], "
               "notPrincipals: [\"*sa/x\"]}}]}]\n"),
            Strings{});
  const auto errors = ap("  rules: [{from: [{source: {principals: [sleep, spiffe://cluster.local/ns/a/sa/b, "
                         "\"cluster.local/ns/*/sa/b\", cluster.local/sa/x/ns/y], notPrincipals: [a/b/c/d/e/f]}}]}]\n");
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_TRUE(errors[0].starts_with("spec.rules[0].from[0].source.principals[0]: must be '<trust-domain>/ns/")) << errors[0];
  EXPECT_EQ(errors[1], "spec.rules[0].from[0].source.principals[1]: omit the spiffe:// prefix: "
                       "'spiffe://cluster.local/ns/a/sa/b'");
  EXPECT_TRUE(errors[2].starts_with("spec.rules[0].from[0].source.principals[2]: a '*' may only start or end")) << errors[2];
  EXPECT_TRUE(errors[3].starts_with("spec.rules[0].from[0].source.principals[3]: must be")) << errors[3];
  EXPECT_TRUE(errors[4].starts_with("spec.rules[0].from[0].source.notPrincipals[0]: must be")) << errors[4];
}

TEST(AuthorizationPolicyValidation, PathsHaveStarsOnlyAtTheEnds) {
  EXPECT_EQ(ap("  rules: [{to: [{operation: {paths: [\"*\", /api/*, \"*.png\", /exact], notPaths: [/admin*]}}]}]\n"),
            Strings{});
  EXPECT_EQ(ap("  rules: [{to: [{operation: {paths: [/api/*/users], notPaths: [\"/a*b\"]}}]}]\n"),
            (Strings{"spec.rules[0].to[0].operation.paths[0]: a '*' may only start or end a path: '/api/*/users'",
                     "spec.rules[0].to[0].operation.notPaths[0]: a '*' may only start or end a path: '/a*b'"}));
}

TEST(AuthorizationPolicyValidation, ConditionKeysAndValues) {
  EXPECT_EQ(
      ap("  rules: [{when: [{key: \"request.headers[x-user]\", values: [a]}, {key: source.ip, "
         "notValues: [10.0.0.1]}, "
         "{key: \"request.auth.claims[groups]\", values: [admin]}, {key: destination.port, values: "
         "[\"80\"]}, "
         "{key: connection.sni, values: [a]}, {key: remote.ip, values: [\"fd00::/8\"]}, {key: "
         "source.namespace, values: [a]}, "
         "{key: source.principal, values: [a]}, {key: request.auth.principal, values: [a]}, "
         "{key: request.auth.audiences, values: [a]}, {key: request.auth.presenter, values: [a]}, "
         "{key: destination.ip, values: [10.0.0.0/8]}]}]\n"),
      Strings{});
  EXPECT_EQ(
      ap("  rules: [{from: [{source: {ipBlocks: [10.0.0.0/33], notRemoteIpBlocks: [host]}}], "
         "when: [{key: destination.ip, notValues: [a]}, {key: destination.port, values: "
         "[http]}]}]\n"),
      (Strings{
          "spec.rules[0].from[0].source.ipBlocks[0]: must be an IP address or CIDR block "
          "(10.0.0.0/8, fd00::/8), not '10.0.0.0/33'",
          "spec.rules[0].from[0].source.notRemoteIpBlocks[0]: must be an IP address or CIDR block "
          "(10.0.0.0/8, fd00::/8), not 'host'",
          "spec.rules[0].when[0].notValues[0]: must be an IP address or CIDR block (10.0.0.0/8, "
          "fd00::/8), not 'a'",
          "spec.rules[0].when[1].values[0]: must be a port number from 1 to 65535, not 'http'"}));
  EXPECT_EQ(ap("  selector: {matchLabels: {app: a}}\n  targetRefs: [{kind: Service, name: a}]\n"),
            Strings{"spec.targetRefs: attaches a policy to a Gateway or Service, which strait does "
                    "not have; select "
                    "workloads with spec.selector"});
  const auto errors = ap("  rules: [{when: [{key: request.path, values: [/a]}, {key: \"request.headers[]\", values: [a]}, "
                         "{key: source.ip}]}]\n");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_TRUE(errors[0].starts_with("spec.rules[0].when[0].key: unknown key 'request.path'")) << errors[0];
  EXPECT_TRUE(errors[1].starts_with("spec.rules[0].when[1].key: unknown key 'request.headers[]'")) << errors[1];
  EXPECT_EQ(errors[2], "spec.rules[0].when[2]: needs values or notValues");
}

TEST(AuthorizationPolicyValidation, DryRunIsABoolean) {
  const auto with = [](std::string_view value) {
    auto parsed = config::parse_resources(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n"
        "  name: p\n  annotations: {istio.io/dry-run: \"" +
            std::string(value) + "\"}\nspec: {}\n",
        "t.yaml");
    EXPECT_TRUE(parsed) << parsed.error();
    std::vector<std::string> out;
    for (const auto& e : config::validate(parsed->front())) out.push_back(e.to_string());
    return out;
  };
  EXPECT_EQ(with("true"), std::vector<std::string>{});
  EXPECT_EQ(with("True"), std::vector<std::string>{});
  EXPECT_EQ(with("0"), std::vector<std::string>{});
  EXPECT_EQ(with("yes"),
            std::vector<std::string>{
                "metadata.annotations.istio.io/dry-run: must be \"true\" or \"false\", not 'yes'"});
}

TEST(AuthorizationPolicyValidation, OperationPortsAreNumbers) {
  EXPECT_EQ(ap("  rules: [{to: [{operation: {ports: [\"80\", \"65535\"], notPorts: [\"1\"]}}]}]\n"), Strings{});
  EXPECT_EQ(ap("  rules: [{to: [{operation: {ports: [http, \"0\", \"65536\"], notPorts: [\"\"]}}]}]\n"),
            (Strings{"spec.rules[0].to[0].operation.ports[0]: must be a port number from 1 to 65535, not 'http'",
                     "spec.rules[0].to[0].operation.ports[1]: must be a port number from 1 to 65535, not '0'",
                     "spec.rules[0].to[0].operation.ports[2]: must be a port number from 1 to 65535, not '65536'",
                     "spec.rules[0].to[0].operation.notPorts[0]: must be a port number from 1 to 65535, not ''"}));
}

TEST(RequestAuthenticationValidation, IssuerInlineJwksAndNoJwksUri) {
  EXPECT_EQ(ra("  jwtRules: [{issuer: https://issuer.example, jwks: '{\"keys\": []}'}]\n"), Strings{});
  EXPECT_EQ(only(ra("  jwtRules: [{jwks: '{\"keys\": []}'}]\n")), "spec.jwtRules[0].issuer: is required");
  EXPECT_EQ(only(ra("  jwtRules: [{issuer: i, jwks: '{\"keys\": '}]\n")), "spec.jwtRules[0].jwks: is not valid JSON");
  EXPECT_EQ(only(ra("  jwtRules: [{issuer: i, jwks: '{\"kys\": []}'}]\n")),
            "spec.jwtRules[0].jwks: must be a JSON Web Key Set: an object with a \"keys\" array");
  EXPECT_EQ(only(ra("  jwtRules: [{issuer: i, jwksUri: https://issuer.example/jwks}]\n")),
            "spec.jwtRules[0].jwksUri: jwksUri needs a network fetch; use inline jwks");
}

TEST(TelemetryValidation, SamplingPercentageAndProviders) {
  EXPECT_EQ(telemetry("  tracing: [{providers: [{name: otel}, {name: zipkin}], randomSamplingPercentage: 10.5}]\n"
                      "  metrics: [{providers: [{name: prometheus}]}]\n"
                      "  accessLogging: [{providers: [{name: envoy}, {name: strait}]}]\n"),
            Strings{});
  EXPECT_EQ(only(telemetry("  tracing: [{randomSamplingPercentage: 100.1}]\n")),
            "spec.tracing[0].randomSamplingPercentage: must be from 0 to 100");
  EXPECT_EQ(
      telemetry("  tracing: [{providers: [{name: datadog}]}]\n  accessLogging: [{providers: "
                "[{name: stackdriver}]}]\n"),
      (Strings{
          "spec.tracing[0].providers[0].name: unknown provider 'datadog' (strait, otel or zipkin)",
          "spec.accessLogging[0].providers[0].name: unknown provider 'stackdriver' (envoy or "
          "strait)"}));
  // A provider of another section is refused where it cannot serve.
  EXPECT_EQ(
      only(telemetry("  tracing: [{providers: [{name: prometheus}]}]\n")),
      "spec.tracing[0].providers[0].name: unknown provider 'prometheus' (strait, otel or zipkin)");
  EXPECT_EQ(only(telemetry("  metrics: [{providers: [{name: zipkin}]}]\n")),
            "spec.metrics[0].providers[0].name: unknown provider 'zipkin' (prometheus or strait)");
}

TEST(RateLimitPolicyValidation, AWorkingPolicyPasses) {
  EXPECT_EQ(
      rlp("  selector: {matchLabels: {app: reviews}}\n"
          "  limits:\n"
          "  - {name: all, tokenBucket: {maxTokens: 100, tokensPerFill: 50, fillInterval: 1s}}\n"
          "  - name: api-per-caller\n"
          "    perSource: PRINCIPAL\n"
          "    match: [{uri: {prefix: /api}, method: {exact: POST}}, {headers: {x-bulk: {exact: "
          "'yes'}}}]\n"
          "    tokenBucket: {maxTokens: 1, fillInterval: 1ms}\n"),
      Strings{});
}

TEST(RateLimitPolicyValidation, EveryLimitNeedsANameAndABucketThatCanWork) {
  EXPECT_EQ(only(rlp("  limits: []\n")), "spec.limits: needs at least one limit");
  EXPECT_EQ(
      rlp("  limits: [{tokenBucket: {maxTokens: 0, fillInterval: 0.5ms}}, {name: Big_Name}]\n"),
      (Strings{
          "spec.limits[0].name: is required",
          "spec.limits[0].tokenBucket.maxTokens: must be at least 1",
          "spec.limits[0].tokenBucket.fillInterval: must be at least 1ms",
          "spec.limits[1].name: 'Big_Name' must be a DNS label (a-z, 0-9, '-')",
          "spec.limits[1].tokenBucket: is required (maxTokens, tokensPerFill, fillInterval)"}));
  EXPECT_EQ(only(rlp("  limits: [{name: a, tokenBucket: {maxTokens: 1}}]\n")),
            "spec.limits[0].tokenBucket.fillInterval: is required");
  EXPECT_EQ(only(rlp("  limits: [{name: a, tokenBucket: {maxTokens: 1, fillInterval: 25h}}]\n")),
            "spec.limits[0].tokenBucket.fillInterval: must be at most 24h");
  EXPECT_EQ(only(rlp("  limits: [{name: a, tokenBucket: {maxTokens: 1, tokensPerFill: 2000, "
                     "fillInterval: 1ms}}]\n")),
            "spec.limits[0].tokenBucket.tokensPerFill: refills faster than one token per "
            "microsecond (2000 per "
            "fillInterval)");
  EXPECT_EQ(only(rlp("  limits:\n  - {name: a, tokenBucket: {maxTokens: 1, fillInterval: 1s}}\n"
                     "  - {name: a, tokenBucket: {maxTokens: 1, fillInterval: 1s}}\n")),
            "spec.limits[1].name: 'a' is already the name of another limit");
}

TEST(RateLimitPolicyValidation, MatchesAreTheCalleesToTest) {
  EXPECT_EQ(rlp("  limits:\n  - name: a\n    tokenBucket: {maxTokens: 1, fillInterval: 1s}\n"
                "    match: [{uri: {regex: '(['}, sourceLabels: {app: web}, sourceNamespace: shop, "
                "gateways: [g]}]\n"),
            (Strings{"spec.limits[0].match[0].uri.regex: invalid RE2 regex: missing ]: [",
                     "spec.limits[0].match[0].sourceLabels: is not available to a rate limit (use "
                     "perSource: PRINCIPAL)",
                     "spec.limits[0].match[0].sourceNamespace: is not available to a rate limit "
                     "(use perSource: "
                     "PRINCIPAL)",
                     "spec.limits[0].match[0].gateways: is not available to a rate limit"}));
}

// ---- Conflicts ----

std::vector<std::string> conflicts(const std::string& incoming_yaml, const std::string& existing_yaml = {}) {
  const auto incoming = parse_all(incoming_yaml);
  const auto existing = existing_yaml.empty() ? std::vector<Resource>{} : parse_all(existing_yaml);
  std::vector<std::string> out;
  for (const auto& e : check_conflicts(incoming, existing)) out.push_back(e.to_string());
  return out;
}

std::string virtual_service(std::string_view name, std::string_view ns, std::string_view host,
                            std::string_view destination = "{host: reviews}") {
  return doc("networking.istio.io/v1", "VirtualService",
             "  hosts: [" + std::string(host) + "]\n  http: [{route: [{destination: " + std::string(destination) + "}]}]\n",
             name, ns);
}

std::string destination_rule(std::string_view name, std::string_view ns, std::string_view host,
                             std::string_view subsets) {
  return doc("networking.istio.io/v1", "DestinationRule",
             "  host: " + std::string(host) + "\n  subsets: " + std::string(subsets) + "\n", name, ns);
}

TEST(ConflictCheck, OneVirtualServicePerHostAndNamespace) {
  EXPECT_EQ(conflicts(virtual_service("a", "prod", "reviews") + "---\n" + virtual_service("b", "test", "reviews")),
            Strings{});
  EXPECT_EQ(conflicts(virtual_service("b", "prod", "reviews"), virtual_service("a", "prod", "reviews")),
            Strings{"VirtualService prod/b: spec.hosts[0]: host 'reviews' is also claimed by VirtualService prod/a "
                    "(one VirtualService per host and namespace)"});
  // A short name and its FQDN are one host.
  EXPECT_EQ(conflicts(virtual_service("b", "prod", "reviews.prod.svc.cluster.local"), virtual_service("a", "prod", "reviews"))
                .size(),
            1u);
  // Re-applying a VirtualService replaces it rather than conflicting with itself.
  EXPECT_EQ(conflicts(virtual_service("a", "prod", "reviews"), virtual_service("a", "prod", "reviews")), Strings{});
  // Both incoming: each names the other.
  EXPECT_EQ(conflicts(virtual_service("a", "", "reviews") + "---\n" + virtual_service("b", "", "reviews")).size(), 2u);
  // Conflicts among stored resources alone do not block an unrelated apply.
  EXPECT_EQ(conflicts(virtual_service("c", "prod", "ratings"),
                      virtual_service("a", "prod", "reviews") + "---\n" + virtual_service("b", "prod", "reviews")),
            Strings{});
}

TEST(ConflictCheck, SubsetsMustBeDefinedByADestinationRuleOfTheHost) {
  const std::string rule = destination_rule("reviews", "prod", "reviews", "[{name: v1}]");
  EXPECT_EQ(conflicts(virtual_service("vs", "prod", "reviews", "{host: reviews, subset: v1}"), rule), Strings{});
  EXPECT_EQ(conflicts(virtual_service("vs", "prod", "reviews", "{host: reviews.prod.svc.cluster.local, subset: v1}") +
                      "---\n" + rule),
            Strings{});
  EXPECT_EQ(conflicts(virtual_service("vs", "prod", "reviews", "{host: reviews, subset: v2}"), rule),
            Strings{"VirtualService prod/vs: spec.http[0].route[0].destination.subset: subset 'v2' is not defined by any "
                    "DestinationRule for reviews.prod.svc.cluster.local in namespace prod"});
  // The DestinationRule must be in the VirtualService's namespace.
  EXPECT_EQ(conflicts(virtual_service("vs", "test", "reviews", "{host: reviews, subset: v1}"), rule).size(), 1u);
  // Another host's rule does not count.
  EXPECT_EQ(conflicts(virtual_service("vs", "prod", "reviews", "{host: ratings, subset: v1}"), rule).size(), 1u);
  // A DestinationRule applied without a subset that a stored VirtualService uses.
  EXPECT_EQ(conflicts(destination_rule("reviews", "prod", "reviews", "[{name: v3}]"),
                      virtual_service("vs", "prod", "reviews", "{host: reviews, subset: v1}") + "---\n" + rule)
                .size(),
            1u);
}

}  // namespace
}  // namespace strait::config
