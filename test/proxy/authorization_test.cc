#include "proxy/authorization.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace strait::proxy {
namespace {

AuthzValues values(std::initializer_list<std::string_view> in,
                   std::initializer_list<std::string_view> not_in = {}, bool lower_case = false) {
  AuthzValues v;
  for (auto s : in) v.values.push_back(AuthzPattern::parse(s, lower_case));
  for (auto s : not_in) v.not_values.push_back(AuthzPattern::parse(s, lower_case));
  return v;
}

AuthzPolicy policy(std::string name, AuthzPolicy::Action action, std::vector<AuthzRule> rules) {
  AuthzPolicy p;
  p.name = std::move(name);
  p.action = action;
  p.rules = std::move(rules);
  return p;
}

AuthzRule from_principals(std::initializer_list<std::string_view> in,
                          std::initializer_list<std::string_view> not_in = {}) {
  AuthzRule rule;
  AuthzSource source;
  source.principals = values(in, not_in);
  rule.from.push_back(source);
  return rule;
}

AuthzRule to_paths(std::initializer_list<std::string_view> in,
                   std::initializer_list<std::string_view> not_in = {}) {
  AuthzRule rule;
  AuthzOperation op;
  op.paths = values(in, not_in);
  rule.to.push_back(op);
  return rule;
}

struct Headers {
  std::map<std::string, std::string, std::less<>> fields;
  static std::optional<std::string_view> find(const void* context, std::string_view name) {
    const auto& f = static_cast<const Headers*>(context)->fields;
    auto it = f.find(name);
    return it == f.end() ? std::nullopt : std::optional<std::string_view>(it->second);
  }
};

class AuthorizationTest : public ::testing::Test {
 protected:
  AuthzRequest request(std::string_view path = "/api/items", std::string_view method = "GET") {
    AuthzRequest r;
    r.principal = "cluster.local/ns/shop/sa/web";
    r.source_namespace = "shop";
    r.source_ip = "10.1.2.3";
    r.destination_ip = "10.9.9.9";
    r.port = 9080;
    r.target_port = 19080;
    r.sni = "p9080.reviews.shop.svc.cluster.local";
    r.host = "reviews:9080";
    r.method = method;
    r.path = path;
    r.context = &headers_;
    r.header = &Headers::find;
    return r;
  }
  Headers headers_;
};

using Action = AuthzPolicy::Action;

TEST_F(AuthorizationTest, NoPolicyAllowsAndAnEmptyAllowPolicyDeniesEverything) {
  EXPECT_TRUE(authorize({}, request()).allowed);
  const std::vector<AuthzPolicy> deny_all{policy("shop/deny-all", Action::kAllow, {})};
  const auto d = authorize(deny_all, request());
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.denied_by, "");  // no ALLOW policy matched
  const std::vector<AuthzPolicy> allow_all{policy("shop/allow-all", Action::kAllow, {AuthzRule{}})};
  EXPECT_TRUE(authorize(allow_all, request()).allowed);
  // A DENY policy without rules denies nothing.
  const std::vector<AuthzPolicy> empty_deny{policy("shop/nothing", Action::kDeny, {})};
  EXPECT_TRUE(authorize(empty_deny, request()).allowed);
}

