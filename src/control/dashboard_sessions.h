// How a browser signs in to straitd's dashboard without the admin token ever being in a page:
// `straitctl dashboard` (with the admin token) asks for a one-time sign-in code and prints a URL
// with it; opening /login?code=... exchanges the code, once and within kCodeLifetime, for a
// session, kept in an HttpOnly, SameSite=Strict cookie. A session may read the API (GET) and
// nothing else. Codes and sessions live in straitd's memory only (a restart signs everyone out)
// and are kept as SHA-256 digests, so that a lookup's timing tells nothing of a secret.
//
// Not thread-safe: used on straitd's main thread (the API's).
#pragma once

#include <chrono>
#include <cstddef>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace strait::control {

class DashboardSessions {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kCodeLifetime = std::chrono::minutes(10);
  static constexpr auto kSessionLifetime = std::chrono::hours(12);
  // The most of each kept at once; the oldest goes first.
  static constexpr std::size_t kMaxCodes = 32;
  static constexpr std::size_t kMaxSessions = 64;
  static constexpr std::string_view kCookieName = "strait_session";

  // A new one-time code (hex, 128 random bits); an error only when no randomness is available.
  [[nodiscard]] std::expected<std::string, std::string> issue_code(Clock::time_point now);
  // Spends `code` (good once, before it expires) on a new session; its id (hex, 256 bits).
  [[nodiscard]] std::optional<std::string> redeem(std::string_view code, Clock::time_point now);
  [[nodiscard]] bool valid(std::string_view session, Clock::time_point now) const;
  void end(std::string_view session);
  [[nodiscard]] std::size_t sessions(Clock::time_point now) const;

 private:
  // Digest -> expiry. Expired entries are dropped whenever a new one is added.
  using Secrets = std::map<std::string, Clock::time_point>;
  static void add(Secrets& secrets, std::string digest, Clock::time_point expiry, std::size_t max,
                  Clock::time_point now);
  Secrets codes_;
  Secrets sessions_;
};

// The value of cookie `name` in a Cookie header ("a=1; b=2"); empty when absent.
[[nodiscard]] std::string_view cookie_value(std::string_view header, std::string_view name);

}  // namespace strait::control
