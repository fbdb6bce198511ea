#include "proxy/span_json.h"

#include <nlohmann/json.hpp>

namespace strait::proxy {
namespace {

using nlohmann::json;

// "{authority}{path}", the query left out (should the caller have kept it).
std::string name_of(const SpanRecord& s) {
  const std::string_view path = s.path.view();
  return std::string(s.authority.view()) + std::string(path.substr(0, path.find('?')));
}

// The span's attributes, as strings (the status code apart).
std::vector<std::pair<std::string, std::string>> tags(const SpanRecord& s) {
  std::vector<std::pair<std::string, std::string>> out{
      {"http.method", std::string(s.method.view())},
      {"http.url", "http://" + std::string(s.authority.view()) + std::string(s.path.view())},
      {"http.protocol", std::string(s.protocol.view())},
      {"component", "proxy"},
  };
  auto add = [&](const char* key, std::string_view value) {
    if (!value.empty()) out.emplace_back(key, std::string(value));
  };
  add("upstream_cluster", s.upstream_cluster.view());
  add("upstream_host", s.upstream_host.view());
  add("peer.address", s.peer_address.view());
  if (s.response_flags.view() != "-") add("response_flags", s.response_flags.view());
  add("guid:x-request-id", s.request_id.view());
  add("user_agent", s.user_agent.view());
  return out;
}

// nlohmann's dump with invalid UTF-8 replaced, never throwing.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string otlp_json(std::string_view service_name, std::span<const SpanRecord> spans) {
  json list = json::array();
  for (const auto& s : spans) {
    json attributes = json::array();
    for (auto& [key, value] : tags(s))
      attributes.push_back({{"key", key}, {"value", {{"stringValue", value}}}});
    attributes.push_back(
        {{"key", "http.status_code"}, {"value", {{"intValue", std::to_string(s.status_code)}}}});
    json span = {{"traceId", hex_text(s.trace_id)},
                 {"spanId", hex_text(s.span_id)},
                 {"name", name_of(s)},
                 {"kind", s.kind == SpanKind::kServer ? 2 : 3},
                 {"startTimeUnixNano", std::to_string(s.start_unix_nanos)},
                 {"endTimeUnixNano", std::to_string(s.end_unix_nanos)},
                 {"attributes", std::move(attributes)}};
    if (!is_zero(s.parent_span_id)) span["parentSpanId"] = hex_text(s.parent_span_id);
    if (s.error) span["status"] = {{"code", 2}};
    list.push_back(std::move(span));
  }
  const json body = {
      {"resourceSpans",
       json::array({{{"resource",
                      {{"attributes",
                        json::array({{{"key", "service.name"},
                                      {"value", {{"stringValue", std::string(service_name)}}}}})}}},
                     {"scopeSpans", json::array({{{"scope", {{"name", "strait-proxy"}}},
                                                  {"spans", std::move(list)}}})}}})}};
  return dump(body);
}

std::string zipkin_json(std::string_view service_name, std::span<const SpanRecord> spans) {
  json list = json::array();
  for (const auto& s : spans) {
    json tag_object = json::object();
    for (auto& [key, value] : tags(s)) tag_object[key] = value;
    tag_object["http.status_code"] = std::to_string(s.status_code);
    if (s.error) tag_object["error"] = "true";
    const std::int64_t duration =
        std::max<std::int64_t>(1, (s.end_unix_nanos - s.start_unix_nanos) / 1000);
    json span = {{"traceId", hex_text(s.trace_id)},
                 {"id", hex_text(s.span_id)},
                 {"name", name_of(s)},
                 {"kind", s.kind == SpanKind::kServer ? "SERVER" : "CLIENT"},
                 {"timestamp", s.start_unix_nanos / 1000},
                 {"duration", duration},
                 {"localEndpoint", {{"serviceName", std::string(service_name)}}},
                 {"tags", std::move(tag_object)}};
    if (!is_zero(s.parent_span_id)) span["parentId"] = hex_text(s.parent_span_id);
    list.push_back(std::move(span));
  }
  return dump(list);
}

}  // namespace strait::proxy
