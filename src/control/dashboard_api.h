// The dashboard's side of straitd's API (docs/dashboard.md): its built files at / and /assets/...,
// a browser's sign-in (/login?code=..., /logout), the one-time codes straitctl asks for (POST
// /api/v1/dashboard/login, behind the admin token), and what a signed-in browser may call. Behind
// ConfigApi, which routes and authenticates; on straitd's main thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "control/config_api.h"
#include "control/dashboard_assets.h"
#include "control/dashboard_sessions.h"

namespace strait::control {

class DashboardApi {
 public:
  // What a request's session cookie lets it do (the request has no admin token).
  enum class Session : std::uint8_t {
    kNone,     // no valid session
    kMayCall,  // a GET of what the page reads, from straitd's own page
    kRefused,  // a valid session, but not for this call
  };

  // Reads the built files from `dir` ("": dashboard/ beside straitd's bin/, as built). Without
  // them the API works and / says why: the error.
  std::expected<void, std::string> load(std::string dir);
  [[nodiscard]] std::size_t files() const { return assets_ ? assets_->size() : 0; }
  [[nodiscard]] const std::string& dir() const { return dir_; }

  // A page of the dashboard's own (/, /assets/..., /login, /logout); nullopt for any other path.
  [[nodiscard]] std::optional<ApiResponse> page(const ApiRequest& request, std::string_view path,
                                                const std::map<std::string, std::string>& query);
  // POST /api/v1/dashboard/login.
  [[nodiscard]] ApiResponse sign_in_code(std::string_view method);
  [[nodiscard]] Session session(const ApiRequest& request, std::string_view path) const;

 private:
  std::optional<DashboardAssets> assets_;
  std::string missing_ = "straitd was started without one";
  std::string dir_;
  DashboardSessions sessions_;
};

}  // namespace strait::control
