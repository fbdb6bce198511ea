#include "ctl/tap_view.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

namespace strait::ctl {
namespace {

constexpr const char* kRow = "{:<12}  {:<3}  {:<7}  {:<7}  {:>9}  {:<28}  {}{}\n";

std::string text(const nlohmann::json& event, const char* field) {
  auto it = event.find(field);
  return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "2026-12-07T13:45:01.123456Z" as local "13:45:01.123"; the text itself when it is not that.
std::string local_clock(const std::string& rfc3339) {
  std::tm utc{};
  const char* end = ::strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &utc);
  if (end == nullptr) return rfc3339;
  const std::time_t seconds = ::timegm(&utc);
  int millis = 0;
  if (*end == '.') {
    for (int digits = 0; digits < 3 && end[1 + digits] >= '0' && end[1 + digits] <= '9'; ++digits)
      millis = millis * 10 + (end[1 + digits] - '0');
  }
  std::tm local{};
  ::localtime_r(&seconds, &local);
  char clock[16];
  std::strftime(clock, sizeof clock, "%H:%M:%S", &local);
  return fmt::format("{}.{:03}", clock, millis);
}

std::string duration_text(double ms) {
  if (ms < 1) return fmt::format("{:.0f}us", ms * 1000);
  if (ms < 1000) return fmt::format("{:.1f}ms", ms);
  return fmt::format("{:.2f}s", ms / 1000);
}

}  // namespace

std::string short_identity(const std::string& spiffe_id) {
  const auto ns = spiffe_id.find("/ns/");
  const auto sa = spiffe_id.find("/sa/");
  if (!spiffe_id.starts_with("spiffe://") || ns == std::string::npos || sa == std::string::npos ||
      sa < ns)
    return spiffe_id;
  return spiffe_id.substr(sa + 4) + "." + spiffe_id.substr(ns + 4, sa - ns - 4);
}

std::string tap_header(bool color) {
  const std::string row = fmt::format(kRow, "TIME", "DIR", "METHOD", "STATUS", "DURATION", "PEER",
                                      "REQUEST", "  FLAGS");
  return color ? "\x1b[1m" + row.substr(0, row.size() - 1) + "\x1b[0m\n" : row;
}

std::string render_tap_event(const nlohmann::json& event, bool color) {
  const bool inbound = text(event, "direction") == "inbound";
  const bool tcp = event.value("tcp", false);
  const int status = event.value("status", 0);
  std::string status_text = tcp ? "-" : (status == 0 ? "none" : std::to_string(status));
  if (auto grpc = event.find("grpcStatus"); grpc != event.end() && grpc->is_number_integer())
    status_text += "/" + std::to_string(grpc->get<int>());
  std::string peer = inbound ? short_identity(text(event, "peer")) : text(event, "upstreamHost");
  if (peer.empty()) peer = inbound ? text(event, "downstreamAddress") : "-";
  const std::string request =
      tcp ? text(event, "upstreamCluster") : text(event, "authority") + text(event, "path");
  const std::string flags = text(event, "flags");
  const double ms = event.contains("durationMs") && event["durationMs"].is_number()
                        ? event["durationMs"].get<double>()
                        : 0.0;
  std::string line =
      fmt::format(kRow, local_clock(text(event, "start")), inbound ? "in" : "out",
                  tcp ? "TCP" : text(event, "method"), status_text, duration_text(ms), peer,
                  request, flags.empty() || flags == "-" ? "" : "  " + flags);
  const bool failed = !tcp && (status == 0 || status >= 500);
  if (color && failed) line = "\x1b[31m" + line.substr(0, line.size() - 1) + "\x1b[0m\n";
  return line;
}

}  // namespace strait::ctl
