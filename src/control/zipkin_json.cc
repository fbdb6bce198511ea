#include "control/zipkin_json.h"

#include <limits>

#include "control/json_body.h"

namespace strait::control {
namespace {

using nlohmann::json;

std::unexpected<std::string> fail(const std::string& path, std::string_view field,
                                  std::string_view reason) {
  return std::unexpected(path + "." + std::string(field) + ": " + std::string(reason));
}

std::expected<std::string, std::string> string_at(const json& obj, std::string_view name,
                                                  const std::string& path) {
  const json* v = json_field(obj, name);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return fail(path, name, "expected a string");
  return v->get<std::string>();
}

constexpr std::int64_t kMaxMicros = std::numeric_limits<std::int64_t>::max() / 1000;

std::expected<CollectedSpan, std::string> span_of(const json& s, const std::string& path) {
  if (!s.is_object()) return std::unexpected(path + ": expected a span object");
  CollectedSpan span;
  auto trace_id = string_at(s, "traceId", path);
  if (!trace_id) return std::unexpected(trace_id.error());
  auto trace = normalize_trace_id(*trace_id, true);
  if (!trace) return fail(path, "traceId", trace.error());
  span.trace_id = std::move(*trace);
  auto span_id = string_at(s, "id", path);
  if (!span_id) return std::unexpected(span_id.error());
  auto id = normalize_span_id(*span_id);
  if (!id) return fail(path, "id", id.error());
  span.span_id = std::move(*id);
  auto parent_id = string_at(s, "parentId", path);
  if (!parent_id) return std::unexpected(parent_id.error());
  if (!parent_id->empty()) {
    auto parent = normalize_span_id(*parent_id);
    if (!parent) return fail(path, "parentId", parent.error());
    span.parent_span_id = std::move(*parent);
  }
  auto name = string_at(s, "name", path);
  if (!name) return std::unexpected(name.error());
  span.name = std::move(*name);
  auto kind = string_at(s, "kind", path);
  if (!kind) return std::unexpected(kind.error());
  if (kind->empty()) {
    span.kind = "internal";
  } else if (*kind == "CLIENT" || *kind == "SERVER" || *kind == "PRODUCER" || *kind == "CONSUMER") {
    for (char c : *kind) span.kind.push_back(static_cast<char>(c - 'A' + 'a'));
  } else {
    return fail(path, "kind", compact_json(*kind) + " is not CLIENT, SERVER, PRODUCER or CONSUMER");
  }
  const json* timestamp = json_field(s, "timestamp");
  const auto micros = timestamp == nullptr ? std::nullopt : json_integer(*timestamp);
  if (!micros || *micros < 0 || *micros > kMaxMicros)
    return fail(path, "timestamp",
                timestamp == nullptr ? "missing (epoch microseconds)"
                                     : "expected epoch microseconds (a non-negative integer)");
  std::int64_t duration = 0;
  if (const json* d = json_field(s, "duration")) {
    const auto value = json_integer(*d);
    if (!value || *value < 0 || *value > kMaxMicros - *micros)
      return fail(path, "duration", "expected microseconds (a non-negative integer)");
    duration = *value;
  }
  span.start_unix_nanos = *micros * 1000;
  span.end_unix_nanos = (*micros + duration) * 1000;
  const json* local = json_field(s, "localEndpoint");
  if (local != nullptr && !local->is_object())
    return fail(path, "localEndpoint", "expected an object");
  auto service =
      local == nullptr ? std::string() : string_at(*local, "serviceName", path + ".localEndpoint");
  if (!service) return std::unexpected(service.error());
  span.service = service->empty() ? std::string(kUnknownService) : std::move(*service);
  if (const json* remote = json_field(s, "remoteEndpoint")) {
    if (!remote->is_object()) return fail(path, "remoteEndpoint", "expected an object");
    auto peer = string_at(*remote, "serviceName", path + ".remoteEndpoint");
    if (!peer) return std::unexpected(peer.error());
    if (!peer->empty()) span.attributes.emplace_back("peer.service", std::move(*peer));
  }
  if (const json* tags = json_field(s, "tags")) {
    if (!tags->is_object()) return fail(path, "tags", "expected an object of strings");
    for (const auto& [key, value] : tags->items()) {
      if (value.is_string()) {
        span.attributes.emplace_back(key, value.get<std::string>());
      } else if (value.is_number() || value.is_boolean()) {
        span.attributes.emplace_back(key, compact_json(value));
      } else {
        return fail(path + ".tags", key, "expected a string");
      }
      if (key == "error") span.error = true;
    }
  }
  return span;
}

std::expected<std::vector<CollectedSpan>, std::string> parse(std::string_view body) {
  auto root = parse_json_body(body);
  if (!root) return std::unexpected(root.error());
  if (!root->is_array()) return std::unexpected("expected a list of Zipkin v2 spans: [{...}]");
  if (root->size() > kMaxSpansPerRequest)
    return std::unexpected("more than " + std::to_string(kMaxSpansPerRequest) +
                           " spans in one request (send smaller batches)");
  std::vector<CollectedSpan> out;
  out.reserve(root->size());
  for (std::size_t i = 0; i < root->size(); ++i) {
    auto span = span_of((*root)[i], "[" + std::to_string(i) + "]");
    if (!span) return std::unexpected(span.error());
    out.push_back(std::move(*span));
  }
  return out;
}

}  // namespace

std::expected<std::vector<CollectedSpan>, std::string> parse_zipkin_json(std::string_view body) {
  auto spans = parse(body);
  if (!spans) return std::unexpected(one_line(std::move(spans.error())));
  return spans;
}

}  // namespace strait::control
