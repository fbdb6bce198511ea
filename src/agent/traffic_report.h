// What a proxy tells straitd about its traffic every few seconds, on the discovery stream: its
// Istio request series (istio_requests_total and the duration histogram, merged over the workers,
// cumulative since it started), for straitd's live traffic view (the dashboard, straitctl top).
// Read from the workers' tables as the /stats/prometheus scrape reads them: no lock, nothing
// written on the data path.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/istio_metrics.h"
#include "strait/mesh/v1/mesh.pb.h"

namespace strait::agent {

// At most this many series per report (the busiest kept): a report stays small.
inline constexpr std::size_t kMaxReportedSeries = 2000;

// `name="value",...` as write_istio_labels writes it, values unescaped; empty for malformed text.
[[nodiscard]] std::vector<std::pair<std::string_view, std::string>> parse_label_text(
    std::string_view text);

[[nodiscard]] mesh::v1::TrafficReport collect_traffic_report(
    const std::vector<const proxy::IstioMetrics*>& workers);

}  // namespace strait::agent
