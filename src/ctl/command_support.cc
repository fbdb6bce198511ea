#include "ctl/command_support.h"

#include <cstdio>

#include "ctl/output.h"

namespace strait::ctl {

using nlohmann::json;

int fail(const std::string& message) {
  std::fprintf(stderr, "straitctl: %s\n", message.c_str());
  return 1;
}

void print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

std::expected<ApiClient, std::string> connect(const GlobalOptions& global) {
  auto url = net::parse_url(server_url(global.server));
  if (!url) return std::unexpected("--server " + url.error());
  auto token = load_token(global.token_file);
  if (!token) return std::unexpected(token.error());
  return ApiClient(std::move(*url), std::move(*token));
}

std::expected<json, int> get_or_print(const GlobalOptions& global, const std::string& output,
                                      const std::string& target) {
  auto format = parse_output_format(output);
  if (!format) return std::unexpected(fail(format.error()));
  auto api = connect(global);
  if (!api) return std::unexpected(fail(api.error()));
  auto answer = api->call("GET", target);
  if (!answer) return std::unexpected(fail(answer.error()));
  if (*format == OutputFormat::kJson) {
    print(render_json(*answer));
    return std::unexpected(0);
  }
  if (*format == OutputFormat::kYaml) {
    print(render_yaml({*answer}));
    return std::unexpected(0);
  }
  return std::move(*answer);
}

std::string workload_path(const std::string& text, const std::string& ns) {
  if (text.find('/') != std::string::npos) return text;
  const auto dot = text.rfind('.');
  if (dot != std::string::npos && dot > 0 && dot + 1 < text.size())
    return text.substr(dot + 1) + "/" + text.substr(0, dot);
  return ns + "/" + text;
}

}  // namespace strait::ctl
