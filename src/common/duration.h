// Durations in the forms Istio accepts: "30ms", "5s", "1m30s", "1h", "1.5s", "250us".
#pragma once

#include <chrono>
#include <expected>
#include <string>
#include <string_view>

namespace strait {

// Parses a sequence of <decimal><unit> terms (units h, m, s, ms, us, ns); the total is rounded down
// to whole milliseconds. Errors say what was wrong ("missing unit", "unknown unit 'x'").
[[nodiscard]] std::expected<std::chrono::milliseconds, std::string> parse_duration(
    std::string_view text);

[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

}  // namespace strait
