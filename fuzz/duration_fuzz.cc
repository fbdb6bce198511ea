// libFuzzer target for durations ("30ms", "1m30s", "1.5s"): parse_duration must never crash, and
// what it accepts must be a non-negative whole number of milliseconds that formats and parses back
// to itself. A violated invariant aborts so that libFuzzer records a crash.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/duration.h"
#include "fuzz_check.h"

namespace {

constexpr std::int64_t kMaxMs = 1'000'000'000'000'000;  // the documented upper limit

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);
  const auto parsed = strait::parse_duration(text);
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().empty());
    return 0;
  }
  const std::int64_t ms = parsed->count();
  FUZZ_CHECK(ms >= 0);
  FUZZ_CHECK(ms <= kMaxMs);

  // format_duration's output parses back to the same value.
  const std::string formatted = strait::format_duration(*parsed);
  const auto back = strait::parse_duration(formatted);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(*back == *parsed);

  // Terms add exactly: one more millisecond is one more millisecond, however the rest was written.
  if (ms < kMaxMs) {
    const std::string longer = std::string(text) + "1ms";
    const auto plus_one = strait::parse_duration(longer);
    FUZZ_CHECK(plus_one.has_value());
    FUZZ_CHECK(plus_one->count() == ms + 1);
  }
  return 0;
}
