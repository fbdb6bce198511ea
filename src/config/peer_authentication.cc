#include "config/peer_authentication.h"

#include <algorithm>
#include <tuple>
#include <vector>

namespace strait::config {
namespace {

using Pa = security::v1::PeerAuthentication;

bool selects(const Pa& pa, const std::map<std::string, std::string>& labels) {
  return std::ranges::all_of(pa.selector().match_labels(), [&](const auto& entry) {
    const auto it = labels.find(entry.first);
    return it != labels.end() && it->second == entry.second;
  });
}

bool has_selector(const Pa& pa) {
  return pa.selector().match_labels_size() > 0;
}

// The first policy of a level, by namespace and name.
const NamedPeerAuthentication* first_of(const std::vector<const NamedPeerAuthentication*>& level) {
  const NamedPeerAuthentication* best = nullptr;
  for (const auto* p : level) {
    if (best == nullptr || std::tie(p->ns, p->name) < std::tie(best->ns, best->name)) best = p;
  }
  return best;
}

// Applies one level's policy over what the broader levels set.
void apply(MtlsSetting& setting, const NamedPeerAuthentication* policy) {
  if (policy == nullptr || !policy->spec.has_mtls()) return;
  const MtlsMode mode = mode_from_proto(policy->spec.mtls().mode());
  if (mode == MtlsMode::kUnset) return;
  setting = {mode, policy->ns + "/" + policy->name};
}

}  // namespace

MtlsMode mode_from_proto(Pa::MutualTLS::Mode mode) {
  switch (mode) {
    case Pa::MutualTLS::DISABLE:
      return MtlsMode::kDisable;
    case Pa::MutualTLS::PERMISSIVE:
      return MtlsMode::kPermissive;
    case Pa::MutualTLS::STRICT:
      return MtlsMode::kStrict;
    default:
      return MtlsMode::kUnset;
  }
}

EffectiveMtls effective_mtls(std::span<const NamedPeerAuthentication> policies, std::string_view ns,
                             const std::map<std::string, std::string>& labels) {
  std::vector<const NamedPeerAuthentication*> workload_level;
  std::vector<const NamedPeerAuthentication*> namespace_level;
  std::vector<const NamedPeerAuthentication*> mesh_level;
  for (const auto& p : policies) {
    const bool in_root = p.ns == kRootNamespace;
    if (p.ns != ns && !in_root) continue;
    if (has_selector(p.spec)) {
      // As Istio: a policy with a selector applies in its own namespace only, and one in the root
      // namespace to no workload (apply warns).
      if (!in_root && selects(p.spec, labels)) workload_level.push_back(&p);
    } else if (p.ns == ns && !in_root) {
      namespace_level.push_back(&p);
    } else if (in_root) {
      mesh_level.push_back(&p);
    }
  }
  // A workload of the root namespace: its namespace-wide policy is the mesh-wide one.
  EffectiveMtls out;
  apply(out.workload, first_of(mesh_level));
  apply(out.workload, first_of(namespace_level));
  const NamedPeerAuthentication* chosen = first_of(workload_level);
  apply(out.workload, chosen);
  if (chosen != nullptr) {
    for (const auto& [port, mtls] : chosen->spec.port_level_mtls()) {
      const MtlsMode mode = mode_from_proto(mtls.mode());
      if (mode == MtlsMode::kUnset || port == 0 || port > 65535) continue;
      out.ports[static_cast<std::uint16_t>(port)] = {
          mode, chosen->ns + "/" + chosen->name + "/portLevelMtls/" + std::to_string(port)};
    }
  }
  return out;
}

}  // namespace strait::config
