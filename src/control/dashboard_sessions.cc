#include "control/dashboard_sessions.h"

#include <algorithm>

#include "common/random.h"
#include "common/sha256.h"

namespace strait::control {

void DashboardSessions::add(Secrets& secrets, std::string digest, Clock::time_point expiry,
                            std::size_t max, Clock::time_point now) {
  std::erase_if(secrets, [&](const auto& entry) { return entry.second <= now; });
  while (secrets.size() >= max) {
    // Every entry has the same lifetime: the one expiring first is the oldest.
    secrets.erase(
        std::min_element(secrets.begin(), secrets.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
  secrets.emplace(std::move(digest), expiry);
}

std::expected<std::string, std::string> DashboardSessions::issue_code(Clock::time_point now) {
  auto code = random_hex(16);
  if (!code) return std::unexpected(code.error());
  add(codes_, sha256(*code), now + kCodeLifetime, kMaxCodes, now);
  return *code;
}

std::optional<std::string> DashboardSessions::redeem(std::string_view code, Clock::time_point now) {
  auto it = codes_.find(sha256(code));
  if (it == codes_.end()) return std::nullopt;
  const bool live = now < it->second;
  codes_.erase(it);  // spent, whether or not it was still good
  if (!live) return std::nullopt;
  auto session = random_hex(32);
  if (!session) return std::nullopt;
  add(sessions_, sha256(*session), now + kSessionLifetime, kMaxSessions, now);
  return *session;
}

bool DashboardSessions::valid(std::string_view session, Clock::time_point now) const {
  if (session.empty()) return false;
  auto it = sessions_.find(sha256(session));
  return it != sessions_.end() && now < it->second;
}

void DashboardSessions::end(std::string_view session) {
  sessions_.erase(sha256(session));
}

std::size_t DashboardSessions::sessions(Clock::time_point now) const {
  return static_cast<std::size_t>(std::count_if(sessions_.begin(), sessions_.end(),
                                                [&](const auto& e) { return now < e.second; }));
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semicolon = header.find(';');
    std::string_view pair = header.substr(0, semicolon);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    while (!pair.empty() && (pair.back() == ' ' || pair.back() == '\t')) pair.remove_suffix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    if (semicolon == std::string_view::npos) break;
    header.remove_prefix(semicolon + 1);
  }
  return {};
}

}  // namespace strait::control
