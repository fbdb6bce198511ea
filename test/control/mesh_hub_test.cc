#include "control/mesh_hub.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

namespace strait::control {
namespace {

class RecordingSink final : public StreamSink {
 public:
  void send(mesh::v1::DiscoveryResponse response) override { sent.push_back(std::move(response)); }
  void close(const std::string& reason) override { closed = reason; }
  bool send_tap(std::uint32_t seconds) override {
    taps.push_back(seconds);
    return true;
  }
  std::vector<std::uint32_t> taps;
  std::vector<mesh::v1::DiscoveryResponse> sent;
  std::string closed;
};

mesh::v1::Node node(const std::string& workload, const std::string& sa = "reviews") {
  mesh::v1::Node n;
  n.set_workload(workload);
  n.set_namespace_("shop");
  n.set_service_account(sa);
  auto* port = n.add_ports();
  port->set_service("reviews");
  port->set_port(9080);
  port->set_protocol("http");
  n.set_inbound_address("127.0.0.1:16001");
  return n;
}

const std::string kReviews = "spiffe://cluster.local/ns/shop/sa/reviews";

class MeshHubTest : public ::testing::Test {
 protected:
  MeshHubOptions options() {
    MeshHubOptions o;
    o.debounce = std::chrono::milliseconds(1);
    o.grace = std::chrono::milliseconds(0);
    return o;
  }
  // Runs the hub's main-thread work (debounced pushes) for a moment.
  void settle(std::chrono::milliseconds how_long = std::chrono::milliseconds(30)) {
    io_.restart();
    io_.run_for(how_long);
  }
  nlohmann::json status(const std::string& id) { return hub_.proxy_json(id); }
  asio::io_context io_;
  MeshHub hub_{io_, "BUNDLE", "cluster.local", options()};
};

TEST_F(MeshHubTest, PushesTheViewAndTracksAcks) {
  auto sink = std::make_shared<RecordingSink>();
  auto id = hub_.attach(sink, node("reviews-v1"), kReviews);
  ASSERT_TRUE(id) << id.error();
  EXPECT_EQ(*id, "reviews-v1.shop");
  settle();
  ASSERT_EQ(sink->sent.size(), 1u);
  const auto push = sink->sent.back();
  EXPECT_FALSE(push.nonce().empty());
  EXPECT_EQ(status(*id)["status"], "STALE");  // sent, not yet acknowledged

  mesh::v1::DiscoveryRequest ack;
  ack.set_response_nonce(push.nonce());
  ack.set_version_info(push.version_info());
  ack.set_certificate_not_after_unix(4'000'000'000);
  hub_.answer(sink.get(), ack);
  EXPECT_EQ(status(*id)["status"], "SYNCED");
  EXPECT_EQ(status(*id)["ackedVersion"], push.version_info());
  EXPECT_TRUE(status(*id).contains("certificateExpiry"));
  EXPECT_FALSE(hub_.proxy_config_json(*id)["resources"].empty());

  // A config change becomes one more push; an unchanged view is not pushed again.
  hub_.set_resources({});
  settle();
  EXPECT_EQ(sink->sent.size(), 1u);
  store::StoredResource vs;
  vs.kind = "VirtualService";
  vs.ns = "shop";
  vs.name = "reviews";
  hub_.set_resources({vs});
  hub_.set_resources({vs});
  settle();
  ASSERT_EQ(sink->sent.size(), 2u);
  EXPECT_NE(sink->sent[1].version_info(), push.version_info());
}

TEST_F(MeshHubTest, ATapIsToldToItsProxyAndItsEventsAreRead) {
  auto sink = std::make_shared<RecordingSink>();
  auto tappable = node("reviews-v1");
  tappable.add_capabilities("tap");
  auto id = hub_.attach(sink, tappable, kReviews);
  ASSERT_TRUE(id) << id.error();
  EXPECT_TRUE(hub_.tap_json("nobody.shop", 0, std::chrono::seconds(30), 100)->is_null());

  auto first = hub_.tap_json(*id, std::nullopt, std::chrono::seconds(30), 100);
  ASSERT_TRUE(first) << first.error();
  EXPECT_EQ((*first)["events"].size(), 0u);
  EXPECT_EQ(sink->taps, std::vector<std::uint32_t>{30});
  // A reader polling again soon does not tell the proxy again.
  ASSERT_TRUE(hub_.tap_json(*id, 0, std::chrono::seconds(30), 100));
  EXPECT_EQ(sink->taps.size(), 1u);

  mesh::v1::TapBatch batch;
  batch.add_events()->set_path("/reviews/1");
  batch.add_events()->set_path("/reviews/2");
  hub_.report_tap(sink.get(), batch);
  auto page = hub_.tap_json(*id, 0, std::chrono::seconds(30), 100);
  ASSERT_TRUE(page);
  ASSERT_EQ((*page)["events"].size(), 2u);
  EXPECT_EQ((*page)["events"][1]["path"], "/reviews/2");
  EXPECT_EQ((*page)["next"], 2);
  EXPECT_EQ((*page)["proxy"], "reviews-v1.shop");

  // A new stream of the same proxy is told at once, not a third of the lease later.
  auto reconnected = std::make_shared<RecordingSink>();
  ASSERT_TRUE(hub_.attach(reconnected, tappable, kReviews));
  ASSERT_TRUE(hub_.tap_json(*id, 2, std::chrono::seconds(30), 100));
  EXPECT_EQ(reconnected->taps, std::vector<std::uint32_t>{30});

  // A proxy whose stream ended cannot be tapped.
  hub_.detach(reconnected.get());
  auto gone = hub_.tap_json(*id, 0, std::chrono::seconds(30), 100);
  ASSERT_FALSE(gone);
  EXPECT_NE(gone.error().find("not connected"), std::string::npos);
}

TEST_F(MeshHubTest, AProxyFromBeforeTapsIsNotTapped) {
  // It would take a TapControl for a view with nothing in it.
  auto sink = std::make_shared<RecordingSink>();
  auto old = node("reviews-v1");
  old.set_proxy_version("0.0.9");
  auto id = hub_.attach(sink, old, kReviews);
  ASSERT_TRUE(id) << id.error();
  auto refused = hub_.tap_json(*id, std::nullopt, std::chrono::seconds(30), 100);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("runs strait-proxy 0.0.9, which cannot be tapped"),
            std::string::npos);
  EXPECT_TRUE(sink->taps.empty());
}

TEST_F(MeshHubTest, ARootRotationSeesWhoHoldsTheBundleAndWhoSignedTheirCertificate) {
  auto sink = std::make_shared<RecordingSink>();
  auto id = hub_.attach(sink, node("reviews-v1"), kReviews);
  ASSERT_TRUE(id);
  hub_.set_trust("OLD+NEW", "old-signer");
  settle();
  ASSERT_FALSE(sink->sent.empty());
  EXPECT_EQ(hub_.proxies_without_bundle("OLD+NEW"), std::vector<std::string>{"reviews-v1.shop"});
  const auto push = sink->sent.back();
  bool carries = false;
  for (const auto& r : push.resources()) {
    mesh::v1::TrustBundle bundle;
    if (r.body().UnpackTo(&bundle) && r.body().Is<mesh::v1::TrustBundle>()) {
      carries = bundle.pem() == "OLD+NEW" && bundle.signer_key_id() == "old-signer";
    }
  }
  EXPECT_TRUE(carries);
  mesh::v1::DiscoveryRequest ack;
  ack.set_response_nonce(push.nonce());
  ack.set_version_info(push.version_info());
  ack.set_certificate_issuer_key_id("old-signer");
  hub_.answer(sink.get(), ack);
  EXPECT_TRUE(hub_.proxies_without_bundle("OLD+NEW").empty());
  EXPECT_EQ(hub_.proxies_not_signed_by("new-signer"), std::vector<std::string>{"reviews-v1.shop"});
  mesh::v1::DiscoveryRequest renewed;
  renewed.set_certificate_issuer_key_id("new-signer");
  hub_.answer(sink.get(), renewed);
  EXPECT_TRUE(hub_.proxies_not_signed_by("new-signer").empty());
  EXPECT_EQ(status(*id)["certificateIssuerKeyId"], "new-signer");
}

TEST_F(MeshHubTest, NackIsReportedWithItsError) {
  auto sink = std::make_shared<RecordingSink>();
  auto id = hub_.attach(sink, node("reviews-v1"), kReviews);
  ASSERT_TRUE(id);
  settle();
  ASSERT_EQ(sink->sent.size(), 1u);
  mesh::v1::DiscoveryRequest nack;
  nack.set_response_nonce(sink->sent[0].nonce());
  nack.set_error_detail("bad regex");
  hub_.answer(sink.get(), nack);
  auto s = status(*id);
  EXPECT_EQ(s["status"], "NACKED");
  EXPECT_EQ(s["error"], "bad regex");
  // An answer to an older nonce changes nothing.
  mesh::v1::DiscoveryRequest stale;
  stale.set_response_nonce("n-old");
  hub_.answer(sink.get(), stale);
  EXPECT_EQ(status(*id)["status"], "NACKED");
}

TEST_F(MeshHubTest, RefusesANodeThatClaimsAnotherIdentity) {
  auto sink = std::make_shared<RecordingSink>();
  auto id = hub_.attach(sink, node("web-1", "web"), kReviews);
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().find("differ from the certificate"), std::string::npos);
}

TEST_F(MeshHubTest, RefusesRegistrationsOtherProxiesCouldNotUse) {
  auto sink = std::make_shared<RecordingSink>();
  auto unspecified = node("reviews-v1");
  unspecified.set_inbound_address("0.0.0.0:15006");
  EXPECT_NE(hub_.attach(sink, unspecified, kReviews).error().find("--advertise-addr"), std::string::npos);
  auto by_name = node("reviews-v1");
  by_name.set_inbound_address("reviews.local:15006");
  EXPECT_NE(hub_.attach(sink, by_name, kReviews).error().find("must be IP:PORT"), std::string::npos);
  auto protocol = node("reviews-v1");
  protocol.mutable_ports(0)->set_protocol("xyz");
  EXPECT_NE(hub_.attach(sink, protocol, kReviews).error().find("unknown protocol"), std::string::npos);
  EXPECT_NE(hub_.attach(sink, node("reviews-v1"), "spiffe://other.domain/ns/shop/sa/reviews").error().find("trust domain"),
            std::string::npos);
  EXPECT_TRUE(hub_.proxies_json()["items"].empty());
}

TEST_F(MeshHubTest, ALiveRegistrationIsNotTakenOver) {
  auto owner = std::make_shared<RecordingSink>();
  ASSERT_TRUE(hub_.attach(owner, node("reviews-v1"), kReviews));
  // Another identity of the namespace claiming the same workload name.
  auto intruder = node("reviews-v1", "web");
  auto refused = hub_.attach(std::make_shared<RecordingSink>(), intruder, "spiffe://cluster.local/ns/shop/sa/web");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("is registered by"), std::string::npos);
  // A second instance with the same name elsewhere.
  auto twin = node("reviews-v1");
  twin.set_inbound_address("127.0.0.1:16099");
  auto second = hub_.attach(std::make_shared<RecordingSink>(), twin, kReviews);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().find("already connected"), std::string::npos);
  EXPECT_TRUE(owner->closed.empty());
  EXPECT_EQ(status("reviews-v1.shop")["address"], "127.0.0.1:16001");
}

