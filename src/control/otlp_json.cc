#include "control/otlp_json.h"

#include <array>
#include <utility>

#include "control/json_body.h"

namespace strait::control {
namespace {

using nlohmann::json;

// Arrays and key-value lists inside an attribute value, at most this deep.
constexpr int kMaxValueDepth = 8;

std::string join(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

std::string index(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::unexpected<std::string> fail(const std::string& path, std::string_view reason) {
  return std::unexpected(path + ": " + std::string(reason));
}

// The array at obj[name]: nullptr when absent.
std::expected<const json*, std::string> array_at(const json& obj, std::string_view name,
                                                 const std::string& path) {
  const json* v = json_field(obj, name);
  if (v != nullptr && !v->is_array()) return fail(join(path, name), "expected a list");
  return v;
}

std::expected<std::string, std::string> string_at(const json& obj, std::string_view name,
                                                  const std::string& path) {
  const json* v = json_field(obj, name);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return fail(join(path, name), "expected a string");
  return v->get<std::string>();
}

// A 64-bit integer as OTLP JSON writes it: a decimal string or a number.
std::optional<std::int64_t> int64_of(const json& v) {
  if (v.is_string()) return decimal_integer(v.get_ref<const std::string&>());
  return json_integer(v);
}

// fixed64 nanoseconds since the epoch; absent is 0 (proto3's default).
std::expected<std::int64_t, std::string> time_at(const json& obj, std::string_view name,
                                                 const std::string& path) {
  const json* v = json_field(obj, name);
  if (v == nullptr) return 0;
  const auto t = int64_of(*v);
  if (!t || *t < 0)
    return fail(join(path, name),
                "expected nanoseconds since the epoch (a non-negative integer, as a string or a "
                "number, below 2^63)");
  return *t;
}

// An enum: its number, or its name from `names` (index = number).
template <std::size_t N>
std::expected<int, std::string> enum_at(const json& obj, std::string_view name,
                                        const std::string& path,
                                        const std::array<std::string_view, N>& names) {
  const json* v = json_field(obj, name);
  if (v == nullptr) return 0;
  if (v->is_string()) {
    for (std::size_t i = 0; i < N; ++i)
      if (names[i] == v->get_ref<const std::string&>()) return static_cast<int>(i);
    return fail(join(path, name), "unknown value " + compact_json(*v));
  }
  const auto n = json_integer(*v);
  if (!n || *n < 0 || *n >= static_cast<std::int64_t>(N))
    return fail(join(path, name), "unknown value " + compact_json(*v));
  return static_cast<int>(*n);
}

constexpr std::array<std::string_view, 6> kKindNames{"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                                     "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                                     "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
constexpr std::array<std::string_view, 6> kKinds{"unspecified", "internal", "server",
                                                 "client",      "producer", "consumer"};
constexpr std::array<std::string_view, 3> kStatusNames{"STATUS_CODE_UNSET", "STATUS_CODE_OK",
                                                       "STATUS_CODE_ERROR"};

std::expected<json, std::string> any_value(const json& v, const std::string& path, int depth);

// An ArrayValue or KeyValueList's "values".
std::expected<json, std::string> nested(const json& holder, const std::string& path, int depth,
                                        bool key_values) {
  if (depth >= kMaxValueDepth)
    return fail(path, "nested deeper than " + std::to_string(kMaxValueDepth) + " levels");
  if (!holder.is_object()) return fail(path, "expected an object with \"values\"");
  auto values = array_at(holder, "values", path);
  if (!values) return std::unexpected(values.error());
  json out = key_values ? json::object() : json::array();
  if (*values == nullptr) return out;
  const std::string base = join(path, "values");
  for (std::size_t i = 0; i < (*values)->size(); ++i) {
    const json& item = (**values)[i];
    const std::string at = index(base, i);
    if (!key_values) {
      auto value = any_value(item, at, depth + 1);
      if (!value) return value;
      out.push_back(std::move(*value));
      continue;
    }
    if (!item.is_object()) return fail(at, "expected a {\"key\", \"value\"} object");
    auto key = string_at(item, "key", at);
    if (!key) return std::unexpected(key.error());
    const json* raw = json_field(item, "value");
    auto value = raw == nullptr ? json() : any_value(*raw, join(at, "value"), depth + 1);
    if (!value) return value;
    out[*key] = std::move(*value);
  }
  return out;
}

// An AnyValue as plain JSON (null when it holds nothing).
std::expected<json, std::string> any_value(const json& v, const std::string& path, int depth) {
  if (!v.is_object()) return fail(path, "expected an AnyValue object");
  if (const json* s = json_field(v, "stringValue")) {
    if (!s->is_string()) return fail(join(path, "stringValue"), "expected a string");
    return *s;
  }
  if (const json* i = json_field(v, "intValue")) {
    const auto n = int64_of(*i);
    if (!n) return fail(join(path, "intValue"), "expected a 64-bit integer");
    return json(*n);
  }
  if (const json* b = json_field(v, "boolValue")) {
    if (!b->is_boolean()) return fail(join(path, "boolValue"), "expected true or false");
    return *b;
  }
  if (const json* d = json_field(v, "doubleValue")) {
    // proto3 JSON writes the special values as strings.
    if (d->is_string() && (*d == "NaN" || *d == "Infinity" || *d == "-Infinity")) return *d;
    if (!d->is_number()) return fail(join(path, "doubleValue"), "expected a number");
    return json(d->get<double>());
  }
  if (const json* b = json_field(v, "bytesValue")) {
    if (!b->is_string()) return fail(join(path, "bytesValue"), "expected base64 text");
    return *b;
  }
  if (const json* a = json_field(v, "arrayValue"))
    return nested(*a, join(path, "arrayValue"), depth, false);
  if (const json* k = json_field(v, "kvlistValue"))
    return nested(*k, join(path, "kvlistValue"), depth, true);
  return json();
}

std::string text_of(const json& plain) {
  if (plain.is_null()) return "";
  if (plain.is_string()) return plain.get<std::string>();
  return compact_json(plain);  // numbers, booleans, arrays, maps
}

std::expected<std::vector<std::pair<std::string, std::string>>, std::string> attributes_of(
    const json& obj, const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  auto list = array_at(obj, "attributes", path);
  if (!list) return std::unexpected(list.error());
  if (*list == nullptr) return out;
  const std::string base = join(path, "attributes");
  for (std::size_t i = 0; i < (*list)->size(); ++i) {
    const json& kv = (**list)[i];
    const std::string at = index(base, i);
    if (!kv.is_object()) return fail(at, "expected a {\"key\", \"value\"} object");
    auto key = string_at(kv, "key", at);
    if (!key) return std::unexpected(key.error());
    const json* raw = json_field(kv, "value");
    auto value = raw == nullptr ? json() : any_value(*raw, join(at, "value"), 0);
    if (!value) return std::unexpected(value.error());
    out.emplace_back(std::move(*key), text_of(*value));
  }
  return out;
}

std::expected<CollectedSpan, std::string> span_of(const json& s, const std::string& path,
                                                  const std::string& service) {
  if (!s.is_object()) return fail(path, "expected a span object");
  CollectedSpan span;
  span.service = service;
  auto trace_id = string_at(s, "traceId", path);
  if (!trace_id) return std::unexpected(trace_id.error());
  auto trace = normalize_trace_id(*trace_id, false);
  if (!trace) return fail(join(path, "traceId"), trace.error());
  span.trace_id = std::move(*trace);
  auto span_id = string_at(s, "spanId", path);
  if (!span_id) return std::unexpected(span_id.error());
  auto id = normalize_span_id(*span_id);
  if (!id) return fail(join(path, "spanId"), id.error());
  span.span_id = std::move(*id);
  auto parent_id = string_at(s, "parentSpanId", path);
  if (!parent_id) return std::unexpected(parent_id.error());
  if (!parent_id->empty()) {
    auto parent = normalize_span_id(*parent_id);
    if (!parent) return fail(join(path, "parentSpanId"), parent.error());
    span.parent_span_id = std::move(*parent);
  }
  auto name = string_at(s, "name", path);
  if (!name) return std::unexpected(name.error());
  span.name = std::move(*name);
  auto kind = enum_at(s, "kind", path, kKindNames);
  if (!kind) return std::unexpected(kind.error());
  span.kind = std::string(kKinds[static_cast<std::size_t>(*kind)]);
  auto start = time_at(s, "startTimeUnixNano", path);
  if (!start) return std::unexpected(start.error());
  auto end = time_at(s, "endTimeUnixNano", path);
  if (!end) return std::unexpected(end.error());
  span.start_unix_nanos = *start;
  span.end_unix_nanos = std::max(*start, *end);  // a clock step must not make a negative duration
  auto attributes = attributes_of(s, path);
  if (!attributes) return std::unexpected(attributes.error());
  span.attributes = std::move(*attributes);
  if (const json* status = json_field(s, "status")) {
    const std::string at = join(path, "status");
    if (!status->is_object()) return fail(at, "expected an object");
    auto code = enum_at(*status, "code", at, kStatusNames);
    if (!code) return std::unexpected(code.error());
    span.error = *code == 2;
    auto message = string_at(*status, "message", at);
    if (!message) return std::unexpected(message.error());
    if (span.error && !message->empty())
      span.attributes.emplace_back("otel.status_description", std::move(*message));
  }
  return span;
}

// service.name of a resource.
std::expected<std::string, std::string> service_of(const json& resource_spans,
                                                   const std::string& path) {
  const json* resource = json_field(resource_spans, "resource");
  if (resource == nullptr) return std::string(kUnknownService);
  const std::string at = join(path, "resource");
  if (!resource->is_object()) return fail(at, "expected an object");
  auto attributes = attributes_of(*resource, at);
  if (!attributes) return std::unexpected(attributes.error());
  for (const auto& [key, value] : *attributes)
    if (key == "service.name" && !value.empty()) return value;
  return std::string(kUnknownService);
}

std::expected<std::vector<CollectedSpan>, std::string> parse(std::string_view body) {
  auto root = parse_json_body(body);
  if (!root) return std::unexpected(root.error());
  if (!root->is_object())
    return std::unexpected(
        "expected an ExportTraceServiceRequest object: {\"resourceSpans\": [...]}");
  std::vector<CollectedSpan> out;
  auto resources = array_at(*root, "resourceSpans", "");
  if (!resources) return std::unexpected(resources.error());
  if (*resources == nullptr) return out;
  for (std::size_t r = 0; r < (*resources)->size(); ++r) {
    const json& rs = (**resources)[r];
    const std::string rpath = index("resourceSpans", r);
    if (!rs.is_object()) return fail(rpath, "expected a ResourceSpans object");
    auto service = service_of(rs, rpath);
    if (!service) return std::unexpected(service.error());
    for (const std::string_view key : {"scopeSpans", "instrumentationLibrarySpans"}) {
      auto scopes = array_at(rs, key, rpath);
      if (!scopes) return std::unexpected(scopes.error());
      if (*scopes == nullptr) continue;
      for (std::size_t s = 0; s < (*scopes)->size(); ++s) {
        const json& ss = (**scopes)[s];
        const std::string spath = index(join(rpath, key), s);
        if (!ss.is_object()) return fail(spath, "expected a ScopeSpans object");
        auto spans = array_at(ss, "spans", spath);
        if (!spans) return std::unexpected(spans.error());
        if (*spans == nullptr) continue;
        if (out.size() + (*spans)->size() > kMaxSpansPerRequest)
          return fail(join(spath, "spans"), "more than " + std::to_string(kMaxSpansPerRequest) +
                                                " spans in one request (send smaller batches)");
        for (std::size_t i = 0; i < (*spans)->size(); ++i) {
          auto span = span_of((**spans)[i], index(join(spath, "spans"), i), *service);
          if (!span) return std::unexpected(span.error());
          out.push_back(std::move(*span));
        }
      }
    }
  }
  return out;
}

}  // namespace

std::expected<std::vector<CollectedSpan>, std::string> parse_otlp_json(std::string_view body) {
  auto spans = parse(body);
  if (!spans) return std::unexpected(one_line(std::move(spans.error())));
  return spans;
}

}  // namespace strait::control
