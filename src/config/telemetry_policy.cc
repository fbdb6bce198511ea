#include "config/telemetry_policy.h"

#include <array>
#include <tuple>

#include "config/peer_authentication.h"

namespace strait::config {
namespace {

bool selects(const telemetry::v1::Telemetry& spec,
             const std::map<std::string, std::string>& labels) {
  for (const auto& [key, value] : spec.selector().match_labels()) {
    const auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

bool has_selector(const telemetry::v1::Telemetry& spec) {
  return spec.has_selector() && !spec.selector().match_labels().empty();
}

void apply(const NamedTelemetry& resource, EffectiveTelemetry& out) {
  bool changed = false;
  const std::string id = resource.ns + "/" + resource.name;
  if (resource.spec.tracing_size() > 0) {
    const auto& tracing = resource.spec.tracing(0);
    if (tracing.has_random_sampling_percentage()) {
      out.sampling_percent = tracing.random_sampling_percentage().value();
      changed = true;
    }
    if (tracing.has_disable_span_reporting()) {
      out.report_spans = !tracing.disable_span_reporting().value();
      changed = true;
    }
    if (tracing.providers_size() > 0) {
      out.tracing_providers.clear();
      for (const auto& p : tracing.providers()) out.tracing_providers.push_back(p.name());
      changed = true;
    }
    if (changed) out.tracing_decided_by.push_back(id);
  }
  if (resource.spec.access_logging_size() > 0) {
    const auto& logging = resource.spec.access_logging(0);
    out.access_log = !(logging.has_disabled() && logging.disabled().value());
    out.access_log_decided_by.push_back(id);
    changed = true;
  }
  if (changed) out.decided_by.push_back(id);
}

}  // namespace

EffectiveTelemetry effective_telemetry(std::span<const NamedTelemetry> resources,
                                       std::string_view ns,
                                       const std::map<std::string, std::string>& labels) {
  // The chosen resource of each level, broadest first: mesh, namespace, workload.
  std::array<const NamedTelemetry*, 3> levels{};
  for (const auto& r : resources) {
    int level = -1;
    if (r.ns == kRootNamespace && !has_selector(r.spec) && ns != kRootNamespace)
      level = 0;
    else if (r.ns == ns && !has_selector(r.spec))
      level = 1;
    else if (r.ns == ns && selects(r.spec, labels))
      level = 2;
    if (level < 0) continue;
    const auto*& chosen = levels[static_cast<std::size_t>(level)];
    if (chosen == nullptr || std::tie(r.ns, r.name) < std::tie(chosen->ns, chosen->name))
      chosen = &r;
  }
  EffectiveTelemetry out;
  for (const auto* chosen : levels) {
    if (chosen != nullptr) apply(*chosen, out);
  }
  return out;
}

}  // namespace strait::config
