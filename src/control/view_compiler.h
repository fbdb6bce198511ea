// Compiles what straitd knows (the stored config resources and the registered workloads) into the
// view a proxy receives: typed resources, as pushed on the discovery stream.
//
// Today every proxy gets the same view (every service, VirtualService and DestinationRule of the
// mesh); scoping by Sidecar resources will make views per proxy.
#pragma once

#include <map>
#include <string>
#include <vector>

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
};

// The resources of the view, in a stable order (so equal inputs give byte-equal views).
[[nodiscard]] std::vector<mesh::v1::Resource> compile_view(const MeshInputs& inputs);

// "<name>.<namespace>.svc.cluster.local": the DNS suffix is the Kubernetes one whatever the trust
// domain, as in Istio.
[[nodiscard]] std::string service_hostname(const std::string& name, const std::string& ns);

}  // namespace strait::control
