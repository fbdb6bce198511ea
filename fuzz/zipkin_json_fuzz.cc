// libFuzzer target for the trace collector's Zipkin v2 JSON parser (control/zipkin_json.h): any
// bytes parse or are refused without crashing, with the invariants of collected_spans_checks.h.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collected_spans_checks.h"
#include "control/zipkin_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);
  strait::fuzz::check_collected_spans(strait::control::parse_zipkin_json(text), true);
  return 0;
}
