#include "control/traffic_api.h"

#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "control/json_body.h"

namespace strait::control {
namespace {

using nlohmann::json;

constexpr auto kDefaultWindow = std::chrono::minutes(1);
constexpr auto kLongestWindow = std::chrono::minutes(15);

// The window= parameter, or why it is refused.
std::expected<std::chrono::seconds, std::string> window_of(
    const std::map<std::string, std::string>& query, std::chrono::seconds bucket) {
  const auto it = query.find("window");
  if (it == query.end()) return std::chrono::seconds(kDefaultWindow);
  auto parsed = parse_duration(it->second);
  if (!parsed) return std::unexpected("window: " + parsed.error());
  const auto window = std::chrono::duration_cast<std::chrono::seconds>(*parsed);
  if (window < bucket || window > kLongestWindow)
    return std::unexpected("window: must be from " + std::to_string(bucket.count()) +
                           "s to 15m, got '" + it->second + "'");
  return window;
}

json milliseconds_or_null(double ms) {
  return ms < 0 ? json(nullptr) : json(ms);
}

json traffic_json(const EdgeTraffic& t) {
  return {{"requests", t.requests},
          {"rps", t.requests_per_second},
          {"failures", t.failures},
          {"failureShare", t.failure_share},
          {"clientErrors", t.client_errors},
          {"p50Ms", milliseconds_or_null(t.p50_ms)},
          {"p95Ms", milliseconds_or_null(t.p95_ms)},
          {"p99Ms", milliseconds_or_null(t.p99_ms)},
          {"mtls", t.mutual_tls},
          {"grpc", t.grpc}};
}

// "<name>.<namespace>.svc.<domain>": the namespace; "" for another host.
std::string namespace_of_host(const std::string& host) {
  const auto first = host.find('.');
  if (first == std::string::npos) return {};
  const auto second = host.find('.', first + 1);
  if (second == std::string::npos || host.compare(second, 5, ".svc.") != 0) return {};
  return host.substr(first + 1, second - first - 1);
}

}  // namespace

ApiResponse TrafficApi::summary(const std::map<std::string, std::string>& query) const {
  auto window = window_of(query, store_.bucket_width());
  if (!window) return error_answer(400, window.error());
  const auto ns = query.find("namespace");
  const auto now = TrafficStore::Clock::now();
  json services = json::array();
  for (const auto& s : store_.services(now, *window)) {
    if (ns != query.end() && namespace_of_host(s.key.destination_service) != ns->second) continue;
    json entry = traffic_json(s);
    entry["service"] = s.key.destination_service;
    services.push_back(std::move(entry));
  }
  json edges = json::array();
  for (const auto& e : store_.edges(now, *window)) {
    if (ns != query.end() && e.key.source_namespace != ns->second &&
        e.key.destination_namespace != ns->second)
      continue;
    json entry = traffic_json(e);
    entry["source"] = {{"workload", e.key.source_workload},
                       {"namespace", e.key.source_namespace},
                       {"app", e.key.source_app}};
    entry["destination"] = {{"service", e.key.destination_service},
                            {"workload", e.key.destination_workload},
                            {"namespace", e.key.destination_namespace},
                            {"app", e.key.destination_app}};
    edges.push_back(std::move(entry));
  }
  return json_answer(200, json{{"windowSeconds", window->count()},
                               {"bucketSeconds", store_.bucket_width().count()},
                               {"services", std::move(services)},
                               {"edges", std::move(edges)}});
}

ApiResponse TrafficApi::series(const std::map<std::string, std::string>& query) const {
  const auto service = query.find("service");
  if (service == query.end() || service->second.empty())
    return error_answer(400, "use /api/v1/traffic/series?service=HOST[&window=5m]");
  auto window = window_of(query, store_.bucket_width());
  if (!window) return error_answer(400, window.error());
  json points = json::array();
  for (const auto& p :
       store_.service_series(service->second, TrafficStore::Clock::now(), *window)) {
    points.push_back({{"start", p.start_unix_seconds},
                      {"rps", p.requests_per_second},
                      {"failureShare", p.failure_share},
                      {"p99Ms", milliseconds_or_null(p.p99_ms)}});
  }
  return json_answer(200, json{{"service", service->second},
                               {"bucketSeconds", store_.bucket_width().count()},
                               {"points", std::move(points)}});
}

}  // namespace strait::control
