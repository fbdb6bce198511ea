// The cost of the authorization step on an inbound request (src/proxy/authorization.h): a
// workload with ten policies of mixed kinds (principals, namespaces, paths, methods, a header
// condition, a DENY), evaluated for an allowed request and for one the DENY refuses; and the path
// normalization that precedes it.
#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

#include "proxy/authorization.h"

namespace {

using namespace strait::proxy;

AuthzValues values(std::initializer_list<std::string_view> in, bool lower = false) {
  AuthzValues v;
  for (auto s : in) v.values.push_back(AuthzPattern::parse(s, lower));
  return v;
}

std::vector<AuthzPolicy> ten_policies() {
  std::vector<AuthzPolicy> out;
  for (int i = 0; i < 8; ++i) {
    AuthzPolicy p;
    p.name = "shop/allow-" + std::to_string(i);
    AuthzRule rule;
    AuthzSource s;
    s.principals = values({"cluster.local/ns/team-" + std::to_string(i) + "/sa/*"});
    s.namespaces = values({"team-" + std::to_string(i)});
    rule.from.push_back(s);
    AuthzOperation o;
    o.methods = values({"GET", "POST"}, true);
    o.paths = values({"/api/v" + std::to_string(i) + "/*", "/health"});
    rule.to.push_back(o);
    p.rules.push_back(rule);
    out.push_back(std::move(p));
  }
  AuthzPolicy web;
  web.name = "shop/allow-web";
  AuthzRule rule;
  AuthzSource s;
  s.principals = values({"cluster.local/ns/shop/sa/web"});
  rule.from.push_back(s);
  AuthzCondition c;
  c.key = AuthzCondition::Key::kHeader;
  c.name = "x-team";
  c.values = values({"pay*"});
  rule.when.push_back(c);
  web.rules.push_back(rule);
  out.push_back(std::move(web));
  AuthzPolicy deny;
  deny.name = "shop/no-admin";
  deny.action = AuthzPolicy::Action::kDeny;
  AuthzRule admin;
  AuthzOperation o;
  o.paths = values({"/admin*"});
  admin.to.push_back(o);
  deny.rules.push_back(admin);
  out.insert(out.begin(), std::move(deny));
  return out;
}

std::optional<std::string_view> header(const void*, std::string_view name) {
  if (name == "x-team") return std::string_view("payments");
  return std::nullopt;
}

AuthzRequest request(std::string_view path) {
  AuthzRequest r;
  r.principal = "cluster.local/ns/shop/sa/web";
  r.source_namespace = "shop";
  r.source_ip = "127.0.0.1";
  r.port = 9080;
  r.host = "reviews.shop.svc.cluster.local:9080";
  r.method = "GET";
  r.path = path;
  r.header = &header;
  return r;
}

void BM_AuthorizeAllowedAmongTenPolicies(benchmark::State& state) {
  const auto policies = ten_policies();
  const auto r = request("/api/items");
  for (auto _ : state) benchmark::DoNotOptimize(authorize(policies, r));
}
BENCHMARK(BM_AuthorizeAllowedAmongTenPolicies);

void BM_AuthorizeDeniedByTheDeny(benchmark::State& state) {
  const auto policies = ten_policies();
  const auto r = request("/admin/users");
  for (auto _ : state) benchmark::DoNotOptimize(authorize(policies, r));
}
BENCHMARK(BM_AuthorizeDeniedByTheDeny);

void BM_NormalizePath(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(normalize_path("/api/v2/items/12345/reviews?page=2&size=20"));
}
BENCHMARK(BM_NormalizePath);

}  // namespace

BENCHMARK_MAIN();
