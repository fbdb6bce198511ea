// The invariants shared by the trace collector's fuzz targets (otlp_json_fuzz, zipkin_json_fuzz):
// whatever a span parser accepts holds the collector's invariants, and the store takes it within
// its limits; what it refuses comes with a one-line reason.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "control/trace_store.h"
#include "fuzz_check.h"

namespace strait::fuzz {

// `short_trace_ids`: the format allows 16-hex trace ids (Zipkin), which the parser pads.
inline void check_collected_spans(
    std::expected<std::vector<control::CollectedSpan>, std::string> spans, bool short_trace_ids) {
  using namespace strait::control;
  if (!spans) {
    FUZZ_CHECK(!spans.error().empty());
    FUZZ_CHECK(spans.error().find('\n') == std::string::npos);
    return;
  }
  FUZZ_CHECK(spans->size() <= kMaxSpansPerRequest);
  for (const auto& s : *spans) {
    FUZZ_CHECK(normalize_trace_id(s.trace_id, short_trace_ids).value_or("") == s.trace_id);
    FUZZ_CHECK(normalize_span_id(s.span_id).value_or("") == s.span_id);
    FUZZ_CHECK(s.parent_span_id.empty() || normalize_span_id(s.parent_span_id).has_value());
    FUZZ_CHECK(s.start_unix_nanos >= 0 && s.end_unix_nanos >= s.start_unix_nanos);
    FUZZ_CHECK(!s.kind.empty() && !s.service.empty());
  }
  TraceStore store(TraceStoreLimits{
      .max_traces = 4, .max_spans_per_trace = 8, .max_spans = 16, .max_bytes = 64 * 1024});
  const auto added = store.add(std::move(*spans));
  const auto stats = store.stats();
  FUZZ_CHECK(added.accepted + added.dropped == stats.spans_received);
  FUZZ_CHECK(stats.traces <= 4 && stats.spans <= 16 && stats.bytes <= 64 * 1024);
  for (const auto& summary : store.list({.limit = 10})) {
    const auto found = store.find(summary.trace_id);
    FUZZ_CHECK(found.has_value() && found->size() == summary.span_count);
    FUZZ_CHECK(summary.duration_nanos >= 0);
  }
}

}  // namespace strait::fuzz
