#include "ctl/traffic_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "ctl/output.h"

namespace strait::ctl {
namespace {

using nlohmann::json;

std::string latency(const json& value) {
  if (!value.is_number()) return "-";
  const double ms = value.get<double>();
  return ms >= 1000 ? fmt::format("{:.2f}s", ms / 1000) : fmt::format("{:.1f}ms", ms);
}

std::string success(const json& row) {
  return fmt::format("{:.2f}%", 100.0 * (1.0 - row.value("failureShare", 0.0)));
}

std::string rate(const json& row) {
  return fmt::format("{:.1f}", row.value("rps", 0.0));
}

std::string mtls(const json& row) {
  return row.value("mtls", false) ? "yes" : "-";
}

std::vector<json> busiest_first(const json& rows) {
  std::vector<json> out;
  if (rows.is_array()) out.assign(rows.begin(), rows.end());
  std::ranges::stable_sort(
      out, [](const json& a, const json& b) { return a.value("rps", 0.0) > b.value("rps", 0.0); });
  return out;
}

std::string workload_text(const json& side) {
  const std::string workload = side.value("workload", "unknown");
  const std::string ns = side.value("namespace", "");
  return ns.empty() || ns == "unknown" ? workload : workload + "." + ns;
}

}  // namespace

std::string render_traffic(const json& traffic, bool color) {
  const auto window = traffic.value("windowSeconds", 0);
  const auto services = busiest_first(traffic.value("services", json::array()));
  if (services.empty()) return fmt::format("No traffic in the last {}s.\n", window);
  std::vector<std::vector<std::string>> rows{
      {"SERVICE", "RPS", "SUCCESS", "4XX", "P50", "P95", "P99", "MTLS"}};
  for (const auto& s : services) {
    rows.push_back({s.value("service", ""), rate(s), success(s),
                    std::to_string(s.value("clientErrors", 0)), latency(s["p50Ms"]),
                    latency(s["p95Ms"]), latency(s["p99Ms"]), mtls(s)});
  }
  std::string out = render_rows(rows, color);
  std::vector<std::vector<std::string>> edge_rows{
      {"FROM", "TO", "RPS", "SUCCESS", "4XX", "P99", "MTLS"}};
  for (const auto& e : busiest_first(traffic.value("edges", json::array()))) {
    const json to = e.value("destination", json::object());
    edge_rows.push_back({workload_text(e.value("source", json::object())),
                         workload_text(to) + " (" + to.value("service", "") + ")", rate(e),
                         success(e), std::to_string(e.value("clientErrors", 0)),
                         latency(e["p99Ms"]), mtls(e)});
  }
  out += "\n" + render_rows(edge_rows, color);
  return out;
}

}  // namespace strait::ctl
