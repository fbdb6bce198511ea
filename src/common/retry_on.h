// The retryOn grammar of Istio's HTTPRetry (Envoy's retry_on conditions): comma-separated names and
// bare status codes. Shared by apply-time validation and the proxies (proxy/retry_policy.h says
// what each condition retries).
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace strait {

enum RetryOn : std::uint32_t {
  kRetryOn5xx = 1U << 0,
  kRetryOnGatewayError = 1U << 1,
  kRetryOnReset = 1U << 2,
  kRetryOnConnectFailure = 1U << 3,
  kRetryOnRetriable4xx = 1U << 4,
  kRetryOnRefusedStream = 1U << 5,
  kRetryOnRetriableStatusCodes = 1U << 6,
  kRetryOnRateLimited = 1U << 7,
  kRetryOnGrpcCancelled = 1U << 8,
  kRetryOnGrpcDeadlineExceeded = 1U << 9,
  kRetryOnGrpcInternal = 1U << 10,
  kRetryOnGrpcResourceExhausted = 1U << 11,
  kRetryOnGrpcUnavailable = 1U << 12,
  kRetryOnRetriableHeaders = 1U << 13,
};

struct RetryConditions {
  std::uint32_t conditions = 0;      // RetryOn bits
  std::vector<int> status_codes;     // bare codes (they also set kRetryOnRetriableStatusCodes)
};

// Adds the conditions of `retry_on` ("5xx, reset,503") to `out`; the error names the first unknown
// condition.
[[nodiscard]] std::expected<void, std::string> parse_retry_on(std::string_view retry_on, RetryConditions& out);

}  // namespace strait
