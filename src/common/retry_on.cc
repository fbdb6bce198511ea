#include "common/retry_on.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

namespace strait {
namespace {

constexpr std::array<std::pair<std::string_view, std::uint32_t>, 14> kConditions{{
    {"5xx", kRetryOn5xx},
    {"gateway-error", kRetryOnGatewayError},
    {"reset", kRetryOnReset},
    {"connect-failure", kRetryOnConnectFailure},
    {"retriable-4xx", kRetryOnRetriable4xx},
    {"refused-stream", kRetryOnRefusedStream},
    {"retriable-status-codes", kRetryOnRetriableStatusCodes},
    {"retriable-headers", kRetryOnRetriableHeaders},
    {"envoy-ratelimited", kRetryOnRateLimited},
    {"cancelled", kRetryOnGrpcCancelled},
    {"deadline-exceeded", kRetryOnGrpcDeadlineExceeded},
    {"internal", kRetryOnGrpcInternal},
    {"resource-exhausted", kRetryOnGrpcResourceExhausted},
    {"unavailable", kRetryOnGrpcUnavailable},
}};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::expected<void, std::string> parse_retry_on(std::string_view retry_on, RetryConditions& out) {
  while (!retry_on.empty()) {
    const auto comma = retry_on.find(',');
    const std::string_view condition = trim(retry_on.substr(0, comma));
    retry_on = comma == std::string_view::npos ? std::string_view{} : retry_on.substr(comma + 1);
    if (condition.empty()) continue;
    const auto known = std::ranges::find(kConditions, condition, &std::pair<std::string_view, std::uint32_t>::first);
    if (known != kConditions.end()) {
      out.conditions |= known->second;
      continue;
    }
    int code = 0;
    const auto [end, ec] = std::from_chars(condition.data(), condition.data() + condition.size(), code);
    if (ec != std::errc{} || end != condition.data() + condition.size() || condition.size() != 3 || code < 100 ||
        code > 599)
      return std::unexpected("unknown retry condition '" + std::string(condition) + "'");
    // A bare status code is a retriable status code and turns that condition on, as in Istio.
    out.conditions |= kRetryOnRetriableStatusCodes;
    if (std::ranges::find(out.status_codes, code) == out.status_codes.end()) out.status_codes.push_back(code);
  }
  return {};
}

}  // namespace strait
