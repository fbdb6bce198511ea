#include "control/view_compiler.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <cctype>
#include <tuple>

#include "common/bool_text.h"
#include "common/host_name.h"
#include "config/peer_authentication.h"
#include "strait/networking/v1/destination_rule.pb.h"
#include "strait/networking/v1/service_entry.pb.h"
#include "strait/networking/v1/sidecar.pb.h"
#include "strait/networking/v1/virtual_service.pb.h"
#include "strait/networking/v1/workload_entry.pb.h"
#include "strait/policy/v1alpha1/rate_limit_policy.pb.h"
#include "strait/security/v1/authorization_policy.pb.h"
#include "strait/security/v1/request_authentication.pb.h"
#include "strait/telemetry/v1/telemetry.pb.h"

namespace strait::control {
namespace {

// Whether `labels` hold every entry of `selector` (protobuf or std maps alike).
template <typename Selector, typename Labels>
bool selects(const Selector& selector, const Labels& labels) {
  return std::ranges::all_of(selector, [&](const auto& entry) {
    auto it = labels.find(entry.first);
    return it != labels.end() && it->second == entry.second;
  });
}

void add_port(mesh::v1::MeshService& service, std::uint32_t port, const std::string& protocol) {
  for (const auto& p : service.ports()) {
    if (p.port() == port) return;
  }
  auto* added = service.add_ports();
  added->set_port(port);
  added->set_protocol(protocol);
}

// A ServiceEntry port's protocol as the proxies name it; what they do not know is carried as
// opaque TCP, as Istio does.
std::string entry_protocol(const std::string& istio_name) {
  const std::string p = ascii_lower(istio_name);
  if (p == "http" || p == "http2" || p == "grpc" || p == "tcp" || p == "tls") return p;
  if (p == "https") return "tls";
  if (p == "grpc-web") return "http";
  return "tcp";
}

// A ServiceEntry's endpoint (inline or a selected WorkloadEntry): a workload without a sidecar,
// called in plaintext on the port its entry maps the service port to. Only IP addresses: the
// proxies do not resolve host names yet (apply warns about such endpoints).
void add_entry_endpoint(mesh::v1::MeshService& service, const networking::v1::ServiceEntry& entry,
                        const networking::v1::WorkloadEntry& workload, const std::string& name) {
  if (workload.address().empty() || !is_ip_literal(workload.address())) return;
  auto* endpoint = service.add_endpoints();
  endpoint->set_address(workload.address());
  endpoint->set_mtls(false);
  endpoint->set_workload(name);
  endpoint->mutable_labels()->insert(workload.labels().begin(), workload.labels().end());
  for (const auto& port : entry.ports()) {
    std::uint32_t target = port.target_port() != 0 ? port.target_port() : port.number();
    if (auto it = workload.ports().find(port.name()); it != workload.ports().end()) target = it->second;
    (*endpoint->mutable_target_ports())[port.number()] = target;
  }
}

template <typename Message>
void add_resource(std::vector<mesh::v1::Resource>& out, const std::string& name, const std::string& ns,
                  const Message& body) {
  mesh::v1::Resource resource;
  resource.set_name(name);
  resource.set_namespace_(ns);
  // Packed deterministically (map fields in key order): straitd compares views by their bytes.
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    body.SerializeToCodedStream(&coded);
  }
  resource.mutable_body()->set_type_url("type.googleapis.com/" + body.GetDescriptor()->full_name());
  resource.mutable_body()->set_value(std::move(bytes));
  out.push_back(std::move(resource));
}

}  // namespace

std::vector<config::NamedPeerAuthentication> peer_authentications(
    const std::vector<store::StoredResource>& resources) {
  std::vector<config::NamedPeerAuthentication> out;
  for (const auto& r : resources) {
    if (r.kind != "PeerAuthentication") continue;
    config::NamedPeerAuthentication pa{r.ns, r.name, {}};
    if (pa.spec.ParseFromString(r.spec)) out.push_back(std::move(pa));
  }
  return out;
}

