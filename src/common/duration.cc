#include "common/duration.h"

#include <algorithm>
#include <cstdint>

namespace strait {

std::expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text) {
  if (text.empty()) return std::unexpected("empty duration");
  // Exact integer arithmetic in nanoseconds: "4.35s" is exactly 4350ms, which a double would round
  // down to 4349. Values past the limit saturate, so nothing overflows however long the text.
  using Wide = unsigned __int128;
  constexpr std::int64_t kMaxMs = 1'000'000'000'000'000;  // about 31,700 years
  constexpr Wide kSaturated = (static_cast<Wide>(kMaxMs) + 1) * 1'000'000;
  constexpr std::uint64_t kMaxFractionScale = 1'000'000'000'000'000'000ULL;  // 18 digits kept
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  Wide total_ns = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t number_start = i;
    Wide whole = 0;
    std::uint64_t fraction = 0;
    std::uint64_t fraction_scale = 1;
    bool has_digits = false;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      has_digits = true;
      if (whole < kSaturated) whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
    }
    if (i < text.size() && text[i] == '.') {
      for (++i; i < text.size() && is_digit(text[i]); ++i) {
        has_digits = true;
        if (fraction_scale < kMaxFractionScale) {
          fraction = fraction * 10 + static_cast<unsigned>(text[i] - '0');
          fraction_scale *= 10;
        }
      }
    }
    if (!has_digits) {
      return std::unexpected("expected a number at '" + std::string(text.substr(number_start)) + "'");
    }
    const std::size_t unit_start = i;
    while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z'))) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    std::uint64_t unit_ns = 0;
    if (unit == "h") unit_ns = 3'600'000'000'000;
    else if (unit == "m") unit_ns = 60'000'000'000;
    else if (unit == "s") unit_ns = 1'000'000'000;
    else if (unit == "ms") unit_ns = 1'000'000;
    else if (unit == "us") unit_ns = 1'000;
    else if (unit == "ns") unit_ns = 1;
    else if (unit.empty()) return std::unexpected("missing unit in '" + std::string(text) + "' (use ms, s, m or h)");
    else return std::unexpected("unknown unit '" + std::string(unit) + "' in '" + std::string(text) + "'");
    const Wide term = whole * unit_ns + static_cast<Wide>(fraction) * unit_ns / fraction_scale;
    total_ns = std::min(total_ns + term, kSaturated);
  }
  const Wide total_ms = total_ns / 1'000'000;
  if (total_ms > static_cast<Wide>(kMaxMs))
    return std::unexpected("duration '" + std::string(text) + "' is too large");
  return std::chrono::milliseconds(static_cast<std::int64_t>(total_ms));
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 3'600'000 == 0 && ms != 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms != 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1'000 == 0 && ms != 0) return std::to_string(ms / 1'000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace strait
