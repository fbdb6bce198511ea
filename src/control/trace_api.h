// The trace collector's calls, behind ConfigApi (which routes and authenticates them):
//   POST /v1/traces       OTLP/HTTP JSON          200 {"partialSuccess":{...}}
//   POST /api/v2/spans    Zipkin v2 JSON          202 {}
//   GET  /api/v1/traces?service=S&limit=N&minDuration=D   summaries, newest first
//   GET  /api/v1/traces/{traceId}                          every span, by start time
// and the collector's lines of /metrics. docs/control-plane.md has the shapes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "control/config_api.h"
#include "control/trace_store.h"

namespace strait::control {

// The largest and the default `limit` of a trace listing.
inline constexpr std::size_t kMaxTraceListLimit = 1000;
inline constexpr std::size_t kDefaultTraceListLimit = 20;

class TraceApi {
 public:
  explicit TraceApi(TraceStore& store) : store_(store) {}

  // The bodies as received; `content_type` and `content_encoding` are the request's fields.
  [[nodiscard]] ApiResponse ingest_otlp(std::string_view content_type,
                                        std::string_view content_encoding, std::string_view body);
  [[nodiscard]] ApiResponse ingest_zipkin(std::string_view content_type,
                                          std::string_view content_encoding, std::string_view body);
  [[nodiscard]] ApiResponse list(const std::map<std::string, std::string>& query) const;
  [[nodiscard]] ApiResponse find(std::string_view trace_id) const;

  // Counts an ingest request's answer in straitd_collector_requests_total.
  void count_request(std::string_view format, int status);
  // The straitd_collector_* lines of /metrics.
  [[nodiscard]] std::string metrics_text() const;

 private:
  TraceStore& store_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;  // (format, status) -> count
};

}  // namespace strait::control
