// Trace context propagation: W3C Trace Context (traceparent, tracestate) and B3 (the single `b3`
// header and the x-b3-* headers), read from a request and written onto the request the proxy sends
// on. Parsing is strict (a malformed context is no context); nothing here allocates or throws,
// but hex_text, which the exporters use.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace strait::proxy {

enum class Sampling : std::uint8_t { kUnset, kSampled, kNotSampled };  // B3 "d" (debug): sampled
enum class TraceFormat : std::uint8_t { kNone, kW3c, kB3Single, kB3Multi };
using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

// The raw values of one request's trace headers.
struct TraceHeaders {
  std::string_view traceparent, tracestate, b3, x_b3_traceid, x_b3_spanid, x_b3_parentspanid,
      x_b3_sampled, x_b3_flags;
};

// If `name` (any case) is a trace header, stores `value` and returns true.
bool note_trace_header(TraceHeaders& headers, std::string_view name, std::string_view value);
// Whether `name` (any case) is one of the trace headers (which the proxy replaces).
[[nodiscard]] bool is_trace_header(std::string_view name);

struct TraceContext {
  TraceId trace_id{};
  SpanId span_id{};  // the caller's span: the parent of this hop's
  bool has_ids = false;
  Sampling sampling = Sampling::kUnset;
  TraceFormat format = TraceFormat::kNone;
  std::array<char, 512> tracestate{};  // W3C tracestate, passed on (dropped when longer)
  std::uint16_t tracestate_size = 0;
};

// Precedence: a valid traceparent, else a valid b3 header, else valid x-b3-* headers. An invalid
// context gives has_ids false; a bare sampling decision (b3: 0, x-b3-sampled alone) is kept.
[[nodiscard]] TraceContext parse_trace_context(const TraceHeaders& headers);

struct HeaderField {
  std::string_view name, value;
};

// The headers that carry `context`'s trace on, with `span` as the current span (its parent
// `parent`, zero for none): traceparent (and tracestate), the x-b3-* headers, and b3 when the
// context came in that form. The values live in the object.
class OutgoingTraceHeaders {
 public:
  OutgoingTraceHeaders(const TraceContext& context, const SpanId& span, const SpanId& parent);
  OutgoingTraceHeaders(const OutgoingTraceHeaders&) = delete;
  OutgoingTraceHeaders& operator=(const OutgoingTraceHeaders&) = delete;
  [[nodiscard]] std::span<const HeaderField> fields() const { return {fields_.data(), count_}; }

 private:
  void add(std::string_view name, std::string_view value);
  std::array<char, 55> traceparent_{};
  std::array<char, 32> b3_trace_{};
  std::array<char, 16> b3_span_{};
  std::array<char, 16> b3_parent_{};
  std::array<char, 68> b3_single_{};
  std::array<char, 512> tracestate_{};
  std::array<HeaderField, 8> fields_{};
  std::size_t count_ = 0;
};

// Random ids (never all zero) from a per-thread generator seeded from the OS: no lock, no system
// call per id.
[[nodiscard]] TraceId new_trace_id();
[[nodiscard]] SpanId new_span_id();
// A sampling decision for a new trace: true with probability percent/100.
[[nodiscard]] bool sample(double percent);

// Lower-case hex of `bytes` into `out` (2 * bytes.size() characters).
void write_hex(std::span<const std::uint8_t> bytes, char* out);
// The same as a string (off the request path: it allocates).
[[nodiscard]] std::string hex_text(std::span<const std::uint8_t> bytes);
[[nodiscard]] bool is_zero(std::span<const std::uint8_t> bytes);

}  // namespace strait::proxy
