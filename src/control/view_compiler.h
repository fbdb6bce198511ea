// Compiles what straitd knows (the stored config resources and the registered workloads) into the
// views proxies receive: typed resources, as pushed on the discovery stream. The mesh's view is
// compiled once per change; each proxy receives the part of it that is exported to its namespace
// (Istio's exportTo) and that its Sidecar resource's egress hosts name (no Sidecar: all of it), so
// that a proxy's config grows with what its workload uses, not with the mesh.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/peer_authentication.h"
#include "store/resource_store.h"
#include "strait/mesh/v1/mesh.pb.h"

namespace strait::control {

// A workload whose sidecar is (or was, within the grace period) connected.
struct RegisteredWorkload {
  std::string proxy_id;  // <workload>.<namespace>
  mesh::v1::Node node;
  std::string identity;  // SPIFFE ID from its certificate
};

struct MeshInputs {
  const std::vector<store::StoredResource>* resources = nullptr;
  const std::vector<RegisteredWorkload>* workloads = nullptr;
  std::string trust_bundle_pem;
  std::string trust_domain;
  std::string signer_key_id;  // the CA certificate signing leaves now (TrustBundle)
  const mesh::v1::TelemetryEndpoints* telemetry = nullptr;  // where spans go; none: not sent
};

// The resources of the view, in a stable order (so equal inputs give byte-equal views).
[[nodiscard]] std::vector<mesh::v1::Resource> compile_view(const MeshInputs& inputs);

// The stored PeerAuthentications, and the effective mTLS modes they give a registered workload.
[[nodiscard]] std::vector<config::NamedPeerAuthentication> peer_authentications(
    const std::vector<store::StoredResource>& resources);
[[nodiscard]] EffectiveMtls workload_mtls(
    const std::vector<config::NamedPeerAuthentication>& policies, const mesh::v1::Node& node);

// What decides who sees a resource of the view.
struct ResourceReach {
  std::string ns;                      // the resource's namespace
  std::vector<std::string> hosts;      // FQDNs it is about
  std::vector<std::string> export_to;  // empty: every namespace
  bool everyone = false;               // the trust bundle
  // A policy for selected workloads (RateLimitPolicy, AuthorizationPolicy): it reaches the proxies
  // of its namespace (of every namespace from the root namespace strait-system) whose labels hold
  // every entry of `selector` (empty: all of them). Egress scopes and exportTo do not apply.
  bool workload_policy = false;
  std::map<std::string, std::string> selector;
};
[[nodiscard]] std::vector<ResourceReach> reach_of(const std::vector<mesh::v1::Resource>& view);

// The egress hosts of the Sidecar that applies to a workload: one in its namespace whose selector
// matches its labels, else its namespace's without a selector, else the mesh-wide one in
// strait-system. `everything` when none applies.
struct EgressScope {
  bool everything = true;
  std::vector<std::pair<std::string, std::string>> hosts;  // (namespace pattern, host pattern)
  std::string sidecar;                                     // <namespace>/<name> of the Sidecar used
};
[[nodiscard]] EgressScope egress_scope(const mesh::v1::Node& node,
                                       const std::vector<store::StoredResource>& resources);

[[nodiscard]] bool visible_to(const ResourceReach& reach, const mesh::v1::Node& proxy,
                              const EgressScope& scope);

}  // namespace strait::control
