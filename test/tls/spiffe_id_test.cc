#include "tls/spiffe_id.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace strait::tls {
namespace {

TEST(SpiffeIdTest, ParsesTheMeshShape) {
  const auto id = parse_spiffe_id("spiffe://cluster.local/ns/default/sa/reviews");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->trust_domain, "cluster.local");
  EXPECT_EQ(id->ns, "default");
  EXPECT_EQ(id->service_account, "reviews");
}

TEST(SpiffeIdTest, AcceptsTheWholeCharset) {
  const auto id =
      parse_spiffe_id("spiffe://prod-1_eu.example.org/ns/Team.A-b_9/sa/Svc-Account_2.v1");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->trust_domain, "prod-1_eu.example.org");
  EXPECT_EQ(id->ns, "Team.A-b_9");  // path segments may use upper case
  EXPECT_EQ(id->service_account, "Svc-Account_2.v1");
}

TEST(SpiffeIdTest, NamesThatLookLikeKeywords) {
  // A namespace called "sa" and an account called "ns" are still plain segments.
  const auto id = parse_spiffe_id("spiffe://td/ns/sa/sa/ns");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->ns, "sa");
  EXPECT_EQ(id->service_account, "ns");
  // Dots inside a segment are fine; only "." and ".." alone are refused.
  EXPECT_TRUE(parse_spiffe_id("spiffe://td/ns/.hidden/sa/a..b"));
}

TEST(SpiffeIdTest, UriRoundTrips) {
  for (const std::string_view text :
       {"spiffe://cluster.local/ns/default/sa/reviews",
        "spiffe://example.org/ns/prod/sa/ratings-v2", "spiffe://td/ns/sa/sa/ns"}) {
    const auto id = parse_spiffe_id(text);
    ASSERT_TRUE(id) << text;
    EXPECT_EQ(id->uri(), text);
    EXPECT_EQ(parse_spiffe_id(id->uri()), id);
  }
  const SpiffeId built{"example.org", "shop", "cart"};
  EXPECT_EQ(built.uri(), "spiffe://example.org/ns/shop/sa/cart");
  EXPECT_EQ(parse_spiffe_id(built.uri()), built);
}

TEST(SpiffeIdTest, RejectsOtherSchemes) {
  for (const std::string_view text :
       {"https://cluster.local/ns/default/sa/reviews",
        "SPIFFE://cluster.local/ns/default/sa/reviews",
        "spiffe:/cluster.local/ns/default/sa/reviews", "spiffe:cluster.local/ns/default/sa/reviews",
        "cluster.local/ns/default/sa/reviews", " spiffe://cluster.local/ns/default/sa/reviews",
        ""}) {
    EXPECT_FALSE(parse_spiffe_id(text)) << text;
  }
}

TEST(SpiffeIdTest, RejectsOtherPaths) {
  for (const std::string_view text : {
           "spiffe://cluster.local",
           "spiffe://cluster.local/",
           "spiffe://cluster.local/sa/reviews",
           "spiffe://cluster.local/default/sa/reviews",
           "spiffe://cluster.local/namespace/default/sa/reviews",
           "spiffe://cluster.local/ns/default",
           "spiffe://cluster.local/ns/default/",
           "spiffe://cluster.local/ns/default/serviceaccount/reviews",
           "spiffe://cluster.local/NS/default/SA/reviews",
           "spiffe://cluster.local/x/ns/default/sa/reviews",
       }) {
    EXPECT_FALSE(parse_spiffe_id(text)) << text;
  }
}

TEST(SpiffeIdTest, RejectsExtraSegments) {
  for (const std::string_view text : {
           "spiffe://cluster.local/ns/default/sa/reviews/extra",
           "spiffe://cluster.local/ns/default/sa/reviews/",
           "spiffe://cluster.local/ns/default/sa/reviews/sa/other",
           "spiffe://cluster.local/ns/a/b/sa/reviews",
           "spiffe://cluster.local/ns/default/sa/reviews//",
       }) {
    EXPECT_FALSE(parse_spiffe_id(text)) << text;
  }
}

TEST(SpiffeIdTest, RejectsEmptySegments) {
  for (const std::string_view text : {
           "spiffe:///ns/default/sa/reviews",
           "spiffe://cluster.local/ns//sa/reviews",
           "spiffe://cluster.local/ns/default/sa/",
           "spiffe://cluster.local//ns/default/sa/reviews",
       }) {
    EXPECT_FALSE(parse_spiffe_id(text)) << text;
  }
}

TEST(SpiffeIdTest, RejectsDotSegments) {
  for (const std::string_view text : {
           "spiffe://cluster.local/ns/./sa/reviews",
           "spiffe://cluster.local/ns/../sa/reviews",
           "spiffe://cluster.local/ns/default/sa/.",
           "spiffe://cluster.local/ns/default/sa/..",
       }) {
    EXPECT_FALSE(parse_spiffe_id(text)) << text;
  }
}

TEST(SpiffeIdTest, RejectsUpperCaseTrustDomain) {
  EXPECT_FALSE(parse_spiffe_id("spiffe://Cluster.local/ns/default/sa/reviews"));
  EXPECT_FALSE(parse_spiffe_id("spiffe://CLUSTER.LOCAL/ns/default/sa/reviews"));
}

TEST(SpiffeIdTest, RejectsBadCharacters) {
  for (const std::string_view text : {
           "spiffe://cluster.local:8443/ns/default/sa/reviews",  // no port
           "spiffe://user@cluster.local/ns/default/sa/reviews",  // no userinfo
           "spiffe://clus ter.local/ns/default/sa/reviews",
           "spiffe://cluster.local/ns/de fault/sa/reviews",
           "spiffe://cluster.local/ns/default/sa/re%20views",    // no percent-encoding
           "spiffe://cluster.local/ns/default/sa/reviews?x=1",   // no query
           "spiffe://cluster.local/ns/default/sa/reviews#frag",  // no fragment
           "spiffe://cluster.local/ns/default/sa/revi\xc3\xa9ws",
           "spiffe://cluster.local/ns/default/sa/rev:iews",
           "spiffe://cluster.local/ns/default/sa/reviews\n",
       }) {
    EXPECT_FALSE(parse_spiffe_id(text)) << text;
  }
  const std::string with_nul("spiffe://cluster.local/ns/default/sa/rev\0iews", 45);
  EXPECT_FALSE(parse_spiffe_id(with_nul));
}

}  // namespace
}  // namespace strait::tls