TEST_F(AuthorizationTest, DenyBeatsAllowAndNamesThePolicy) {
  const std::vector<AuthzPolicy> policies{
      policy("shop/allow-web", Action::kAllow, {from_principals({"*/sa/web"})}),
      policy("shop/no-admin", Action::kDeny, {to_paths({"/admin*"})})};
  EXPECT_TRUE(authorize(policies, request("/api")).allowed);
  const auto d = authorize(policies, request("/admin/users"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.denied_by, "shop/no-admin");
}

struct Case {
  const char* name;
  AuthzRule rule;
  bool matches;
};

TEST_F(AuthorizationTest, EachFieldAndItsNotForm) {
  auto source = [](auto fill) {
    AuthzRule r;
    AuthzSource s;
    fill(s);
    r.from.push_back(s);
    return r;
  };
  auto operation = [](auto fill) {
    AuthzRule r;
    AuthzOperation o;
    fill(o);
    r.to.push_back(o);
    return r;
  };
  auto when = [](AuthzCondition::Key key, std::string name, AuthzValues v) {
    AuthzRule r;
    AuthzCondition c;
    c.key = key;
    c.name = std::move(name);
    c.values = std::move(v);
    r.when.push_back(c);
    return r;
  };
  auto ip_when = [](AuthzCondition::Key key, std::initializer_list<std::string_view> blocks) {
    AuthzRule r;
    AuthzCondition c;
    c.key = key;
    for (auto b : blocks) c.ips.values.push_back(*IpBlock::parse(b));
    r.when.push_back(c);
    return r;
  };
  headers_.fields = {{"x-team", "payments"}, {"x-empty", ""}};
  using Key = AuthzCondition::Key;
  const std::vector<Case> cases{
      {"principal exact", from_principals({"cluster.local/ns/shop/sa/web"}), true},
      {"principal other", from_principals({"cluster.local/ns/shop/sa/ratings"}), false},
      {"principal prefix", from_principals({"cluster.local/ns/shop/*"}), true},
      {"principal suffix", from_principals({"*/sa/web"}), true},
      {"principal any", from_principals({"*"}), true},
      {"notPrincipals holds", from_principals({}, {"*/sa/ratings"}), true},
      {"notPrincipals fails", from_principals({}, {"*/sa/web"}), false},
      {"namespaces", source([](AuthzSource& s) { s.namespaces = values({"shop"}); }), true},
      {"notNamespaces", source([](AuthzSource& s) { s.namespaces = values({}, {"shop"}); }), false},
      {"ipBlocks",
       source([](AuthzSource& s) { s.ip_blocks.values = {*IpBlock::parse("10.1.0.0/16")}; }), true},
      {"notIpBlocks",
       source([](AuthzSource& s) { s.ip_blocks.not_values = {*IpBlock::parse("10.1.2.3")}; }),
       false},
      {"requestPrincipals without a JWT",
       source([](AuthzSource& s) { s.request_principals = values({"*"}); }), false},
      {"notRequestPrincipals without a JWT",
       source([](AuthzSource& s) { s.request_principals = values({}, {"*"}); }), true},
      {"two fields AND'd", source([](AuthzSource& s) {
         s.namespaces = values({"shop"});
         s.principals = values({"*/sa/ratings"});
       }),
       false},
      {"paths exact", to_paths({"/api/items"}), true},
      {"paths prefix", to_paths({"/api/*"}), true},
      {"paths suffix", to_paths({"*/items"}), true},
      {"notPaths", to_paths({}, {"/api/*"}), false},
      {"methods", operation([](AuthzOperation& o) {
         o.methods = values({"GET", "HEAD"});
       }),
       true},
      {"notMethods", operation([](AuthzOperation& o) { o.methods = values({}, {"GET"}); }), false},
      {"hosts without the port",
       operation([](AuthzOperation& o) { o.hosts = values({"REVIEWS"}, {}, true); }), true},
      {"hosts with the port",
       operation([](AuthzOperation& o) { o.hosts = values({"reviews:9080"}, {}, true); }), true},
      {"hosts suffix",
       operation([](AuthzOperation& o) { o.hosts = values({"*.example.com"}, {}, true); }), false},
      {"ports", operation([](AuthzOperation& o) { o.ports = {9080}; }), true},
      {"notPorts", operation([](AuthzOperation& o) { o.not_ports = {9080}; }), false},
      {"header value", when(Key::kHeader, "x-team", values({"pay*"})), true},
      {"header absent", when(Key::kHeader, "x-other", values({"*"})), false},
      {"header notValues when absent", when(Key::kHeader, "x-other", values({}, {"x"})), true},
      {"header present but empty matches *", when(Key::kHeader, "x-empty", values({"*"})), true},
      {"serviceAccounts",
       source([](AuthzSource& s) { s.service_accounts = values({"*/ns/shop/sa/web"}); }), true},
      {"notServiceAccounts",
       source([](AuthzSource& s) { s.service_accounts = values({}, {"*/ns/shop/sa/web"}); }),
       false},
      {"methods case-insensitive",
       operation([](AuthzOperation& o) { o.methods = values({"get"}, {}, true); }), true},
      {"ports: the application's port", operation([](AuthzOperation& o) { o.ports = {19080}; }),
       true},
      {"ports: another", operation([](AuthzOperation& o) { o.ports = {80}; }), false},
      {"destination.port: the application's", when(Key::kDestinationPort, "", values({"19080"})),
       true},
      {"destination.port notValues", when(Key::kDestinationPort, "", values({}, {"9080"})), false},
      {"source.namespace", when(Key::kSourceNamespace, "", values({"shop"})), true},
      {"source.principal", when(Key::kSourcePrincipal, "", values({"*/sa/web"})), true},
      {"destination.port", when(Key::kDestinationPort, "", values({"9080"})), true},
      {"destination.port other", when(Key::kDestinationPort, "", values({"80"})), false},
      {"connection.sni", when(Key::kSni, "", values({"*.reviews.shop.svc.cluster.local"})), true},
      {"source.ip", ip_when(Key::kSourceIp, {"10.1.2.0/24"}), true},
      {"destination.ip", ip_when(Key::kDestinationIp, {"10.1.2.0/24"}), false},
      {"claims without a JWT", when(Key::kClaim, "groups", values({"admin"})), false},
  };
  for (const auto& c : cases) {
    const std::vector<AuthzPolicy> policies{policy("shop/p", Action::kAllow, {c.rule})};
    EXPECT_EQ(authorize(policies, request()).allowed, c.matches) << c.name;
  }
}

TEST_F(AuthorizationTest, RulesAreOrdAndFromToWhenAreAndd) {
  AuthzRule both = from_principals({"*/sa/web"});
  both.to = to_paths({"/admin"}).to;
  const std::vector<AuthzPolicy> policies{
      policy("shop/p", Action::kAllow, {both, to_paths({"/health"})})};
  EXPECT_FALSE(authorize(policies, request("/api")).allowed);  // web, but not /admin
  EXPECT_TRUE(authorize(policies, request("/admin")).allowed);
  auto other = request("/health");
  other.principal = "cluster.local/ns/shop/sa/ratings";
  EXPECT_TRUE(authorize(policies, other).allowed);  // the second rule
}

TEST_F(AuthorizationTest, PlaintextPeersHaveNoPrincipal) {
  auto plaintext = request();
  plaintext.principal = "";
  plaintext.source_namespace = "";
  const std::vector<AuthzPolicy> any_peer{
      policy("shop/mtls-only", Action::kAllow, {from_principals({"*"})})};
  EXPECT_FALSE(authorize(any_peer, plaintext).allowed);
  EXPECT_TRUE(authorize(any_peer, request()).allowed);
  const std::vector<AuthzPolicy> deny_plaintext{
      policy("shop/deny-plaintext", Action::kDeny, {from_principals({}, {"*"})})};
  EXPECT_FALSE(authorize(deny_plaintext, plaintext).allowed);
  EXPECT_TRUE(authorize(deny_plaintext, request()).allowed);
}

TEST_F(AuthorizationTest, OnTcpHttpFieldsFailAllowRulesAndHoldInDenyRules) {
  auto tcp = request();
  tcp.http = false;
  tcp.method = tcp.path = tcp.host = "";
  tcp.header = nullptr;
  const std::vector<AuthzPolicy> allow_get{policy("shop/get", Action::kAllow, {[] {
                                                    AuthzRule r;
                                                    AuthzOperation o;
                                                    o.methods = values({"GET"});
                                                    r.to.push_back(o);
                                                    return r;
                                                  }()})};
  EXPECT_FALSE(authorize(allow_get, tcp).allowed);
  EXPECT_TRUE(authorize(allow_get, request()).allowed);
  const std::vector<AuthzPolicy> deny_admin{
      policy("shop/no-admin", Action::kDeny, {to_paths({"/admin"})})};
  EXPECT_FALSE(authorize(deny_admin, tcp).allowed);       // safer: denied
  EXPECT_TRUE(authorize(deny_admin, request()).allowed);  // HTTP: /api/items is not /admin
  // TCP fields still work on TCP.
  const std::vector<AuthzPolicy> allow_port{policy("shop/port", Action::kAllow, {[] {
                                                     AuthzRule r;
                                                     AuthzOperation o;
                                                     o.ports = {9080};
                                                     r.to.push_back(o);
                                                     return r;
                                                   }()})};
  EXPECT_TRUE(authorize(allow_port, tcp).allowed);
}

TEST_F(AuthorizationTest, DryRunPoliciesReportWithoutDenying) {
  auto dry = [](AuthzPolicy p) {
    p.dry_run = true;
    return p;
  };
  const std::vector<AuthzPolicy> deny{
      dry(policy("shop/no-admin", Action::kDeny, {to_paths({"/admin"})}))};
  auto d = authorize(deny, request("/admin"));
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.would_deny);
  EXPECT_EQ(d.would_deny_by, "shop/no-admin");
  EXPECT_FALSE(authorize(deny, request("/api")).would_deny);
  // A dry-run ALLOW that matches nothing would deny; with an enforced ALLOW that matches, it
  // would not (ALLOW policies are OR'd).
  const std::vector<AuthzPolicy> allow{
      dry(policy("shop/only-ratings", Action::kAllow, {from_principals({"*/sa/ratings"})}))};
  d = authorize(allow, request());
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.would_deny);
  EXPECT_EQ(d.would_deny_by, "");
  std::vector<AuthzPolicy> both = allow;
  both.push_back(policy("shop/web", Action::kAllow, {from_principals({"*/sa/web"})}));
  EXPECT_FALSE(authorize(both, request()).would_deny);
  // A denied request reports no dry-run verdict.
  std::vector<AuthzPolicy> denied = deny;
  denied.push_back(policy("shop/really", Action::kDeny, {to_paths({"/admin"})}));
  d = authorize(denied, request("/admin"));
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(d.would_deny);
}

