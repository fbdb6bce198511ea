// The istio_* metrics: series tables, histograms, label text, rendering, peer metadata and the
// labels each side of a call reports.
#include <gtest/gtest.h>

#include <string>

#include "proxy/istio_metrics.h"
#include "proxy/peer_metadata.h"
#include "proxy/router.h"
#include "proxy/snapshot.h"
#include "proxy/telemetry_labels.h"

namespace strait::proxy {
namespace {

TEST(IstioHistogram, CountsEachObservationInTheFirstBucketThatHoldsIt) {
  IstioHistogram h;
  h.observe(400, 1000.0);                // 0.4 ms: le 0.5
  h.observe(500, 1000.0);                // 0.5 ms: le 0.5 (bounds are inclusive)
  h.observe(501, 1000.0);                // le 1
  h.observe(30'000, 1000.0);             // 30 ms: le 50
  h.observe(1'000'000'000'000, 1000.0);  // past every bound: +Inf
  EXPECT_EQ(h.bucket(0), 2u);
  EXPECT_EQ(h.bucket(1), 1u);
  EXPECT_EQ(h.bucket(5), 1u);
  EXPECT_EQ(h.bucket(kIstioBuckets.size()), 1u);
  EXPECT_EQ(h.sum(), 400u + 500 + 501 + 30'000 + 1'000'000'000'000);
}

TEST(SeriesTable, FindsTheSameSeriesForTheSameLabelsAndANewOneOtherwise) {
  SeriesTable<HttpSeries> table(8);
  HttpSeries* a = table.find_or_add("reporter=\"source\"");
  HttpSeries* b = table.find_or_add("reporter=\"destination\"");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(table.find_or_add("reporter=\"source\""), a);
  int seen = 0;
  table.for_each([&](std::string_view labels, const HttpSeries&) {
    ++seen;
    EXPECT_TRUE(labels == "reporter=\"source\"" || labels == "reporter=\"destination\"");
  });
  EXPECT_EQ(seen, 2);
}

TEST(SeriesTable, AFullTableDropsNewSeriesAndKeepsServingKnownOnes) {
  SeriesTable<TcpSeries> table(4);
  for (int i = 0; i < 4; ++i)
    ASSERT_NE(table.find_or_add("n=\"" + std::to_string(i) + "\""), nullptr);
  EXPECT_EQ(table.find_or_add("n=\"4\""), nullptr);
  EXPECT_EQ(table.dropped(), 1u);
  EXPECT_NE(table.find_or_add("n=\"2\""), nullptr);
  EXPECT_EQ(table.find_or_add(std::string(kMaxSeriesLabels + 1, 'x')), nullptr);
  EXPECT_EQ(table.dropped(), 2u);
}

TEST(IstioLabels, EmptyValuesAreUnknown) {
  const std::string escaped = escape_label_value("we\"ird\\name\n");
  EXPECT_EQ(escaped, "we\\\"ird\\\\name\\n");
  IstioLabels l;
  l.reporter = "source";
  l.source_workload = escaped;
  l.request_protocol = "http";
  l.response_code = 503;
  l.response_flags = "UH";
  std::string text;
  write_istio_labels(l, true, text);
  EXPECT_EQ(
      text,
      "reporter=\"source\",source_workload=\"we\\\"ird\\\\name\\n\","
      "source_workload_namespace=\"unknown\",source_principal=\"unknown\",source_app=\"unknown\","
      "source_version=\"unknown\",destination_workload=\"unknown\","
      "destination_workload_namespace=\"unknown\",destination_principal=\"unknown\","
      "destination_app=\"unknown\",destination_version=\"unknown\","
      "destination_service=\"unknown\",destination_service_name=\"unknown\","
      "destination_service_namespace=\"unknown\",request_protocol=\"http\","
      "response_code=\"503\",grpc_response_status=\"\",response_flags=\"UH\","
      "connection_security_policy=\"unknown\"");
  l.grpc_response_status = 14;
  l.response_flags = "";
  write_istio_labels(l, true, text);
  EXPECT_NE(text.find("grpc_response_status=\"14\",response_flags=\"-\""), std::string::npos);
  write_istio_labels(l, false, text);  // TCP: no response code or gRPC status
  EXPECT_EQ(text.find("response_code"), std::string::npos);
  EXPECT_EQ(text.find("grpc_response_status"), std::string::npos);
}

TEST(RenderIstioMetrics, SumsTheSameSeriesOverWorkersWithCumulativeBuckets) {
  IstioMetrics one;
  IstioMetrics two;
  for (IstioMetrics* m : {&one, &two}) {
    HttpSeries* s = m->http.find_or_add("reporter=\"destination\"");
    s->requests.add();
    s->duration.observe(3000, 1000.0);  // 3 ms: le 5
    s->request_bytes.observe(100, 1.0);
    s->response_bytes.observe(2000, 1.0);
  }
  TcpSeries* t = one.tcp.find_or_add("reporter=\"source\"");
  t->opened.add();
  t->sent.add(42);
  std::string out;
  render_istio_metrics({&one, &two}, out);
  EXPECT_NE(out.find("# TYPE istio_requests_total counter\n"
                     "istio_requests_total{reporter=\"destination\"} 2\n"),
            std::string::npos)
      << out;
  EXPECT_NE(
      out.find("istio_request_duration_milliseconds_bucket{reporter=\"destination\",le=\"1\"} 0\n"
               "istio_request_duration_milliseconds_bucket{reporter=\"destination\",le=\"5\"} 2\n"),
      std::string::npos)
      << out;
  EXPECT_NE(
      out.find(
          "istio_request_duration_milliseconds_bucket{reporter=\"destination\",le=\"+Inf\"} 2\n"
          "istio_request_duration_milliseconds_sum{reporter=\"destination\"} 6\n"
          "istio_request_duration_milliseconds_count{reporter=\"destination\"} 2\n"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("istio_response_bytes_bucket{reporter=\"destination\",le=\"2500\"} 2\n"),
            std::string::npos);
  EXPECT_NE(out.find("istio_request_bytes_sum{reporter=\"destination\"} 200\n"), std::string::npos);
  EXPECT_NE(out.find("istio_tcp_connections_opened_total{reporter=\"source\"} 1\n"),
            std::string::npos);
  EXPECT_NE(out.find("istio_tcp_connections_closed_total{reporter=\"source\"} 0\n"),
            std::string::npos);
  EXPECT_NE(out.find("istio_tcp_sent_bytes_total{reporter=\"source\"} 42\n"), std::string::npos);
  EXPECT_NE(out.find("strait_istio_series_dropped_total 0\n"), std::string::npos);
}

TEST(ResponseFlags, FormatAsEnvoyDoes) {
  char buffer[64];
  EXPECT_EQ(format_response_flags(0, buffer), "");
  EXPECT_EQ(format_response_flags(kFlagNoHealthyUpstream, buffer), "UH");
  EXPECT_EQ(format_response_flags(kFlagFaultInjected | kFlagDelayInjected, buffer), "DI,FI");
  EXPECT_EQ(format_response_flags(0xffff, buffer), "UH,UF,UO,NR,UT,UC,DI,FI,RL,DC,URX,DPE,UPE");
  EXPECT_EQ(response_flag_for(LocalReason::kUpstreamConnectTimeout), kFlagUpstreamConnectFailure);
  EXPECT_EQ(response_flag_for(LocalReason::kNoRoute), kFlagNoRoute);
  EXPECT_EQ(response_flag_for(LocalReason::kRbacDenied), 0);
}

TEST(PeerMetadata, RoundTripsAndLeavesOutWhatIsNotLabelLike) {
  const WorkloadLabels self{
      .workload = "reviews-v2", .ns = "shop", .principal = "x", .app = "reviews", .version = "v2"};
  const std::string text = encode_peer_metadata(self);
  EXPECT_EQ(text, "workload=reviews-v2;app=reviews;version=v2");
  const auto parsed = parse_peer_metadata(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->workload, "reviews-v2");
  EXPECT_EQ(parsed->app, "reviews");
  EXPECT_EQ(parsed->version, "v2");
  EXPECT_EQ(encode_peer_metadata({.workload = "a b", .app = "", .version = "v1"}), "version=v1");
  EXPECT_TRUE(parse_peer_metadata(""));
}

TEST(PeerMetadata, RefusesAnythingElse) {
  for (const char* bad : {"workload", "workload=", "workload=a;workload=b", "owner=me", "app=a\"b",
                          "app=a;", "app=a b", "=x"}) {
    EXPECT_FALSE(parse_peer_metadata(bad)) << bad;
  }
  EXPECT_FALSE(parse_peer_metadata("app=" + std::string(kMaxPeerValue + 1, 'a')));
  PeerMetadataCopy copy;
  copy.assign("app=a\"b");
  EXPECT_EQ(copy.get().app, "");
  copy.assign("app=web");
  EXPECT_EQ(copy.get().app, "web");
}

TEST(PeerMetadata, PreambleIsLengthThenText) {
  const std::string preamble = peer_preamble("app=web") + "rest";
  EXPECT_EQ(read_peer_preamble(preamble.substr(0, 1)).status, PreambleRead::Status::kNeedMore);
  EXPECT_EQ(read_peer_preamble(preamble.substr(0, 5)).status, PreambleRead::Status::kNeedMore);
  const PreambleRead read = read_peer_preamble(preamble);
  ASSERT_EQ(read.status, PreambleRead::Status::kDone);
  EXPECT_EQ(read.text, "app=web");
  EXPECT_EQ(read.size, 9u);
  EXPECT_EQ(read_peer_preamble(std::string("\xff\xff", 2)).status, PreambleRead::Status::kInvalid);
}

std::shared_ptr<const Snapshot> productpage_snapshot() {
  auto config = std::make_shared<ProxyConfig>();
  config->workload.name = "productpage-v1";
  config->workload.ns = "shop";
  config->workload.service_account = "productpage";
  config->workload.labels = {{"app", "productpage"}, {"version", "v1"}};
  config->inbound_services.push_back({.name = "productpage", .port = 9080, .target_port = 19080});
  Service reviews{.name = "reviews", .ns = "shop", .fqdn = "reviews.shop.svc.cluster.local"};
  reviews.ports.push_back({9080, Protocol::kHttp});
  Endpoint v2;
  v2.address = {"127.0.0.1", 15006};
  v2.identity = "spiffe://cluster.local/ns/shop/sa/reviews";
  v2.workload = "reviews-v2";
  v2.labels = {{"app.kubernetes.io/name", "reviews"}, {"app.kubernetes.io/version", "v2"}};
  reviews.endpoints.push_back(v2);
  config->services.push_back(reviews);
  auto built = build_snapshot(config, tls::TlsContexts{}, 1);
  EXPECT_TRUE(built) << built.error();
  return *built;
}

TEST(TelemetryLabels, TheClientSideNamesItselfAndTheEndpointItPicked) {
  const auto snapshot = productpage_snapshot();
  EXPECT_EQ(snapshot->peer_metadata, "workload=productpage-v1;app=productpage;version=v1");
  const DownstreamInfo info{.kind = ListenerKind::kOutbound};
  const ResolvedService* reviews = snapshot->find_service("reviews");
  ASSERT_NE(reviews, nullptr);
  const IstioLabels l =
      telemetry_labels(*snapshot, info, {}, {.service = reviews, .endpoint = 0, .port = 9080});
  EXPECT_EQ(l.reporter, "source");
  EXPECT_EQ(l.source_workload, "productpage-v1");
  EXPECT_EQ(l.source_workload_namespace, "shop");
  EXPECT_EQ(l.source_principal, "spiffe://cluster.local/ns/shop/sa/productpage");
  EXPECT_EQ(l.source_app, "productpage");
  EXPECT_EQ(l.source_version, "v1");
  EXPECT_EQ(l.destination_workload, "reviews-v2");
  EXPECT_EQ(l.destination_workload_namespace, "shop");  // from the SPIFFE ID
  EXPECT_EQ(l.destination_principal, "spiffe://cluster.local/ns/shop/sa/reviews");
  EXPECT_EQ(l.destination_app, "reviews");
  EXPECT_EQ(l.destination_version, "v2");
  EXPECT_EQ(l.destination_service, "reviews.shop.svc.cluster.local");
  EXPECT_EQ(l.destination_service_name, "reviews");
  EXPECT_EQ(l.destination_service_namespace, "shop");
  EXPECT_EQ(l.connection_security_policy, "");  // Istio's source side says unknown
  // No endpoint was reached (a connect failure before any): the callee is unknown.
  const IstioLabels none =
      telemetry_labels(*snapshot, info, {}, {.service = reviews, .port = 9080});
  EXPECT_EQ(none.destination_workload, "");
  EXPECT_EQ(none.destination_service, "reviews.shop.svc.cluster.local");
}

TEST(TelemetryLabels, TheServerSideNamesItselfAndWhatTheCallerProved) {
  const auto snapshot = productpage_snapshot();
  DownstreamInfo info{.kind = ListenerKind::kInbound,
                      .peer_identity = "spiffe://cluster.local/ns/edge/sa/gateway"};
  info.peer_namespace = "edge";
  const PeerMetadata peer{.workload = "gateway-1", .app = "gateway", .version = ""};
  const IstioLabels l = telemetry_labels(*snapshot, info, peer, {.port = 9080});
  EXPECT_EQ(l.reporter, "destination");
  EXPECT_EQ(l.source_workload, "gateway-1");
  EXPECT_EQ(l.source_workload_namespace, "edge");
  EXPECT_EQ(l.source_principal, "spiffe://cluster.local/ns/edge/sa/gateway");
  EXPECT_EQ(l.source_app, "gateway");
  EXPECT_EQ(l.source_version, "");
  EXPECT_EQ(l.destination_workload, "productpage-v1");
  EXPECT_EQ(l.destination_service, "productpage.shop.svc.cluster.local");
  EXPECT_EQ(l.connection_security_policy, "mutual_tls");
  info = DownstreamInfo{.kind = ListenerKind::kInbound};
  info.plaintext = true;
  const IstioLabels plain = telemetry_labels(*snapshot, info, {}, {.port = 1});
  EXPECT_EQ(plain.connection_security_policy, "none");
  EXPECT_EQ(plain.destination_service, "");  // no such inbound port
}

}  // namespace
}  // namespace strait::proxy
