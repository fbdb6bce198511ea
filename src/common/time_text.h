// Times as text, the way strait shows and stores them: UTC ISO 8601 to the second.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace strait {

// "2026-11-22T01:33:57Z"
[[nodiscard]] std::string utc_iso8601(std::chrono::system_clock::time_point t);
[[nodiscard]] std::string utc_iso8601_from_unix(std::int64_t seconds);

}  // namespace strait
