// What a sidecar reports of one hop of a traced request: fixed-size and trivially copyable, so that
// a worker queues it for the exporter without allocating (span_exporter.h).
#pragma once

#include <cstdint>

#include "proxy/fixed_text.h"
#include "proxy/trace_context.h"

namespace strait::proxy {

enum class SpanKind : std::uint8_t { kServer, kClient };

struct SpanRecord {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // zero: the trace's root
  SpanKind kind = SpanKind::kServer;
  std::int64_t start_unix_nanos = 0;
  std::int64_t end_unix_nanos = 0;
  int status_code = 0;  // 0: no response
  bool error = false;   // as the caller judged it (the proxy: status >= 500, or no response)
  FixedText<16> method;
  FixedText<8> protocol;
  FixedText<128> authority;
  FixedText<256> path;  // without the query
  FixedText<64> response_flags;
  FixedText<160> upstream_cluster;
  FixedText<64> upstream_host;
  FixedText<64> peer_address;
  FixedText<64> request_id;
  FixedText<128> user_agent;
};

}  // namespace strait::proxy
