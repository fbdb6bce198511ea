#include "proxy/request_authentication.h"

#include <nlohmann/json.hpp>

#include "http/message.h"

namespace strait::proxy {
namespace {

constexpr std::string_view kBearer = "Bearer ";

std::optional<std::string_view> from_header(const RequestAttributes& request, std::string_view name,
                                            std::string_view prefix) {
  if (request.header == nullptr) return std::nullopt;
  auto value = request.header(request.context, name);
  if (!value) return std::nullopt;
  std::string_view v = *value;
  if (!prefix.empty()) {
    if (v.size() < prefix.size() || !http::iequals(v.substr(0, prefix.size()), prefix))
      return std::nullopt;
    v.remove_prefix(prefix.size());
  }
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  if (v.empty()) return std::nullopt;
  return v;
}

std::optional<std::string_view> from_param(const RequestAttributes& request,
                                           std::string_view name) {
  const auto question = request.path.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view rest = request.path.substr(question + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name && eq + 1 < pair.size())
      return pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// The token at one of the rule's locations (Istio's defaults without any).
std::optional<std::string_view> token_for(const JwtRule& rule, const RequestAttributes& request) {
  if (rule.from_headers.empty() && rule.from_params.empty()) {
    if (auto t = from_header(request, "authorization", kBearer)) return t;
    return from_param(request, "access_token");
  }
  for (const auto& [name, prefix] : rule.from_headers) {
    if (auto t = from_header(request, name, prefix)) return t;
  }
  for (const auto& name : rule.from_params) {
    if (auto t = from_param(request, name)) return t;
  }
  return std::nullopt;
}

// The issuer a token claims, read before its signature is checked (to choose the rule).
std::string claimed_issuer(std::string_view token) {
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos) return {};
  auto payload = base64url_decode(token.substr(first + 1, second - first - 1));
  if (!payload) return {};
  const auto json = nlohmann::json::parse(*payload, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("iss") || !json["iss"].is_string())
    return {};
  return json["iss"].get<std::string>();
}

}  // namespace

JwtOutcome authenticate_request(std::span<const JwtRule> rules, const RequestAttributes& request) {
  JwtOutcome out;
  std::string unknown_issuer;
  bool found = false;
  for (const auto& rule : rules) {
    const auto token = token_for(rule, request);
    if (!token) continue;
    found = true;
    const std::string issuer = claimed_issuer(*token);
    if (issuer != rule.requirements.issuer) {
      unknown_issuer = issuer;
      continue;
    }
    if (rule.keys.keys().empty()) {
      out.refusal = "the JWKS of " + rule.name + " has no usable key (" + rule.keys_problem + ")";
      return out;
    }
    auto verified =
        verify_jwt(*token, rule.keys, rule.requirements, std::chrono::system_clock::now());
    if (!verified) {
      out.refusal = verified.error();
      return out;
    }
    out.jwt = std::move(*verified);
    return out;
  }
  if (found) {
    out.refusal = unknown_issuer.empty() ? std::string("the token is not a readable JWT")
                                         : "issuer '" + unknown_issuer + "' is not accepted";
  }
  return out;
}

}  // namespace strait::proxy
