#include "agent/traffic_report.h"

#include <gtest/gtest.h>

namespace strait::agent {
namespace {

proxy::IstioLabels labels(std::string_view reporter, int code) {
  proxy::IstioLabels l;
  l.reporter = reporter;
  l.source_workload = "frontend-v1";
  l.source_workload_namespace = "demo";
  l.source_app = "frontend";
  l.destination_workload = "catalog-v2";
  l.destination_workload_namespace = "demo";
  l.destination_app = "catalog";
  l.destination_service = "catalog.demo.svc.cluster.local";
  l.request_protocol = "http";
  l.response_code = code;
  l.connection_security_policy = reporter == "destination" ? "mutual_tls" : "";
  return l;
}

TEST(ParseLabelTextTest, UnescapesValuesAndRefusesMalformedText) {
  const auto fields = parse_label_text(R"(a="x",b="say \"hi\"\\",c="",d="line\nbreak")");
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[0].first, "a");
  EXPECT_EQ(fields[0].second, "x");
  EXPECT_EQ(fields[1].second, "say \"hi\"\\");
  EXPECT_EQ(fields[2].second, "");
  EXPECT_EQ(fields[3].second, "line\nbreak");
  EXPECT_TRUE(parse_label_text(R"(a="x)").empty());
  EXPECT_TRUE(parse_label_text(R"(a="x"b="y")").empty());
  EXPECT_TRUE(parse_label_text("a").empty());
}

TEST(CollectTrafficReportTest, SeriesAreMergedOverWorkersWithTheirLabelsAndBuckets) {
  proxy::IstioMetrics worker_a, worker_b;
  std::string text;
  proxy::write_istio_labels(labels("source", 200), true, text);
  worker_a.http.find_or_add(text)->requests.add(3);
  worker_a.http.find_or_add(text)->duration.observe(2'000, 1000.0);  // 2 ms in microseconds
  worker_b.http.find_or_add(text)->requests.add(4);
  proxy::write_istio_labels(labels("destination", 503), true, text);
  worker_b.http.find_or_add(text)->requests.add(1);

  const auto report = collect_traffic_report({&worker_a, &worker_b});
  ASSERT_EQ(report.series_size(), 2);
  const auto& source =
      report.series(0).reporter() == "source" ? report.series(0) : report.series(1);
  const auto& destination =
      report.series(0).reporter() == "source" ? report.series(1) : report.series(0);
  EXPECT_EQ(source.requests(), 7u);
  EXPECT_EQ(source.source_workload(), "frontend-v1");
  EXPECT_EQ(source.source_namespace(), "demo");
  EXPECT_EQ(source.destination_workload(), "catalog-v2");
  EXPECT_EQ(source.destination_service(), "catalog.demo.svc.cluster.local");
  EXPECT_EQ(source.response_code(), 200);
  EXPECT_EQ(source.grpc_status(), -1);
  EXPECT_FALSE(source.mutual_tls());
  ASSERT_EQ(source.duration_buckets_size(), static_cast<int>(proxy::kIstioBuckets.size() + 1));
  EXPECT_EQ(source.duration_buckets(2), 1u);  // (1, 5] ms
  EXPECT_EQ(destination.response_code(), 503);
  EXPECT_TRUE(destination.mutual_tls());
}

}  // namespace
}  // namespace strait::agent
