// Times as text, the way strait shows and stores them: UTC ISO 8601 to the second (spans: to the
// microsecond).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace strait {

// "2026-11-22T01:33:57Z"
[[nodiscard]] std::string utc_iso8601(std::chrono::system_clock::time_point t);
[[nodiscard]] std::string utc_iso8601_from_unix(std::int64_t seconds);
// Nanoseconds since the Unix epoch, now (a vDSO clock read, no syscall): span and log start times.
[[nodiscard]] inline std::int64_t unix_nanos_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
// RFC 3339 to the microsecond (rounded down), for span times: "2026-11-22T01:33:57.250000Z"
[[nodiscard]] std::string utc_rfc3339_micros(std::int64_t unix_nanos);

}  // namespace strait