EffectiveMtls workload_mtls(const std::vector<config::NamedPeerAuthentication>& policies,
                            const mesh::v1::Node& node) {
  const std::map<std::string, std::string> labels(node.labels().begin(), node.labels().end());
  return config::effective_mtls(policies, node.namespace_(), labels);
}

std::vector<mesh::v1::Resource> compile_view(const MeshInputs& inputs) {
  const auto policies = peer_authentications(*inputs.resources);
  // Services by host name, from the sidecars' registrations; a ServiceEntry for the same host adds
  // to the same service (one host is one service for every proxy).
  std::map<std::string, mesh::v1::MeshService> services;
  for (const auto& workload : *inputs.workloads) {
    const auto& node = workload.node;
    // Auto-mTLS: a port whose PeerAuthentication is DISABLE is called in plaintext.
    const EffectiveMtls mtls = workload_mtls(policies, node);
    for (const auto& port : node.ports()) {
      auto& service = services[service_hostname(port.service(), node.namespace_())];
      if (service.name().empty()) {
        service.set_name(port.service());
        service.set_namespace_(node.namespace_());
        service.set_hostname(service_hostname(port.service(), node.namespace_()));
      }
      add_port(service, port.port(), ascii_lower(port.protocol().empty() ? "http" : port.protocol()));
      mesh::v1::MeshEndpoint* endpoint = nullptr;
      for (auto& e : *service.mutable_endpoints()) {
        if (e.workload() == node.workload() && e.address() == node.inbound_address()) endpoint = &e;
      }
      if (endpoint == nullptr) {
        endpoint = service.add_endpoints();
        endpoint->set_address(node.inbound_address());
        endpoint->set_mtls(true);
        endpoint->set_identity(workload.identity);
        endpoint->mutable_labels()->insert(node.labels().begin(), node.labels().end());
        endpoint->set_workload(node.workload());
      }
      const auto target = static_cast<std::uint16_t>(port.target_port());
      if (mtls.for_port(target).mode == MtlsMode::kDisable)
        endpoint->add_plaintext_ports(port.port());
    }
  }

  std::vector<mesh::v1::Resource> out;
  std::vector<const store::StoredResource*> workload_entries;
  for (const auto& r : *inputs.resources) {
    if (r.kind == "WorkloadEntry") workload_entries.push_back(&r);
  }
  for (const auto& r : *inputs.resources) {
    if (r.kind != "ServiceEntry") continue;
    networking::v1::ServiceEntry entry;
    if (!entry.ParseFromString(r.spec)) continue;
    for (const auto& host : entry.hosts()) {
      auto& service = services[ascii_lower(host)];
      if (service.hostname().empty()) {
        service.set_name(host);
        service.set_namespace_(r.ns);
        service.set_hostname(ascii_lower(host));
      }
      for (const auto& port : entry.ports()) add_port(service, port.number(), entry_protocol(port.protocol()));
      for (const auto& san : entry.subject_alt_names()) service.add_subject_alt_names(san);
      for (const auto& e : entry.export_to()) service.add_export_to(e);
      int index = 0;
      for (const auto& endpoint : entry.endpoints())
        add_entry_endpoint(service, entry, endpoint, r.name + "-" + std::to_string(index++));
      if (entry.has_workload_selector()) {
        for (const auto* stored : workload_entries) {
          networking::v1::WorkloadEntry workload;
          if (stored->ns != r.ns || !workload.ParseFromString(stored->spec)) continue;
          if (selects(entry.workload_selector().labels(), workload.labels()))
            add_entry_endpoint(service, entry, workload, stored->name);
        }
      }
    }
  }
  for (auto& [key, service] : services) {
    std::ranges::sort(*service.mutable_endpoints(), [](const auto& a, const auto& b) {
      return std::tie(a.address(), a.workload()) < std::tie(b.address(), b.workload());
    });
    add_resource(out, service.name(), service.namespace_(), service);
  }
  for (const auto& r : *inputs.resources) {
    if (r.kind == "VirtualService") {
      networking::v1::VirtualService spec;
      if (spec.ParseFromString(r.spec)) add_resource(out, r.name, r.ns, spec);
    } else if (r.kind == "DestinationRule") {
      networking::v1::DestinationRule spec;
      if (spec.ParseFromString(r.spec)) add_resource(out, r.name, r.ns, spec);
    } else if (r.kind == "RateLimitPolicy") {
      policy::v1alpha1::RateLimitPolicy spec;
      if (spec.ParseFromString(r.spec)) add_resource(out, r.name, r.ns, spec);
    } else if (r.kind == "PeerAuthentication") {
      security::v1::PeerAuthentication spec;
      if (spec.ParseFromString(r.spec)) add_resource(out, r.name, r.ns, spec);
    } else if (r.kind == "Telemetry") {
      telemetry::v1::Telemetry spec;
      if (spec.ParseFromString(r.spec)) add_resource(out, r.name, r.ns, spec);
    } else if (r.kind == "RequestAuthentication") {
      security::v1::RequestAuthentication spec;
      if (spec.ParseFromString(r.spec)) add_resource(out, r.name, r.ns, spec);
    } else if (r.kind == "AuthorizationPolicy") {
      security::v1::AuthorizationPolicy spec;
      if (spec.ParseFromString(r.spec)) {
        add_resource(out, r.name, r.ns, spec);
        const auto dry_run = r.annotations.find("istio.io/dry-run");
        // Refused at apply unless a boolean; a value that somehow is not one counts as dry run
        // (reporting instead of enforcing an unreadable intent).
        out.back().set_dry_run(dry_run != r.annotations.end() &&
                               parse_bool_text(dry_run->second).value_or(true));
      }
    }
  }
  mesh::v1::TrustBundle bundle;
  bundle.set_pem(inputs.trust_bundle_pem);
  bundle.set_signer_key_id(inputs.signer_key_id);
  add_resource(out, "trust-bundle", "strait-system", bundle);
  if (inputs.telemetry != nullptr)
    add_resource(out, "telemetry-endpoints", "strait-system", *inputs.telemetry);
  return out;
}