TEST_F(AuthorizationTest, AuditCountsAndNeverDecides) {
  const std::vector<AuthzPolicy> audit{
      policy("shop/audit", Action::kAudit, {to_paths({"/admin"})})};
  const auto d = authorize(audit, request("/admin"));
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.audited);
  EXPECT_FALSE(authorize(audit, request("/api")).audited);
}

TEST(IpBlock, ParsesV4V6AndPrefixes) {
  EXPECT_TRUE(IpBlock::parse("10.0.0.0/8")->contains("10.200.1.1"));
  EXPECT_FALSE(IpBlock::parse("10.0.0.0/8")->contains("11.0.0.1"));
  EXPECT_TRUE(IpBlock::parse("127.0.0.1")->contains("127.0.0.1"));
  EXPECT_FALSE(IpBlock::parse("127.0.0.1")->contains("127.0.0.2"));
  EXPECT_TRUE(IpBlock::parse("0.0.0.0/0")->contains("192.0.2.1"));
  EXPECT_TRUE(IpBlock::parse("fd00::/8")->contains("fd12::1"));
  EXPECT_FALSE(IpBlock::parse("fd00::/8")->contains("10.0.0.1"));
  EXPECT_FALSE(IpBlock::parse("10.0.0.0/33"));
  EXPECT_FALSE(IpBlock::parse("10.0.0/8"));
  EXPECT_FALSE(IpBlock::parse("host.example"));
  EXPECT_FALSE(IpBlock::parse("10.0.0.1")->contains("not an ip"));
  // Families stay apart: an IPv6 block holds no IPv4 address; a zone is not part of the address.
  EXPECT_FALSE(IpBlock::parse("::/0")->contains("10.0.0.1"));
  EXPECT_FALSE(IpBlock::parse("0.0.0.0/0")->contains("::1"));
  EXPECT_TRUE(IpBlock::parse("fe80::/10")->contains("fe80::1%eth0"));
}

