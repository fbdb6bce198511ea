// Turns a view pushed by straitd (api/strait/mesh/v1: MeshServices, VirtualServices,
// DestinationRules, the trust bundle) into the proxy's config. A view that cannot be used (an
// address that is not an IP, a regex RE2 refuses) is an error that names the resource: the proxy
// NACKs it and keeps serving its current config.
#pragma once

#include <expected>
#include <string>

#include "proxy/config.h"
#include "strait/mesh/v1/mesh.pb.h"

namespace strait::agent {

struct AppliedView {
  proxy::ProxyConfig config;
  std::string trust_bundle_pem;  // "" when the view carries none
  std::string signer_key_id;     // the CA certificate signing leaves now ("" : not said)
};

// `base` is what the flags say (workload, listeners, inbound services, upstream bindings).
[[nodiscard]] std::expected<AppliedView, std::string> config_from_view(const proxy::ProxyConfig& base,
                                                                       const mesh::v1::DiscoveryResponse& view);

}  // namespace strait::agent
