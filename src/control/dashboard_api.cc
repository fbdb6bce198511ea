#include "control/dashboard_api.h"

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace strait::control {
namespace {

using Clock = DashboardSessions::Clock;

// A request a browser made from straitd's own page, or (`or_typed`) one a person typed or
// followed: the Sec-Fetch-Site field; absent, not a browser that sends it. A page of another port
// on the same host is "same-site", not "same-origin", and is refused.
bool from_own_page(std::string_view sec_fetch_site, bool or_typed) {
  return sec_fetch_site.empty() || sec_fetch_site == "same-origin" ||
         (or_typed && sec_fetch_site == "none");
}

// The Set-Cookie value that sets the session cookie ("" and 0 s: removes it).
std::string session_cookie(std::string_view value, std::chrono::seconds max_age) {
  return std::string(DashboardSessions::kCookieName) + "=" + std::string(value) +
         "; Path=/; Max-Age=" + std::to_string(max_age.count()) + "; HttpOnly; SameSite=Strict";
}

std::string_view session_of(const ApiRequest& request) {
  return cookie_value(request.cookie, DashboardSessions::kCookieName);
}

}  // namespace

std::expected<void, std::string> DashboardApi::load(std::string dir) {
  if (dir.empty()) {
    std::error_code error;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
    if (error) {
      missing_ = "cannot find straitd's own path (" + error.message() + "): pass --dashboard-dir";
      return std::unexpected(missing_);
    }
    dir = (exe.parent_path().parent_path() / "dashboard").string();
  }
  dir_ = std::move(dir);
  auto loaded = DashboardAssets::load(dir_);
  if (!loaded) {
    missing_ = loaded.error();
    return std::unexpected(missing_);
  }
  assets_ = std::move(*loaded);
  return {};
}

ApiResponse DashboardApi::sign_in_code(std::string_view method) {
  if (method != "POST") return error_answer(405, "use POST on /api/v1/dashboard/login");
  auto code = sessions_.issue_code(Clock::now());
  if (!code) return error_answer(500, "cannot make a sign-in code: " + code.error());
  return json_answer(
      200, nlohmann::json{{"code", *code},
                          {"path", "/login?code=" + *code},
                          {"expiresInSeconds", std::chrono::duration_cast<std::chrono::seconds>(
                                                   DashboardSessions::kCodeLifetime)
                                                   .count()}});
}

DashboardApi::Session DashboardApi::session(const ApiRequest& request,
                                            std::string_view path) const {
  if (!sessions_.valid(session_of(request), Clock::now())) return Session::kNone;
  // What the page reads: not the sign-in codes, nor taps (every request's path and query).
  const bool may = request.method == "GET" && path != "/api/v1/dashboard/login" &&
                   !path.ends_with("/tap") && from_own_page(request.sec_fetch_site, false);
  return may ? Session::kMayCall : Session::kRefused;
}

std::optional<ApiResponse> DashboardApi::page(const ApiRequest& request, std::string_view path,
                                              const std::map<std::string, std::string>& query) {
  if (path == "/login" || path == "/logout") {
    if (request.method != "GET") return error_answer(405, "use GET on " + std::string(path));
    if (!from_own_page(request.sec_fetch_site, true))
      return error_answer(403, "sign in and out from straitd's own page or a link you opened");
    ApiResponse r{303, "text/plain; charset=utf-8", "signed in: see /\n", {{"Location", "/"}}};
    if (path == "/logout") {
      sessions_.end(session_of(request));
      r.body = "signed out\n";
      r.headers.emplace_back("Set-Cookie", session_cookie("", std::chrono::seconds(0)));
      return r;
    }
    auto code = query.find("code");
    auto session = code == query.end() ? std::nullopt : sessions_.redeem(code->second, Clock::now());
    if (!session) {
      return ApiResponse{
          401, "text/plain; charset=utf-8",
          "This sign-in link is spent or has expired (each works once, for 10 minutes).\n"
          "Run `straitctl dashboard` for a new one.\n"};
    }
    r.headers.emplace_back(
        "Set-Cookie",
        session_cookie(*session, std::chrono::duration_cast<std::chrono::seconds>(
                                     DashboardSessions::kSessionLifetime)));
    return r;
  }
  const DashboardFile* file = assets_ ? assets_->find(path) : nullptr;
  if (file == nullptr) {
    if (path != "/" && path != "/index.html") return std::nullopt;
    return ApiResponse{404, "text/plain; charset=utf-8",
                       "The dashboard is not available: " + missing_ + "\n"};
  }
  if (request.method != "GET") return error_answer(405, "use GET on the dashboard");
  ApiResponse r{200, file->content_type, file->body};
  r.headers.emplace_back("Cache-Control",
                         file->immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (file->content_type.starts_with("text/html")) {
    // The page runs its own scripts only and is never framed; no address leaves in a Referer.
    // (Inline styles stay allowed: cytoscape.js applies one, which the browser test would report.)
    r.headers.emplace_back(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'");
    r.headers.emplace_back("X-Frame-Options", "DENY");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
  }
  return r;
}

}  // namespace strait::control