TEST_F(MeshHubTest, NewStreamReplacesTheOldAndDisconnectedProxiesExpire) {
  auto first = std::make_shared<RecordingSink>();
  auto second = std::make_shared<RecordingSink>();
  ASSERT_TRUE(hub_.attach(first, node("reviews-v1"), kReviews));
  ASSERT_TRUE(hub_.attach(second, node("reviews-v1"), kReviews));
  EXPECT_FALSE(first->closed.empty());
  settle();
  EXPECT_EQ(hub_.proxies_json()["items"].size(), 1u);
  hub_.detach(second.get());
  EXPECT_EQ(status("reviews-v1.shop")["status"], "DISCONNECTED");
  settle(std::chrono::milliseconds(1100));  // the grace timer runs every second
  EXPECT_TRUE(status("reviews-v1.shop").is_null());
}

TEST_F(MeshHubTest, ADrainingProxyLeavesAtOnce) {
  auto leaving = std::make_shared<RecordingSink>();
  auto staying = std::make_shared<RecordingSink>();
  ASSERT_TRUE(hub_.attach(leaving, node("reviews-v1"), kReviews));
  auto other = node("reviews-v2");
  other.set_inbound_address("127.0.0.1:16002");
  ASSERT_TRUE(hub_.attach(staying, other, kReviews));
  settle();
  ASSERT_EQ(hub_.service_json("shop", "reviews")["endpoints"].size(), 2u);
  const auto pushes = staying->sent.size();
  mesh::v1::DiscoveryRequest bye;
  bye.set_leaving(true);
  hub_.answer(leaving.get(), bye);
  EXPECT_TRUE(status("reviews-v1.shop").is_null());
  settle();
  EXPECT_EQ(staying->sent.size(), pushes + 1);  // the others learn at once
  EXPECT_EQ(hub_.service_json("shop", "reviews")["endpoints"].size(), 1u);
}

TEST_F(MeshHubTest, DescribesServicesFromTheView) {
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(hub_.attach(sink, node("reviews-v1"), kReviews));
  settle();
  auto service = hub_.service_json("shop", "reviews");
  ASSERT_FALSE(service.is_null());
  EXPECT_EQ(service["hostname"], "reviews.shop.svc.cluster.local");
  ASSERT_EQ(service["endpoints"].size(), 1u);
  EXPECT_EQ(service["endpoints"][0]["health"], "healthy");
  EXPECT_TRUE(hub_.service_json("shop", "nope").is_null());
}

}  // namespace
}  // namespace strait::control
