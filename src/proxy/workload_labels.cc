#include "proxy/workload_labels.h"

#include "proxy/istio_metrics.h"
#include "tls/spiffe_id.h"

namespace strait::proxy {
namespace {

std::string first_label(const std::map<std::string, std::string>& labels, std::string_view a,
                        std::string_view b) {
  for (const std::string_view name : {a, b}) {
    auto it = labels.find(std::string(name));
    if (it != labels.end() && !it->second.empty()) return escape_label_value(it->second);
  }
  return {};
}

}  // namespace

WorkloadLabels workload_labels(std::string_view workload, std::string_view ns,
                               std::string_view principal,
                               const std::map<std::string, std::string>& labels) {
  WorkloadLabels out{.workload = escape_label_value(workload),
                     .ns = escape_label_value(ns),
                     .principal = escape_label_value(principal),
                     .app = first_label(labels, "app", "app.kubernetes.io/name"),
                     .version = first_label(labels, "version", "app.kubernetes.io/version")};
  if (out.ns.empty() && !principal.empty()) {
    if (auto id = tls::parse_spiffe_id(principal)) out.ns = escape_label_value(id->ns);
  }
  return out;
}

ServiceLabels service_labels(std::string_view fqdn, std::string_view name, std::string_view ns) {
  return {escape_label_value(fqdn), escape_label_value(name), escape_label_value(ns)};
}

}  // namespace strait::proxy
