// Which Telemetry resources apply to a workload, and the tracing and access-log settings they give
// it, with Istio's precedence: the root namespace's resource without a selector (mesh-wide), then
// the workload's namespace's without a selector, then one of its namespace selecting it; each
// level overrides only what it sets (a tracing entry's sampling percentage, providers and span
// reporting; an access-logging entry's on/off), the rest is inherited from the broader level. Of
// two resources at one level the first by namespace and name wins. Only the first tracing and the
// first access-logging entry of a resource count (Istio's "first entry per mode"; strait does not
// split them by CLIENT/SERVER mode yet).
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "strait/telemetry/v1/telemetry.pb.h"

namespace strait::config {

struct NamedTelemetry {
  std::string ns;
  std::string name;
  telemetry::v1::Telemetry spec;
};

// What a workload gets with no Telemetry resource: Istio's defaults (1% of new traces sampled,
// sent to the mesh's default provider, strait's own collector; access logs off).
struct EffectiveTelemetry {
  double sampling_percent = 1.0;
  bool report_spans = true;
  std::vector<std::string> tracing_providers{"strait"};
  bool access_log = false;
  std::vector<std::string> decided_by;  // "namespace/name" of each resource that set something
  std::vector<std::string> tracing_decided_by;     // of those, the ones that set tracing
  std::vector<std::string> access_log_decided_by;  // and those that set access logging
};

[[nodiscard]] EffectiveTelemetry effective_telemetry(
    std::span<const NamedTelemetry> resources, std::string_view ns,
    const std::map<std::string, std::string>& labels);

}  // namespace strait::config
