// How `straitctl traces` prints the collector's traces: a table of summaries, and one trace as a
// waterfall. Pure functions of straitd's JSON answers (GET /api/v1/traces[/{id}]), so that they
// are tested without a server; fields of the wrong type read as absent, nothing throws.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace strait::ctl {

// The columns of a bar in the waterfall.
inline constexpr int kWaterfallWidth = 40;

// Columns TRACE ID, ROOT ("service: name"), START, DURATION, SPANS, SERVICES, ERROR, one row per
// entry of answer["traces"].
[[nodiscard]] std::string render_trace_table(const nlohmann::json& answer, bool color);

// A line for the trace, then one line per span, indented two spaces per level under its parent
// (children by start time; spans whose parent is not in the trace at the top level):
//   <service>: <name> [<kind>]  +<offset>ms  <duration>ms  <bar>  <status>
// where the bar is `width` columns of '─' with '█' where the span ran (at least one), scaled to
// the trace's duration, and the status is the http.status_code or http.response.status_code
// attribute, followed by "ERROR" for a failed span.
[[nodiscard]] std::string render_waterfall(const nlohmann::json& trace, int width);

}  // namespace strait::ctl
