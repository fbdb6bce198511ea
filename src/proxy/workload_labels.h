// The label values a workload and a service take in the istio_* metrics, resolved once per
// snapshot so that a request only points at them. Values are kept as Prometheus label text
// (escaped: istio_metrics.h), since a workload's name and labels may hold any character.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace strait::proxy {

struct WorkloadLabels {
  std::string workload;
  std::string ns;
  std::string principal;  // SPIFFE ID ("" : unknown, a workload without a sidecar)
  std::string app;        // the `app` label, else `app.kubernetes.io/name`
  std::string version;    // the `version` label, else `app.kubernetes.io/version`
};

struct ServiceLabels {
  std::string fqdn;
  std::string name;
  std::string ns;
};

// A workload's labels from its name, namespace, SPIFFE ID and workload labels (as Istio reads
// app and version), escaped. An empty namespace is taken from the SPIFFE ID's /ns/ segment.
[[nodiscard]] WorkloadLabels workload_labels(std::string_view workload, std::string_view ns,
                                             std::string_view principal,
                                             const std::map<std::string, std::string>& labels);

// A service's labels from its host name, name and namespace, escaped.
[[nodiscard]] ServiceLabels service_labels(std::string_view fqdn, std::string_view name,
                                           std::string_view ns);

}  // namespace strait::proxy
