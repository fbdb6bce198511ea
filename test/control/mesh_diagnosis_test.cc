// describe workload and check mtls over stored config and registered workloads.
#include "control/mesh_diagnosis.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/resource.h"
#include "support/stored_resources.h"

namespace strait::control {
namespace {

using strait::testing::stored;

RegisteredWorkload workload(const std::string& name, const std::string& app, std::uint32_t port,
                            std::uint32_t target_port) {
  RegisteredWorkload w;
  w.proxy_id = name + ".shop";
  w.node.set_workload(name);
  w.node.set_namespace_("shop");
  w.node.set_service_account(app);
  (*w.node.mutable_labels())["app"] = app;
  auto* p = w.node.add_ports();
  p->set_service(app);
  p->set_port(port);
  p->set_target_port(target_port);
  p->set_protocol("http");
  w.node.set_inbound_address("127.0.0.1:1" + std::to_string(target_port % 10000));
  w.identity = "spiffe://cluster.local/ns/shop/sa/" + app;
  return w;
}

constexpr std::string_view kPolicies = R"(
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: strait-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: reviews, namespace: shop}
spec:
  selector: {matchLabels: {app: reviews}}
  portLevelMtls: {19090: {mode: DISABLE}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-readers, namespace: shop}
spec:
  selector: {matchLabels: {app: reviews}}
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: audit-all
  namespace: strait-system
  annotations: {istio.io/dry-run: "true"}
spec: {action: DENY, rules: [{to: [{operation: {paths: [/admin]}}]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: web-only, namespace: shop}
spec: {selector: {matchLabels: {app: web}}}
)";

class MeshDiagnosisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    resources_ = stored(kPolicies);
    auto reviews = workload("reviews-v1", "reviews", 9080, 19080);
    auto* second = reviews.node.add_ports();
    second->set_service("reviews-admin");
    second->set_port(9090);
    second->set_target_port(19090);
    workloads_ = {reviews, workload("web-1", "web", 8080, 18080)};
  }
  DiagnosisInputs inputs() const { return {&resources_, &workloads_, nullptr}; }
  std::vector<store::StoredResource> resources_;
  std::vector<RegisteredWorkload> workloads_;
};

TEST_F(MeshDiagnosisTest, DescribeShowsModesPerPortAndThePoliciesThatSelect) {
  const auto out = describe_workload(inputs(), {"shop", "reviews-v1"});
  ASSERT_FALSE(out.is_null());
  EXPECT_EQ(out["mtls"]["mode"], "STRICT");
  EXPECT_EQ(out["mtls"]["source"], "strait-system/default");
  ASSERT_EQ(out["ports"].size(), 2u);
  EXPECT_EQ(out["ports"][0]["mtls"]["mode"], "STRICT");
  EXPECT_EQ(out["ports"][1]["mtls"]["mode"], "DISABLE");
  EXPECT_EQ(out["ports"][1]["mtls"]["source"], "shop/reviews/portLevelMtls/19090");
  ASSERT_EQ(out["peerAuthentications"].size(), 2u);
  ASSERT_EQ(out["authorizationPolicies"].size(), 2u);  // not web-only
  EXPECT_EQ(out["authorizationPolicies"][0]["name"], "reviews-readers");
  EXPECT_EQ(out["authorizationPolicies"][1]["dryRun"], true);
  EXPECT_NE(out["authorizationDefault"].get<std::string>().find("deny"), std::string::npos);
  EXPECT_TRUE(describe_workload(inputs(), {"shop", "nobody"}).is_null());
}

TEST_F(MeshDiagnosisTest, CheckTellsMtlsPlaintextAndRefusedApart) {
  const auto from_web =
      check_mtls(inputs(), WorkloadRef{"shop", "web-1"}, {"shop", "reviews-v1"}, 0);
  ASSERT_TRUE(from_web) << from_web.error();
  ASSERT_EQ((*from_web)["ports"].size(), 2u);
  EXPECT_EQ((*from_web)["ports"][0]["result"], "mTLS");
  EXPECT_EQ((*from_web)["ports"][1]["result"], "plaintext");  // DISABLE: auto-mTLS sends plaintext
  const auto external = check_mtls(inputs(), std::nullopt, {"shop", "reviews-v1"}, 0);
  ASSERT_TRUE(external) << external.error();
  EXPECT_EQ((*external)["ports"][0]["result"], "refused");
  EXPECT_NE((*external)["ports"][0]["reason"].get<std::string>().find("strait-system/default"),
            std::string::npos);
  EXPECT_EQ((*external)["ports"][1]["result"], "plaintext");
  const auto one_port = check_mtls(inputs(), std::nullopt, {"shop", "reviews-v1"}, 9090);
  ASSERT_TRUE(one_port);
  EXPECT_EQ((*one_port)["ports"].size(), 1u);
  // Without the mesh-wide STRICT, the external caller is accepted in plaintext (PERMISSIVE).
  resources_.erase(resources_.begin());
  const auto permissive = check_mtls(inputs(), std::nullopt, {"shop", "reviews-v1"}, 9080);
  ASSERT_TRUE(permissive);
  EXPECT_EQ((*permissive)["ports"][0]["result"], "plaintext");
  EXPECT_EQ((*permissive)["ports"][0]["serverMode"], "PERMISSIVE");
}

TEST_F(MeshDiagnosisTest, CheckNamesWhatItCannotFind) {
  auto unknown_from = check_mtls(inputs(), WorkloadRef{"shop", "ghost"}, {"shop", "reviews-v1"}, 0);
  ASSERT_FALSE(unknown_from);
  EXPECT_NE(unknown_from.error().find("external"), std::string::npos);
  auto unknown_to = check_mtls(inputs(), std::nullopt, {"shop", "ghost"}, 0);
  ASSERT_FALSE(unknown_to);
  auto no_port = check_mtls(inputs(), std::nullopt, {"shop", "reviews-v1"}, 1234);
  ASSERT_FALSE(no_port);
  EXPECT_EQ(no_port.error(), "reviews-v1 serves no port 1234");
}

TEST_F(MeshDiagnosisTest, AServiceEntryEndpointIsCalledInPlaintext) {
  auto entry = stored(R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: legacy, namespace: shop}
spec:
  hosts: [legacy.shop.svc.cluster.local]
  ports: [{number: 8000, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
)");
  resources_.insert(resources_.end(), entry.begin(), entry.end());
  const auto view = compile_view({&resources_, &workloads_, "BUNDLE", "cluster.local"});
  const auto answer = check_mtls({&resources_, &workloads_, &view}, WorkloadRef{"shop", "web-1"},
                                 {"shop", "legacy-0"}, 0);
  ASSERT_TRUE(answer) << answer.error();
  EXPECT_EQ((*answer)["to"]["sidecar"], false);
  EXPECT_EQ((*answer)["ports"][0]["result"], "plaintext");
}

}  // namespace
}  // namespace strait::control
