// The rate-limit step of an inbound request, after routing and before the request goes to the
// application: every limit whose match holds takes a token; the first that has none refuses the
// request with 429 `rate_limited` (a gRPC call: RESOURCE_EXHAUSTED), saying which limit and when
// to come back.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "proxy/local_reply.h"
#include "proxy/rate_limiter.h"

namespace strait::proxy {

// nullopt: the request passes. `source` is the caller's SPIFFE ID ("" : none). The request's
// content-type is looked up only to answer a refusal (gRPC or not).
[[nodiscard]] std::optional<LocalResponse> check_rate_limits(
    std::span<const ActiveRateLimit> limits, const RequestAttributes& request,
    std::string_view source, std::int64_t now_ns);

// Whether a request's content-type names gRPC (application/grpc, application/grpc+proto, ...).
[[nodiscard]] bool is_grpc_content_type(std::string_view content_type);

}  // namespace strait::proxy