namespace {

// When `resource` is a `Policy` (a kind with a workload selector), marks `reach` as a workload
// policy with that selector.
template <typename Policy>
bool workload_policy_reach(const mesh::v1::Resource& resource, ResourceReach& reach) {
  Policy policy;
  if (!resource.body().Is<Policy>() || !resource.body().UnpackTo(&policy)) return false;
  reach.workload_policy = true;
  reach.selector.insert(policy.selector().match_labels().begin(),
                        policy.selector().match_labels().end());
  return true;
}

}  // namespace

std::vector<ResourceReach> reach_of(const std::vector<mesh::v1::Resource>& view) {
  std::vector<ResourceReach> out;
  out.reserve(view.size());
  for (const auto& resource : view) {
    ResourceReach reach;
    reach.ns = resource.namespace_();
    if (mesh::v1::MeshService service; resource.body().Is<mesh::v1::MeshService>() &&
                                       resource.body().UnpackTo(&service)) {
      reach.hosts.push_back(service.hostname());
      reach.export_to.assign(service.export_to().begin(), service.export_to().end());
    } else if (networking::v1::VirtualService vs; resource.body().Is<networking::v1::VirtualService>() &&
                                                  resource.body().UnpackTo(&vs)) {
      for (const auto& h : vs.hosts()) reach.hosts.push_back(qualify_host(h, reach.ns));
      reach.export_to.assign(vs.export_to().begin(), vs.export_to().end());
    } else if (networking::v1::DestinationRule dr; resource.body().Is<networking::v1::DestinationRule>() &&
                                                   resource.body().UnpackTo(&dr)) {
      reach.hosts.push_back(qualify_host(dr.host(), reach.ns));
      reach.export_to.assign(dr.export_to().begin(), dr.export_to().end());
    } else if (workload_policy_reach<policy::v1alpha1::RateLimitPolicy>(resource, reach) ||
               workload_policy_reach<security::v1::RequestAuthentication>(resource, reach) ||
               workload_policy_reach<security::v1::PeerAuthentication>(resource, reach) ||
               workload_policy_reach<security::v1::AuthorizationPolicy>(resource, reach) ||
               workload_policy_reach<telemetry::v1::Telemetry>(resource, reach)) {
      // A policy for the workloads its selector picks (in its namespace, or the root's).
    } else {
      reach.everyone = true;
    }
    out.push_back(std::move(reach));
  }
  return out;
}