TEST(NormalizePath, ResolvesDotSegmentsAndDecodesUnreservedCharacters) {
  EXPECT_EQ(normalize_path("/api/items?x=1"), "/api/items");
  EXPECT_EQ(normalize_path("/public/../admin"), "/admin");
  EXPECT_EQ(normalize_path("/a/./b/../../c"), "/c");
  EXPECT_EQ(normalize_path("/../../etc"), "/etc");
  EXPECT_EQ(normalize_path("/a/b/.."), "/a/");
  EXPECT_EQ(normalize_path("/%61dmin"), "/admin");
  EXPECT_EQ(normalize_path("/%2e%2E/admin"), "/admin");
  EXPECT_EQ(normalize_path("/a%20b"), "/a%20b");
  EXPECT_EQ(normalize_path("/a%3fb"), "/a%3Fb");
  EXPECT_EQ(normalize_path("/"), "/");
  EXPECT_EQ(normalize_path("//admin"), "/admin");
  EXPECT_EQ(normalize_path("/api//../admin"), "/admin");  // merged first, as a merging app reads it
  EXPECT_EQ(normalize_path("/a//"), "/a/");
  EXPECT_EQ(normalize_path("*"), "*");
  EXPECT_EQ(normalize_path("?x=1"), "/");
  EXPECT_FALSE(normalize_path("/a%2fb"));
  EXPECT_FALSE(normalize_path("/a%5cb"));
  EXPECT_FALSE(normalize_path("/a\\b"));
  EXPECT_FALSE(normalize_path("/a%zz"));
  EXPECT_FALSE(normalize_path("/a%4"));
  EXPECT_FALSE(normalize_path("a/b"));
}

}  // namespace
}  // namespace strait::proxy
