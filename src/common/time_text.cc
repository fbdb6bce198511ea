#include "common/time_text.h"

#include <cstdio>
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

std::string utc_rfc3339_micros(std::int64_t unix_nanos) {
  std::int64_t seconds = unix_nanos / 1'000'000'000;
  std::int64_t nanos = unix_nanos % 1'000'000'000;
  if (nanos < 0) {
    --seconds;
    nanos += 1'000'000'000;
  }
  std::string out = utc_iso8601_from_unix(seconds);  // "...:SSZ"
  if (out.empty()) return out;
  char fraction[16];
  std::snprintf(fraction, sizeof fraction, ".%06lldZ", static_cast<long long>(nanos / 1000));
  out.pop_back();
  return out + fraction;
}

std::string utc_iso8601(std::chrono::system_clock::time_point t) {
  return utc_iso8601_from_unix(std::chrono::system_clock::to_time_t(t));
}

}  // namespace strait