EgressScope egress_scope(const mesh::v1::Node& node, const std::vector<store::StoredResource>& resources) {
  const store::StoredResource* selected = nullptr;
  networking::v1::Sidecar chosen;
  int best = 3;  // 0: selector matches in the workload's namespace, 1: namespace default, 2: mesh default
  for (const auto& r : resources) {
    if (r.kind != "Sidecar") continue;
    networking::v1::Sidecar sidecar;
    if (!sidecar.ParseFromString(r.spec)) continue;
    int rank = 3;
    const bool has_selector = sidecar.has_workload_selector() && !sidecar.workload_selector().labels().empty();
    if (r.ns == node.namespace_() && has_selector && selects(sidecar.workload_selector().labels(), node.labels())) rank = 0;
    else if (r.ns == node.namespace_() && !has_selector) rank = 1;
    else if (r.ns == "strait-system" && !has_selector) rank = 2;
    if (rank < best) {  // resources come sorted by namespace and name: the first of a rank wins
      best = rank;
      selected = &r;
      chosen = std::move(sidecar);
    }
  }
  EgressScope scope;
  if (selected == nullptr || chosen.egress_size() == 0) return scope;
  scope.everything = false;
  scope.sidecar = selected->ns + "/" + selected->name;
  for (const auto& listener : chosen.egress()) {
    for (const auto& host : listener.hosts()) {
      const auto slash = host.find('/');
      if (slash == std::string::npos) continue;  // refused at apply
      std::string ns = host.substr(0, slash);
      if (ns == ".") ns = selected->ns;  // "." is the Sidecar's own namespace
      scope.hosts.emplace_back(std::move(ns), ascii_lower(host.substr(slash + 1)));
    }
  }
  return scope;
}

bool visible_to(const ResourceReach& reach, const mesh::v1::Node& proxy, const EgressScope& scope) {
  if (reach.everyone) return true;
  const std::string& proxy_ns = proxy.namespace_();
  if (reach.workload_policy) {
    // As Istio's policies: the root namespace's reach every namespace, a selector narrowing them.
    if (reach.ns != proxy_ns && reach.ns != "strait-system") return false;
    return selects(reach.selector, proxy.labels());
  }
  if (!reach.export_to.empty()) {
    const bool exported = std::ranges::any_of(reach.export_to, [&](const std::string& to) {
      return to == "*" || to == proxy_ns || (to == "." && reach.ns == proxy_ns);
    });
    if (!exported) return false;
  }
  if (scope.everything) return true;
  return std::ranges::any_of(scope.hosts, [&](const auto& pattern) {
    const auto& [ns, host] = pattern;
    if (ns == "~") return false;
    if (ns != "*" && ns != reach.ns) return false;
    return std::ranges::any_of(reach.hosts, [&](const std::string& h) {
      if (host == "*") return true;
      if (host.starts_with("*.")) return h.ends_with(host.substr(1));
      return h == host;
    });
  });
}

}  // namespace strait::control
