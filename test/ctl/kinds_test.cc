#include "ctl/kinds.h"

#include <gtest/gtest.h>

namespace strait::ctl {
namespace {

std::string kind_of(std::string_view name) {
  auto k = resolve_kind(name);
  return k ? std::string((*k)->kind) : "error: " + k.error();
}

TEST(KindsTest, ExactSingularPluralAndShortNames) {
  EXPECT_EQ(kind_of("VirtualService"), "VirtualService");
  EXPECT_EQ(kind_of("virtualservice"), "VirtualService");
  EXPECT_EQ(kind_of("virtualservices"), "VirtualService");
  EXPECT_EQ(kind_of("vs"), "VirtualService");
  EXPECT_EQ(kind_of("dr"), "DestinationRule");
  EXPECT_EQ(kind_of("destinationrules"), "DestinationRule");
  EXPECT_EQ(kind_of("se"), "ServiceEntry");
  EXPECT_EQ(kind_of("serviceentries"), "ServiceEntry");
  EXPECT_EQ(kind_of("we"), "WorkloadEntry");
  EXPECT_EQ(kind_of("workloadentries"), "WorkloadEntry");
  EXPECT_EQ(kind_of("sidecar"), "Sidecar");
  EXPECT_EQ(kind_of("sidecars"), "Sidecar");
  EXPECT_EQ(kind_of("pa"), "PeerAuthentication");
  EXPECT_EQ(kind_of("ap"), "AuthorizationPolicy");
  EXPECT_EQ(kind_of("authorizationpolicies"), "AuthorizationPolicy");
  EXPECT_EQ(kind_of("ra"), "RequestAuthentication");
  EXPECT_EQ(kind_of("requestauthentications"), "RequestAuthentication");
  EXPECT_EQ(kind_of("telemetry"), "Telemetry");
  EXPECT_EQ(kind_of("telemetries"), "Telemetry");
}

TEST(KindsTest, CaseInsensitiveAndGroupQualified) {
  EXPECT_EQ(kind_of("VS"), "VirtualService");
  EXPECT_EQ(kind_of("virtualServices"), "VirtualService");
  EXPECT_EQ(kind_of("virtualservices.networking.istio.io"), "VirtualService");
  EXPECT_EQ(kind_of("AuthorizationPolicy.security.istio.io"), "AuthorizationPolicy");
  EXPECT_TRUE(kind_of("virtualservices.security.istio.io").starts_with("error: "));
}

TEST(KindsTest, EveryKnownKindResolves) {
  for (const auto& info : config::all_kinds()) EXPECT_EQ(kind_of(info.kind), info.kind);
}

TEST(KindsTest, UnknownKindListsAcceptedNames) {
  auto k = resolve_kind("pods");
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().find("unknown kind 'pods'"), std::string::npos) << k.error();
  EXPECT_NE(k.error().find("virtualservices (vs)"), std::string::npos) << k.error();
  EXPECT_NE(k.error().find("telemetries"), std::string::npos) << k.error();
  EXPECT_EQ(k.error().find('\n'), std::string::npos);
  EXPECT_FALSE(resolve_kind(""));
  EXPECT_FALSE(resolve_kind("v"));
}

TEST(KindsTest, QualifiedNames) {
  EXPECT_EQ(qualified_name("VirtualService", "reviews"),
            "virtualservice.networking.istio.io/reviews");
  EXPECT_EQ(qualified_name("PeerAuthentication", "default"),
            "peerauthentication.security.istio.io/default");
  EXPECT_EQ(qualified_name("Telemetry", "t"), "telemetry.telemetry.istio.io/t");
  EXPECT_EQ(qualified_name("Gadget", "x"), "gadget/x");
}

}  // namespace
}  // namespace strait::ctl
