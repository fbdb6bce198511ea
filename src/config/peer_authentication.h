// Which PeerAuthentication applies to a workload, and so its effective mTLS mode per port, with
// Istio's precedence: a policy of its namespace selecting the workload over its namespace's policy
// without a selector, over the root namespace's (mesh-wide) one; a policy with a selector in the
// root namespace applies to no workload, as in Istio (apply warns). An
// UNSET mode inherits from the next broader level, PERMISSIVE at the top; a portLevelMtls entry
// overrides the mode of the selected workload on that target port. Of two policies at one level
// the first by namespace and name wins (Istio takes the oldest; strait keeps no creation order
// that survives a re-apply, so the order is by name and stable).
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>

#include "common/mtls_mode.h"
#include "strait/security/v1/peer_authentication.pb.h"

namespace strait::config {

inline constexpr std::string_view kRootNamespace = "strait-system";

struct NamedPeerAuthentication {
  std::string ns;
  std::string name;
  security::v1::PeerAuthentication spec;
};

[[nodiscard]] EffectiveMtls effective_mtls(std::span<const NamedPeerAuthentication> policies,
                                           std::string_view ns,
                                           const std::map<std::string, std::string>& labels);

[[nodiscard]] MtlsMode mode_from_proto(security::v1::PeerAuthentication::MutualTLS::Mode mode);

}  // namespace strait::config
