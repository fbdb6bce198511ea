#include "ctl/api_client.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace strait::ctl {
namespace {

std::string trim(std::string s) {
  const char* ws = " \t\r\n\f\v";
  const auto first = s.find_first_not_of(ws);
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(ws);
  return s.substr(first, last - first + 1);
}

std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return trim(std::move(s));
}

std::expected<std::string, std::string> read_token_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(std::string(what) + " " + path + ": cannot read the file");
  std::ostringstream content;
  content << in.rdbuf();
  std::string token = trim(content.str());
  if (token.empty()) return std::unexpected(std::string(what) + " " + path + ": the file is empty");
  return token;
}

}  // namespace

std::string server_url(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("STRAIT_SERVER"); env != nullptr && *env != '\0') return env;
  return std::string(kDefaultServer);
}

std::expected<std::string, std::string> load_token(const std::string& token_file_flag) {
  if (const char* env = std::getenv("STRAIT_TOKEN"); env != nullptr) {
    std::string token = trim(env);
    if (!token.empty()) return token;
  }
  if (!token_file_flag.empty()) return read_token_file(token_file_flag, "--token-file");
  if (const char* env = std::getenv("STRAIT_TOKEN_FILE"); env != nullptr && *env != '\0')
    return read_token_file(env, "STRAIT_TOKEN_FILE");
  return std::unexpected(
      "no credential: set STRAIT_TOKEN or pass --token-file (straitd writes DATA_DIR/admin.token)");
}

std::expected<std::string, std::string> load_token_file(const std::string& path) {
  return read_token_file(path, "token file");
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '_' || u == '.' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

std::expected<nlohmann::json, std::string> ApiClient::call(std::string_view method,
                                                           std::string target, std::string body,
                                                           std::string_view content_type,
                                                           int* status) const {
  net::Request request;
  request.method = std::string(method);
  request.target = std::move(target);
  request.headers.emplace_back("Authorization", "Bearer " + token_);
  request.headers.emplace_back("Accept", "application/json");
  request.headers.emplace_back("User-Agent", std::string("straitctl/") + STRAIT_VERSION);
  if (!content_type.empty())
    request.headers.emplace_back("Content-Type", std::string(content_type));
  request.body = std::move(body);

  auto response = net::send_request(url_, request);
  if (!response) {
    const auto& err = response.error();
    const bool connecting = err.kind == net::TransportError::Kind::kConnect;
    std::string message =
        (connecting ? "cannot reach straitd at " : "straitd at ") + url_.text + ": " + err.reason;
    if (connecting && err.reason == "connection refused") message += " (is straitd running?)";
    return std::unexpected(message);
  }
  if (status != nullptr) *status = response->status;

  nlohmann::json parsed =
      nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (response->status < 200 || response->status > 299) {
    std::string message;
    if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string())
      message = one_line(parsed["error"].get<std::string>());
    if (message.empty())
      message = "straitd answered " + std::to_string(response->status) +
                (response->reason.empty() ? "" : " " + response->reason);
    if (response->status == 401) message = "unauthenticated: " + message;
    return std::unexpected(message);
  }
  if (response->body.empty()) return nlohmann::json();
  if (parsed.is_discarded())
    return std::unexpected("straitd answered " + std::to_string(response->status) +
                           " with a body that is not JSON");
  return parsed;
}

std::expected<SignInLink, std::string> dashboard_sign_in_link(const ApiClient& api) {
  auto answer = api.call("POST", "/api/v1/dashboard/login");
  if (!answer) return std::unexpected(answer.error());
  if (!answer->contains("path") || !(*answer)["path"].is_string())
    return std::unexpected("straitd answered without a sign-in path");
  const net::Url& server = api.url();
  const bool ipv6 = server.host.find(':') != std::string::npos;
  return SignInLink{"http://" + (ipv6 ? "[" + server.host + "]" : server.host) + ":" +
                        std::to_string(server.port) + server.prefix +
                        (*answer)["path"].get<std::string>(),
                    answer->value("expiresInSeconds", 600LL) / 60};
}

}  // namespace strait::ctl
