// Answers for operators about one workload, computed from the stored config and the registry the
// way the proxies will apply it: which mTLS mode each of its ports takes and from which
// PeerAuthentication, which authorization and JWT policies select it (`straitctl describe
// workload`), and whether a call from one workload to another goes over mTLS, in plaintext, or is
// refused, and why (`straitctl check mtls`).
#pragma once

#include <cstdint>
#include <expected>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "control/view_compiler.h"
#include "store/resource_store.h"
#include "strait/mesh/v1/mesh.pb.h"

namespace strait::control {

struct DiagnosisInputs {
  const std::vector<store::StoredResource>* resources = nullptr;
  const std::vector<RegisteredWorkload>* workloads =
      nullptr;                                            // connected or within the grace period
  const std::vector<mesh::v1::Resource>* view = nullptr;  // the compiled view (null: none yet)
};

struct WorkloadRef {
  std::string ns;
  std::string name;
};

// Null when no such workload is registered.
[[nodiscard]] nlohmann::json describe_workload(const DiagnosisInputs& inputs,
                                               const WorkloadRef& workload);

// `from` nullopt: a caller without a sidecar. `port` 0: every port the destination serves. Fails
// with a one-line reason when a workload is unknown or serves no such port.
[[nodiscard]] std::expected<nlohmann::json, std::string> check_mtls(
    const DiagnosisInputs& inputs, const std::optional<WorkloadRef>& from, const WorkloadRef& to,
    std::uint16_t port);

}  // namespace strait::control
