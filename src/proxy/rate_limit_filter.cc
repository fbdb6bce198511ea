#include "proxy/rate_limit_filter.h"

#include <algorithm>
#include <string>

#include "http/message.h"

namespace strait::proxy {
namespace {

constexpr int kGrpcResourceExhausted = 8;

bool counts(const RateLimitRule& rule, const RequestAttributes& request) {
  return rule.matches.empty() || std::ranges::any_of(rule.matches, [&](const RouteMatch& m) {
           return block_matches(m, request);
         });
}

// Whole seconds, rounded up: Retry-After and the reset field carry delay-seconds (RFC 9110 10.2.3).
std::string seconds_up(std::int64_t ns) {
  return std::to_string(std::max<std::int64_t>((ns + 999'999'999) / 1'000'000'000, 0));
}

}  // namespace

bool is_grpc_content_type(std::string_view content_type) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (content_type.size() < kGrpc.size() ||
      !http::iequals(content_type.substr(0, kGrpc.size()), kGrpc))
    return false;
  return content_type.size() == kGrpc.size() || content_type[kGrpc.size()] == '+' ||
         content_type[kGrpc.size()] == ';';
}

std::optional<LocalResponse> check_rate_limits(std::span<const ActiveRateLimit> limits,
                                               const RequestAttributes& request,
                                               std::string_view source, std::int64_t now_ns) {
  for (const auto& limit : limits) {
    if (!counts(*limit.rule, request)) continue;
    const RateVerdict verdict = limit.state->take(source, now_ns);
    if (verdict.allowed) continue;
    const auto content_type =
        request.header != nullptr ? request.header(request.context, "content-type") : std::nullopt;
    const bool grpc = content_type && is_grpc_content_type(*content_type);
    LocalResponse r;
    r.reason = LocalReason::kRateLimited;
    const std::string wait = seconds_up(verdict.wait_ns);
    if (grpc) {
      r.status = 200;
      r.grpc_status = kGrpcResourceExhausted;
    } else {
      r.status = 429;
      r.body = "rate_limited: " + limit.rule->name + " (" +
               std::to_string(limit.rule->tokens_per_fill) + " per " +
               interval_text(limit.rule->fill_interval) + ", burst " +
               std::to_string(limit.rule->max_tokens) +
               (limit.rule->per_source ? ", per caller" : "") + ")\n";
    }
    r.fields = {{"retry-after", wait},
                {"x-ratelimit-limit", std::to_string(limit.rule->max_tokens)},
                {"x-ratelimit-remaining", "0"},
                {"x-ratelimit-reset", wait},
                {"x-strait-rate-limit", limit.rule->name},
                // Envoy's marker, which retryOn: envoy-ratelimited looks for.
                {"x-envoy-ratelimited", "true"}};
    return r;
  }
  return std::nullopt;
}

}  // namespace strait::proxy
