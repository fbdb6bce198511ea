#include "common/duration.h"

#include <cmath>
#include <cstdint>

namespace strait {

std::expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text) {
  if (text.empty()) return std::unexpected("empty duration");
  double total_ms = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t number_start = i;
    bool seen_dot = false;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || (text[i] == '.' && !seen_dot))) {
      seen_dot = seen_dot || text[i] == '.';
      ++i;
    }
    if (i == number_start) {
      return std::unexpected("expected a number at '" + std::string(text.substr(number_start)) + "'");
    }
    double value = 0;
    double scale = 0;
    for (std::size_t k = number_start; k < i; ++k) {
      if (text[k] == '.') {
        scale = 1;
        continue;
      }
      if (scale > 0) {
        scale /= 10;
        value += (text[k] - '0') * scale;
      } else {
        value = value * 10 + (text[k] - '0');
      }
    }
    const std::size_t unit_start = i;
    while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z'))) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    double factor = 0;
    if (unit == "h") factor = 3'600'000;
    else if (unit == "m") factor = 60'000;
    else if (unit == "s") factor = 1'000;
    else if (unit == "ms") factor = 1;
    else if (unit == "us") factor = 0.001;
    else if (unit == "ns") factor = 0.000001;
    else if (unit.empty()) return std::unexpected("missing unit in '" + std::string(text) + "' (use ms, s, m or h)");
    else return std::unexpected("unknown unit '" + std::string(unit) + "' in '" + std::string(text) + "'");
    total_ms += value * factor;
  }
  if (total_ms > 1e15) return std::unexpected("duration '" + std::string(text) + "' is too large");
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::floor(total_ms)));
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 3'600'000 == 0 && ms != 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms != 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1'000 == 0 && ms != 0) return std::to_string(ms / 1'000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace strait
