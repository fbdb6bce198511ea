// The cost of recording one request in the istio_* metrics on the request path
// (proxy/request_telemetry.h): the labels written into the worker's buffer, the series found in
// the worker's table, the counter and three histograms updated. The first case records the same
// series over and over (the steady state: one caller, one callee, 200); the second spreads requests
// over 64 series (several callers, endpoints and status codes). Neither takes a lock or allocates.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "proxy/istio_metrics.h"

namespace {

using namespace strait::proxy;

IstioLabels sample_labels() {
  IstioLabels l;
  l.reporter = "destination";
  l.source_workload = "productpage-v1";
  l.source_workload_namespace = "bookinfo";
  l.source_principal = "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage";
  l.source_app = "productpage";
  l.source_version = "v1";
  l.destination_workload = "reviews-v2";
  l.destination_workload_namespace = "bookinfo";
  l.destination_principal = "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews";
  l.destination_app = "reviews";
  l.destination_version = "v2";
  l.destination_service = "reviews.bookinfo.svc.cluster.local";
  l.destination_service_name = "reviews";
  l.destination_service_namespace = "bookinfo";
  l.request_protocol = "http";
  l.response_code = 200;
  l.connection_security_policy = "mutual_tls";
  return l;
}

void record(IstioMetrics& metrics, std::string& buffer, const IstioLabels& labels) {
  write_istio_labels(labels, true, buffer);
  if (HttpSeries* s = metrics.http.find_or_add(buffer)) {
    s->requests.add();
    s->duration.observe(3'200, 1000.0);
    s->request_bytes.observe(420, 1.0);
    s->response_bytes.observe(1'800, 1.0);
  }
}

void BM_RecordOneSeries(benchmark::State& state) {
  IstioMetrics metrics;
  std::string buffer;
  buffer.reserve(2 * kMaxSeriesLabels);
  const IstioLabels labels = sample_labels();
  for (auto _ : state) record(metrics, buffer, labels);
}
BENCHMARK(BM_RecordOneSeries);

void BM_RecordSixtyFourSeries(benchmark::State& state) {
  IstioMetrics metrics;
  std::string buffer;
  buffer.reserve(2 * kMaxSeriesLabels);
  std::vector<std::string> workloads;
  for (int i = 0; i < 16; ++i) workloads.push_back("reviews-v" + std::to_string(i));
  IstioLabels labels = sample_labels();
  std::size_t i = 0;
  for (auto _ : state) {
    labels.destination_workload = workloads[i % 16];
    labels.response_code = (i / 16) % 4 == 0 ? 503 : 200 + static_cast<int>((i / 16) % 4);
    record(metrics, buffer, labels);
    i = (i + 1) % 64;
  }
}
BENCHMARK(BM_RecordSixtyFourSeries);

// The scrape side: merging 2 workers' 64 series into Prometheus text.
void BM_RenderSixtyFourSeries(benchmark::State& state) {
  IstioMetrics one;
  IstioMetrics two;
  std::string buffer;
  IstioLabels labels = sample_labels();
  for (int i = 0; i < 64; ++i) {
    const std::string workload = "reviews-v" + std::to_string(i);
    labels.destination_workload = workload;
    record(one, buffer, labels);
    record(two, buffer, labels);
  }
  for (auto _ : state) {
    std::string out;
    render_istio_metrics({&one, &two}, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_RenderSixtyFourSeries);

}  // namespace

BENCHMARK_MAIN();
