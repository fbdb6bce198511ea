#include "common/time_text.h"

#include <ctime>

namespace strait {

std::string utc_iso8601_from_unix(std::int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  const std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buffer, n);
}

std::string utc_iso8601(std::chrono::system_clock::time_point t) {
  return utc_iso8601_from_unix(std::chrono::system_clock::to_time_t(t));
}

}  // namespace strait
