// What a sidecar reports of one hop of a traced request: fixed-size and trivially copyable, so that
// a worker queues it for the exporter without allocating (span_exporter.h).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

#include "proxy/trace_context.h"

namespace strait::proxy {

// Text cut to N bytes (at a UTF-8 character boundary).
template <std::size_t N>
struct FixedText {
  std::array<char, N> data{};
  std::uint16_t size = 0;

  void assign(std::string_view text) {
    std::size_t n = std::min(text.size(), N);
    if (n < text.size()) {
      while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xc0) == 0x80) --n;
    }
    std::copy_n(text.data(), n, data.data());
    size = static_cast<std::uint16_t>(n);
  }
  [[nodiscard]] std::string_view view() const { return {data.data(), size}; }
};

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
