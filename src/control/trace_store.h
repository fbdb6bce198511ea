// straitd's trace collector keeps recent traces in memory: spans arrive over OTLP/HTTP JSON or
// Zipkin v2 JSON (otlp_json.h, zipkin_json.h), are grouped by trace id, and are served by the API
// (GET /api/v1/traces). Memory is bounded by counts (traces, spans per trace, spans in all) and by
// an approximate byte budget; when a bound is reached the least recently updated trace goes.
// Thread-safe (one mutex): straitd is not the data path.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace strait::control {

// The most spans one ingest request (OTLP or Zipkin) may carry.
inline constexpr std::size_t kMaxSpansPerRequest = 10000;

// What a span without a service name is attributed to (OpenTelemetry's default).
inline constexpr std::string_view kUnknownService = "unknown_service";

// One span as the collector keeps it, whatever format it came in.
struct CollectedSpan {
  std::string trace_id;        // 32 lower-case hex digits, not all zero
  std::string span_id;         // 16 lower-case hex digits, not all zero
  std::string parent_span_id;  // 16 hex digits, or "" for a root span
  std::string name;
  std::string kind;     // "server", "client", "internal", "producer", "consumer", "unspecified"
  std::string service;  // resource service.name (OTLP), localEndpoint.serviceName (Zipkin)
  std::int64_t start_unix_nanos = 0;
  std::int64_t end_unix_nanos = 0;  // never before start
  bool error = false;
  // Values as text: numbers and booleans printed, arrays and maps as compact JSON.
  std::vector<std::pair<std::string, std::string>> attributes;
};

// A trace id in lower case: 32 hex digits, or with `allow_64_bit` (Zipkin) also 16, left-padded
// with zeros to 32. The error is the reason alone ("not 32 hex digits", "all zeros").
[[nodiscard]] std::expected<std::string, std::string> normalize_trace_id(std::string_view text,
                                                                         bool allow_64_bit);
// A span id in lower case: 16 hex digits, not all zero.
[[nodiscard]] std::expected<std::string, std::string> normalize_span_id(std::string_view text);

struct TraceStoreLimits {
  std::size_t max_traces = 2000;
  std::size_t max_spans_per_trace = 512;
  std::size_t max_spans = 50000;
  // Approximate bytes held by spans (their strings and fixed fields): a bound on memory that span
  // counts alone do not give, since one span may carry megabytes of attributes.
  std::size_t max_bytes = 64 * 1024 * 1024;
};

// The outcome of one add().
struct TraceAddResult {
  std::size_t accepted = 0;  // stored (new, or replacing an earlier copy)
  std::size_t dropped = 0;   // refused: the trace is full, or a span alone exceeds max_bytes
};

struct TraceSummary {
  std::string trace_id;
  std::string root_service;
  std::string root_name;
  std::int64_t start_unix_nanos = 0;
  std::int64_t duration_nanos = 0;  // latest end - earliest start
  std::size_t span_count = 0;
  std::vector<std::string> services;  // distinct, sorted
  bool error = false;                 // any span has error
};

struct TraceStoreStats {
  std::uint64_t spans_received = 0;  // every span handed to add()
  std::uint64_t spans_dropped = 0;   // TraceAddResult::dropped, summed
  std::uint64_t traces_evicted = 0;  // traces removed to make room
  std::size_t traces = 0;
  std::size_t spans = 0;
  std::size_t bytes = 0;
};

struct TraceQuery {
  std::string service;  // "" for all; else traces with at least one span of this service
  std::size_t limit = 20;
  std::chrono::nanoseconds min_duration{0};
};

class TraceStore {
 public:
  explicit TraceStore(TraceStoreLimits limits = {}) : limits_(limits) {}

  // Stores the spans, grouped by trace id. A span whose (trace id, span id) is already stored
  // replaces that copy. A span beyond max_spans_per_trace is dropped; reaching max_traces,
  // max_spans or max_bytes evicts the least recently updated other traces first.
  TraceAddResult add(std::vector<CollectedSpan> spans);

  // Summaries, newest trace start first (ties by trace id), at most query.limit.
  [[nodiscard]] std::vector<TraceSummary> list(const TraceQuery& query) const;
  // Every span of the trace, by start time (ties by span id); nullopt when it is not held.
  [[nodiscard]] std::optional<std::vector<CollectedSpan>> find(std::string_view trace_id) const;

  [[nodiscard]] TraceStoreStats stats() const;
  [[nodiscard]] const TraceStoreLimits& limits() const { return limits_; }

 private:
  struct Trace {
    std::vector<CollectedSpan> spans;
    std::unordered_map<std::string, std::size_t> by_span_id;  // index into spans
    std::size_t bytes = 0;
    std::list<std::string>::iterator recency;  // position in recency_ (front: least recent)
  };

  // Removes the least recently updated trace other than `keep`; false when there is none.
  bool evict_one(const std::string& keep);
  void touch(Trace& trace);

  const TraceStoreLimits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Trace> traces_;
  std::list<std::string> recency_;
  std::size_t spans_ = 0;
  std::size_t bytes_ = 0;
  std::uint64_t spans_received_ = 0;
  std::uint64_t spans_dropped_ = 0;
  std::uint64_t traces_evicted_ = 0;
};

}  // namespace strait::control
