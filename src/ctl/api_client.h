// straitd's REST API as straitctl uses it: base URL, bearer credential, JSON in and out, and the
// one-line error of a failed call.
#pragma once

#include <expected>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "net/http_client.h"

namespace strait::ctl {

inline constexpr std::string_view kDefaultServer = "http://127.0.0.1:15014";

// --server, else $STRAIT_SERVER, else kDefaultServer.
[[nodiscard]] std::string server_url(const std::string& flag);

// $STRAIT_TOKEN, else the --token-file flag, else the file named by $STRAIT_TOKEN_FILE (whitespace
// trimmed). Without any: "no credential: set STRAIT_TOKEN or pass --token-file ...".
[[nodiscard]] std::expected<std::string, std::string> load_token(
    const std::string& token_file_flag);

// The credential held in `path` (whitespace trimmed), as straitd writes DATA_DIR/admin.token.
[[nodiscard]] std::expected<std::string, std::string> load_token_file(const std::string& path);

// Percent-encodes everything but RFC 3986's unreserved characters.
[[nodiscard]] std::string url_encode(std::string_view text);

class ApiClient {
 public:
  ApiClient(net::Url url, std::string token) : url_(std::move(url)), token_(std::move(token)) {}

  // Sends one call; a 2xx answer's body parsed as JSON (null when empty). Failures are one line:
  // the server's {"error": ...} ("unauthenticated: " in front for 401), or why straitd could not
  // be reached. `status` (optional) receives the HTTP status when there was one.
  [[nodiscard]] std::expected<nlohmann::json, std::string> call(std::string_view method,
                                                                std::string target,
                                                                std::string body = {},
                                                                std::string_view content_type = {},
                                                                int* status = nullptr) const;

  [[nodiscard]] const net::Url& url() const { return url_; }

 private:
  net::Url url_;
  std::string token_;
};

// A one-time link that signs a browser in to straitd's dashboard (POST /api/v1/dashboard/login),
// and how long it stays good.
struct SignInLink {
  std::string url;
  long long minutes = 0;
};
[[nodiscard]] std::expected<SignInLink, std::string> dashboard_sign_in_link(const ApiClient& api);

}  // namespace strait::ctl
