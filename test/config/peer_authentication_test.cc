// Istio's PeerAuthentication precedence: workload over namespace over mesh, UNSET inheriting, and
// portLevelMtls overriding the selected workload's mode per target port.
#include "config/peer_authentication.h"

#include <gtest/gtest.h>

#include <vector>

namespace strait::config {
namespace {

using Mode = security::v1::PeerAuthentication::MutualTLS;

NamedPeerAuthentication policy(std::string ns, std::string name, Mode::Mode mode,
                               std::map<std::string, std::string> selector = {},
                               std::map<std::uint32_t, Mode::Mode> ports = {}) {
  NamedPeerAuthentication p{std::move(ns), std::move(name), {}};
  if (mode != Mode::UNSET) p.spec.mutable_mtls()->set_mode(mode);
  for (const auto& [k, v] : selector) (*p.spec.mutable_selector()->mutable_match_labels())[k] = v;
  for (const auto& [port, m] : ports) (*p.spec.mutable_port_level_mtls())[port].set_mode(m);
  return p;
}

const std::map<std::string, std::string> kReviewsV1{{"app", "reviews"}, {"version", "v1"}};

TEST(PeerAuthenticationTest, WithoutAnyPolicyEveryPortIsPermissive) {
  const auto mtls = effective_mtls({}, "shop", kReviewsV1);
  EXPECT_EQ(mtls.workload.mode, MtlsMode::kPermissive);
  EXPECT_EQ(mtls.workload.source, "");
  EXPECT_EQ(mtls.for_port(19080).mode, MtlsMode::kPermissive);
}

TEST(PeerAuthenticationTest, WorkloadOverNamespaceOverMesh) {
  std::vector<NamedPeerAuthentication> policies{
      policy("strait-system", "default", Mode::STRICT),
  };
  EXPECT_EQ(effective_mtls(policies, "shop", kReviewsV1).workload,
            (MtlsSetting{MtlsMode::kStrict, "strait-system/default"}));
  policies.push_back(policy("shop", "default", Mode::PERMISSIVE));
  EXPECT_EQ(effective_mtls(policies, "shop", kReviewsV1).workload,
            (MtlsSetting{MtlsMode::kPermissive, "shop/default"}));
  // Another namespace keeps the mesh's mode.
  EXPECT_EQ(effective_mtls(policies, "billing", kReviewsV1).workload.mode, MtlsMode::kStrict);
  policies.push_back(policy("shop", "reviews", Mode::DISABLE, {{"app", "reviews"}}));
  EXPECT_EQ(effective_mtls(policies, "shop", kReviewsV1).workload,
            (MtlsSetting{MtlsMode::kDisable, "shop/reviews"}));
  // A workload the selector does not pick keeps the namespace's.
  EXPECT_EQ(effective_mtls(policies, "shop", {{"app", "web"}}).workload.mode,
            MtlsMode::kPermissive);
}

TEST(PeerAuthenticationTest, UnsetInheritsFromTheBroaderLevel) {
  const std::vector<NamedPeerAuthentication> policies{
      policy("strait-system", "default", Mode::STRICT),
      policy("shop", "default", Mode::UNSET),
      policy("shop", "reviews", Mode::UNSET, {{"app", "reviews"}}, {{19080, Mode::PERMISSIVE}}),
  };
  const auto mtls = effective_mtls(policies, "shop", kReviewsV1);
  EXPECT_EQ(mtls.workload, (MtlsSetting{MtlsMode::kStrict, "strait-system/default"}));
  EXPECT_EQ(mtls.for_port(19080),
            (MtlsSetting{MtlsMode::kPermissive, "shop/reviews/portLevelMtls/19080"}));
  EXPECT_EQ(mtls.for_port(19081).mode, MtlsMode::kStrict);
}

TEST(PeerAuthenticationTest, PortLevelModesOverrideOnlyTheirPorts) {
  const std::vector<NamedPeerAuthentication> policies{
      policy("shop", "reviews", Mode::STRICT, {{"app", "reviews"}},
             {{19080, Mode::DISABLE}, {19090, Mode::UNSET}}),
  };
  const auto mtls = effective_mtls(policies, "shop", kReviewsV1);
  EXPECT_EQ(mtls.workload.mode, MtlsMode::kStrict);
  EXPECT_EQ(mtls.for_port(19080).mode, MtlsMode::kDisable);
  EXPECT_EQ(mtls.for_port(19090).mode, MtlsMode::kStrict);  // UNSET: the workload's
  EXPECT_EQ(mtls.ports.size(), 1u);
}

TEST(PeerAuthenticationTest, ANamespaceStrictHoldsOnEveryPort) {
  const std::vector<NamedPeerAuthentication> policies{policy("shop", "default", Mode::STRICT)};
  const auto mtls = effective_mtls(policies, "shop", kReviewsV1);
  EXPECT_EQ(mtls.workload, (MtlsSetting{MtlsMode::kStrict, "shop/default"}));
  EXPECT_TRUE(mtls.ports.empty());
  EXPECT_EQ(mtls.for_port(19080).mode, MtlsMode::kStrict);
}

TEST(PeerAuthenticationTest, SelectorsInTheRootNamespaceApplyToNoWorkload) {
  // As Istio (composePeerAuthentication): only the workload's own namespace's selectors count.
  std::vector<NamedPeerAuthentication> policies{
      policy("strait-system", "reviews-disable", Mode::DISABLE, {{"app", "reviews"}}),
      policy("shop", "default", Mode::STRICT),
  };
  EXPECT_EQ(effective_mtls(policies, "shop", kReviewsV1).workload,
            (MtlsSetting{MtlsMode::kStrict, "shop/default"}));
  EXPECT_EQ(effective_mtls(policies, "strait-system", kReviewsV1).workload.mode,
            MtlsMode::kPermissive);
}

TEST(PeerAuthenticationTest, TwoPoliciesAtOneLevelResolveByName) {
  const std::vector<NamedPeerAuthentication> policies{
      policy("shop", "b", Mode::STRICT),
      policy("shop", "a", Mode::DISABLE),
  };
  EXPECT_EQ(effective_mtls(policies, "shop", kReviewsV1).workload.source, "shop/a");
}

TEST(PeerAuthenticationTest, OtherNamespacesPoliciesDoNotApply) {
  const std::vector<NamedPeerAuthentication> policies{
      policy("billing", "default", Mode::STRICT),
      policy("billing", "reviews", Mode::STRICT, {{"app", "reviews"}}),
  };
  EXPECT_EQ(effective_mtls(policies, "shop", kReviewsV1).workload.mode, MtlsMode::kPermissive);
}

}  // namespace
}  // namespace strait::config
