// straitctl top's tables, from straitd's GET /api/v1/traffic answer: the services (rate, success,
// latency percentiles, mTLS) and the edges between workloads.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace strait::ctl {

// SERVICE RPS SUCCESS 4XX P50 P95 P99 MTLS, busiest first; then FROM TO RPS SUCCESS P99 MTLS.
// "No traffic in the last W." when there is none.
[[nodiscard]] std::string render_traffic(const nlohmann::json& traffic, bool color);

}  // namespace strait::ctl
