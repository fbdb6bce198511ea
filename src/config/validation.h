// Istio's semantic rules for config resources, beyond what the schema (api/) decides: weights, RE2
// regexes, durations under 1 ms, exclusive fields, principal and path shapes, ... (validate), and
// rules between resources: two VirtualServices claiming one host, a subset that no DestinationRule
// defines (check_conflicts). See docs/control-plane.md, "What is checked at apply".
#pragma once

#include <span>
#include <string>
#include <vector>

#include "config/resource.h"

namespace strait::config {

struct ValidationError {
  std::string path;    // Istio's JSON names: "spec.http[0].route"
  std::string reason;  // "weights are all zero"
  [[nodiscard]] std::string to_string() const { return path + ": " + reason; }
};

// The rules of one resource, in field order; empty when it is valid.
[[nodiscard]] std::vector<ValidationError> validate(const Resource& r);

// Rules between resources, over the union of `existing` and `incoming` (an incoming resource
// replaces the existing one of the same kind, namespace and name). Only conflicts that involve an
// incoming resource are reported. Paths start with "<Kind> <namespace>/<name>: ". An empty
// namespace counts as "default".
[[nodiscard]] std::vector<ValidationError> check_conflicts(std::span<const Resource> incoming,
                                                           std::span<const Resource> existing);

}  // namespace strait::config
