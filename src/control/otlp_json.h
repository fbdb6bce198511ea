// OTLP/HTTP traces in the JSON encoding (an ExportTraceServiceRequest, as POST /v1/traces carries
// it) into the collector's spans. Follows the OTLP JSON rules: ids are hex (not base64), 64-bit
// integers may be strings or numbers, enums may be integers or their names; unknown fields are
// ignored; the legacy "instrumentationLibrarySpans" is read like "scopeSpans".
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "control/trace_store.h"

namespace strait::control {

// The spans of the request, or one line naming the first problem with its JSON path
// ("resourceSpans[0].scopeSpans[1].spans[3].traceId: not 32 hex digits"). At most
// kMaxSpansPerRequest spans.
[[nodiscard]] std::expected<std::vector<CollectedSpan>, std::string> parse_otlp_json(
    std::string_view body);

}  // namespace strait::control
