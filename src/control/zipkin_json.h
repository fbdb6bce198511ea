// Zipkin v2 spans in JSON (a list, as POST /api/v2/spans carries it) into the collector's spans:
// 64- or 128-bit trace ids, epoch microseconds, string tags ("error" marks a failed span), kind
// CLIENT, SERVER, PRODUCER or CONSUMER (absent: internal). Unknown fields are ignored.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "control/trace_store.h"

namespace strait::control {

// The spans of the request, or one line naming the first problem with its JSON path
// ("[2].timestamp: expected epoch microseconds"). At most kMaxSpansPerRequest spans.
[[nodiscard]] std::expected<std::vector<CollectedSpan>, std::string> parse_zipkin_json(
    std::string_view body);

}  // namespace strait::control
