// The traffic policy of one cluster (a service port, or a subset's port): Istio's DestinationRule
// trafficPolicy with its layers resolved. Applied in order, each layer replaces what it sets:
// the rule's trafficPolicy, the rule's portLevelSettings entry for the port, the subset's
// trafficPolicy, the subset's entry for the port. A field (loadBalancer, connectionPool,
// outlierDetection, retryBudget) is taken whole, never merged with the one it replaces; and a port
// entry replaces all of loadBalancer, connectionPool and outlierDetection, those it leaves out
// going back to Istio's defaults (retryBudget has no port form and is kept).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proxy/circuit_breaker.h"
#include "proxy/load_balancer.h"
#include "proxy/outlier_detection.h"
#include "proxy/retry_policy.h"

namespace strait::proxy {

struct TrafficSettings {
  LoadBalancer lb;
  ConnectionPoolPolicy pool;
  std::optional<OutlierPolicy> outlier;  // unset: no outlier detection
  RetryBudget retry_budget;              // on by default (product.md)
};

// The settings of one port where portLevelSettings (of the rule, of the subset) change them.
struct PortTrafficSettings {
  std::uint16_t port = 0;
  TrafficSettings settings;
};

// Settings for every port of an endpoint set: `ports` where a port differs, `all` elsewhere.
struct TrafficPolicySet {
  TrafficSettings all;
  std::vector<PortTrafficSettings> ports;
  [[nodiscard]] const TrafficSettings& for_port(std::uint16_t port) const {
    for (const auto& p : ports) {
      if (p.port == port) return p.settings;
    }
    return all;
  }
};

// A DestinationRule subset: the endpoints whose labels it selects, with its resolved policy.
struct Subset {
  std::string name;
  std::map<std::string, std::string> labels;
  TrafficPolicySet traffic;
};

}  // namespace strait::proxy
