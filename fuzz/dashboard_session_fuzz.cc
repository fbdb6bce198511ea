// libFuzzer target for what a browser sends straitd's dashboard (control/dashboard_sessions.h): a
// Cookie field and a sign-in code. The cookie reader never crashes and returns a part of the field
// only; no made-up cookie or code opens a session.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/dashboard_sessions.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  using namespace strait::control;
  const std::string_view header(reinterpret_cast<const char*>(bytes), size);
  const std::string_view value = cookie_value(header, DashboardSessions::kCookieName);
  // A view into the field itself, after "strait_session=".
  FUZZ_CHECK(value.empty() || (value.data() >= header.data() &&
                               value.data() + value.size() <= header.data() + header.size()));
  FUZZ_CHECK(value.find(';') == std::string_view::npos);

  static DashboardSessions sessions;
  const auto now = DashboardSessions::Clock::now();
  FUZZ_CHECK(!sessions.valid(value, now));
  FUZZ_CHECK(!sessions.valid(header, now));
  FUZZ_CHECK(!sessions.redeem(header, now));
  return 0;
}
