#include "agent/traffic_report.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>

namespace strait::agent {
namespace {

struct Totals {
  std::uint64_t requests = 0;
  std::array<std::uint64_t, proxy::kIstioBuckets.size() + 1> durations{};
};

int number_or(std::string_view text, int fallback) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() ? value : fallback;
}

}  // namespace

std::vector<std::pair<std::string_view, std::string>> parse_label_text(std::string_view text) {
  std::vector<std::pair<std::string_view, std::string>> out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto eq = text.find("=\"", i);
    if (eq == std::string_view::npos) return {};
    const std::string_view name = text.substr(i, eq - i);
    std::string value;
    std::size_t j = eq + 2;
    for (; j < text.size() && text[j] != '"'; ++j) {
      if (text[j] == '\\' && j + 1 < text.size()) {
        ++j;
        value += text[j] == 'n' ? '\n' : text[j];
      } else {
        value += text[j];
      }
    }
    if (j >= text.size()) return {};  // no closing quote
    out.emplace_back(name, std::move(value));
    i = j + 1;
    if (i < text.size()) {
      if (text[i] != ',') return {};
      ++i;
    }
  }
  return out;
}

mesh::v1::TrafficReport collect_traffic_report(
    const std::vector<const proxy::IstioMetrics*>& workers) {
  std::map<std::string_view, Totals> merged;  // label text lives in the tables, which outlive this
  for (const proxy::IstioMetrics* metrics : workers) {
    metrics->http.for_each([&](std::string_view labels, const proxy::HttpSeries& s) {
      Totals& t = merged[labels];
      t.requests += s.requests.value();
      for (std::size_t i = 0; i < t.durations.size(); ++i) t.durations[i] += s.duration.bucket(i);
    });
  }
  std::vector<std::pair<std::string_view, const Totals*>> busiest;
  for (const auto& [labels, totals] : merged) busiest.emplace_back(labels, &totals);
  if (busiest.size() > kMaxReportedSeries) {
    std::ranges::nth_element(
        busiest, busiest.begin() + kMaxReportedSeries,
        [](const auto& a, const auto& b) { return a.second->requests > b.second->requests; });
    busiest.resize(kMaxReportedSeries);
  }
  mesh::v1::TrafficReport report;
  for (const auto& [labels, totals] : busiest) {
    const auto fields = parse_label_text(labels);
    if (fields.empty()) continue;
    auto* s = report.add_series();
    s->set_grpc_status(-1);
    for (const auto& [name, value] : fields) {
      if (name == "reporter")
        s->set_reporter(value);
      else if (name == "source_workload")
        s->set_source_workload(value);
      else if (name == "source_workload_namespace")
        s->set_source_namespace(value);
      else if (name == "source_app")
        s->set_source_app(value);
      else if (name == "destination_service")
        s->set_destination_service(value);
      else if (name == "destination_workload")
        s->set_destination_workload(value);
      else if (name == "destination_workload_namespace")
        s->set_destination_namespace(value);
      else if (name == "destination_app")
        s->set_destination_app(value);
      else if (name == "request_protocol")
        s->set_protocol(value);
      else if (name == "response_code")
        s->set_response_code(number_or(value, 0));
      else if (name == "grpc_response_status")
        s->set_grpc_status(value.empty() ? -1 : number_or(value, -1));
      else if (name == "connection_security_policy")
        s->set_mutual_tls(value == "mutual_tls");
      else if (name == "response_flags")
        s->set_response_flags(value);
    }
    s->set_requests(totals->requests);
    for (const auto d : totals->durations) s->add_duration_buckets(d);
  }
  return report;
}

}  // namespace strait::agent
