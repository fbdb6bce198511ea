#include "control/trace_api.h"

#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "common/time_text.h"
#include "control/json_body.h"
#include "control/otlp_json.h"
#include "control/query_params.h"
#include "control/zipkin_json.h"

namespace strait::control {
namespace {

using nlohmann::json;

// The media type of a Content-Type value, lower case, without parameters.
std::string media_type(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  std::string out(value);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Why a body cannot be read as JSON (a 415), or "" when it can. Bodies without a Content-Type
// are read as JSON.
std::string unsupported_body(std::string_view content_type, std::string_view content_encoding,
                             std::string_view advice) {
  const std::string type = media_type(content_type);
  if (type == "application/x-protobuf" || type == "application/protobuf" ||
      type == "application/x-thrift")
    return std::string(advice);
  const std::string encoding = media_type(content_encoding);
  if (!encoding.empty() && encoding != "identity")
    return "Content-Encoding " + encoding +
           " is not supported: send the body uncompressed (turn off the exporter's compression)";
  return {};
}

double milliseconds(std::int64_t nanos) {
  return static_cast<double>(nanos) / 1e6;
}

std::string limits_text(const TraceStoreLimits& limits) {
  return "at most " + std::to_string(limits.max_spans_per_trace) + " spans per trace, " +
         std::to_string(limits.max_bytes / (1024 * 1024)) + " MiB in all";
}

}  // namespace

ApiResponse TraceApi::ingest_otlp(std::string_view content_type, std::string_view content_encoding,
                                  std::string_view body) {
  if (const auto why =
          unsupported_body(content_type, content_encoding, "send OTLP as JSON (application/json)");
      !why.empty())
    return error_answer(415, why);
  auto spans = parse_otlp_json(body);
  if (!spans) return error_answer(400, spans.error());
  const std::size_t total = spans->size();
  const TraceAddResult added = store_.add(std::move(*spans));
  json partial = json::object();
  if (added.dropped > 0) {
    partial["rejectedSpans"] = added.dropped;
    partial["errorMessage"] = std::to_string(added.dropped) + " of " + std::to_string(total) +
                              " spans dropped by the collector's limits (" +
                              limits_text(store_.limits()) + ")";
  }
  return json_answer(200, json{{"partialSuccess", partial}});
}

ApiResponse TraceApi::ingest_zipkin(std::string_view content_type,
                                    std::string_view content_encoding, std::string_view body) {
  if (const auto why = unsupported_body(content_type, content_encoding,
                                        "send Zipkin spans as JSON v2 (application/json)");
      !why.empty())
    return error_answer(415, why);
  auto spans = parse_zipkin_json(body);
  if (!spans) return error_answer(400, spans.error());
  (void)store_.add(std::move(*spans));  // Zipkin has no partial success: drops are only counted
  return json_answer(202, json::object());
}

ApiResponse TraceApi::list(const std::map<std::string, std::string>& query) const {
  TraceQuery q;
  q.limit = kDefaultTraceListLimit;
  if (const auto s = query.find("service"); s != query.end()) q.service = s->second;
  if (const auto l = query.find("limit"); l != query.end()) {
    const auto value = query_number(l->second, 1, kMaxTraceListLimit);
    if (!value)
      return error_answer(400, "limit: expected a number from 1 to " +
                                   std::to_string(kMaxTraceListLimit) + ", got '" + l->second +
                                   "'");
    q.limit = static_cast<std::size_t>(*value);
  }
  if (const auto d = query.find("minDuration"); d != query.end()) {
    auto duration = parse_duration(d->second);
    if (!duration) return error_answer(400, "minDuration: " + duration.error());
    q.min_duration = *duration;
  }
  json traces = json::array();
  for (const auto& t : store_.list(q)) {
    traces.push_back({{"traceId", t.trace_id},
                      {"rootService", t.root_service},
                      {"rootName", t.root_name},
                      {"startTime", utc_rfc3339_micros(t.start_unix_nanos)},
                      {"durationMs", milliseconds(t.duration_nanos)},
                      {"spanCount", t.span_count},
                      {"services", t.services},
                      {"error", t.error}});
  }
  return json_answer(200, json{{"traces", traces}});
}

ApiResponse TraceApi::find(std::string_view trace_id) const {
  auto id = normalize_trace_id(trace_id, true);
  if (!id)
    return error_answer(400, "'" + std::string(trace_id) + "' is not a trace id: " + id.error());
  auto spans = store_.find(*id);
  if (!spans)
    return error_answer(404, "no trace " + *id + " (traces are kept in memory: the most recent " +
                                 std::to_string(store_.limits().max_traces) + ")");
  json out = json::array();
  for (const auto& s : *spans) {
    json attributes = json::object();
    for (const auto& [key, value] : s.attributes) attributes[key] = value;
    out.push_back({{"traceId", s.trace_id},
                   {"spanId", s.span_id},
                   {"parentSpanId", s.parent_span_id},
                   {"name", s.name},
                   {"kind", s.kind},
                   {"service", s.service},
                   {"startTime", utc_rfc3339_micros(s.start_unix_nanos)},
                   {"startUnixNano", std::to_string(s.start_unix_nanos)},
                   {"durationMs", milliseconds(s.end_unix_nanos - s.start_unix_nanos)},
                   {"error", s.error},
                   {"attributes", attributes}});
  }
  return json_answer(200, json{{"traceId", *id}, {"spans", out}});
}

void TraceApi::count_request(std::string_view format, int status) {
  ++requests_[{std::string(format), status}];
}

std::string TraceApi::metrics_text() const {
  const TraceStoreStats s = store_.stats();
  std::string out;
  const auto line = [&](const char* name, const char* type, const char* help, std::uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(v) + "\n";
  };
  line("straitd_collector_spans_received_total", "counter",
       "Spans received by the trace collector.", s.spans_received);
  line("straitd_collector_spans_dropped_total", "counter",
       "Spans refused by the collector's limits (spans per trace, bytes).", s.spans_dropped);
  line("straitd_collector_traces_evicted_total", "counter",
       "Traces evicted to make room, least recently updated first.", s.traces_evicted);
  line("straitd_collector_traces", "gauge", "Traces held in memory.", s.traces);
  line("straitd_collector_spans", "gauge", "Spans held in memory.", s.spans);
  out +=
      "# HELP straitd_collector_requests_total Span ingest requests, by format and status code.\n";
  out += "# TYPE straitd_collector_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    out += "straitd_collector_requests_total{format=\"" + key.first + "\",code=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
  }
  return out;
}

}  // namespace strait::control
