// libFuzzer target for trace context parsing (proxy/trace_context.h): the input, split at '\n',
// gives the eight trace headers' values. Parsing never fails loudly, a context with ids has
// non-zero ids, and the traceparent written for it parses back to the same trace and decision.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "proxy/trace_context.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  using namespace strait::proxy;
  std::string_view text(reinterpret_cast<const char*>(bytes), size);
  TraceHeaders headers;
  std::string_view* slots[] = {&headers.traceparent,  &headers.tracestate,
                               &headers.b3,           &headers.x_b3_traceid,
                               &headers.x_b3_spanid,  &headers.x_b3_parentspanid,
                               &headers.x_b3_sampled, &headers.x_b3_flags};
  for (auto* slot : slots) {
    const auto newline = text.find('\n');
    *slot = text.substr(0, newline);
    if (newline == std::string_view::npos) break;
    text.remove_prefix(newline + 1);
  }
  const TraceContext context = parse_trace_context(headers);
  if (!context.has_ids) return 0;
  FUZZ_CHECK(!is_zero(context.trace_id) && !is_zero(context.span_id));
  FUZZ_CHECK(context.tracestate_size <= context.tracestate.size());
  const SpanId span = new_span_id();
  const OutgoingTraceHeaders out(context, span, context.span_id);
  TraceHeaders again;
  for (const auto& field : out.fields())
    FUZZ_CHECK(note_trace_header(again, field.name, field.value));
  const TraceContext reparsed = parse_trace_context(again);
  FUZZ_CHECK(reparsed.has_ids && reparsed.format == TraceFormat::kW3c);
  FUZZ_CHECK(reparsed.trace_id == context.trace_id && reparsed.span_id == span);
  FUZZ_CHECK((reparsed.sampling == Sampling::kSampled) == (context.sampling == Sampling::kSampled));
  return 0;
}
