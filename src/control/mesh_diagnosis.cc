#include "control/mesh_diagnosis.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "common/bool_text.h"
#include "config/peer_authentication.h"
#include "strait/security/v1/authorization_policy.pb.h"
#include "strait/security/v1/request_authentication.pb.h"

namespace strait::control {
namespace {

using json = nlohmann::json;

const RegisteredWorkload* find_workload(const DiagnosisInputs& inputs, const WorkloadRef& ref) {
  for (const auto& w : *inputs.workloads) {
    if (w.node.namespace_() == ref.ns && w.node.workload() == ref.name) return &w;
  }
  return nullptr;
}

std::map<std::string, std::string> labels_of(const mesh::v1::Node& node) {
  return {node.labels().begin(), node.labels().end()};
}

// As the proxies receive workload policies: from the workload's namespace or the root namespace,
// narrowed by the selector's labels.
template <typename Selector>
bool policy_selects(const std::string& ns, const Selector& match_labels,
                    const mesh::v1::Node& node) {
  if (ns != node.namespace_() && ns != config::kRootNamespace) return false;
  return std::ranges::all_of(match_labels, [&](const auto& entry) {
    const auto it = node.labels().find(entry.first);
    return it != node.labels().end() && it->second == entry.second;
  });
}

json setting_json(const MtlsSetting& setting) {
  return {
      {"mode", std::string(name_of(setting.mode))},
      {"source", setting.source.empty() ? "default (no PeerAuthentication: PERMISSIVE, as Istio)"
                                        : setting.source}};
}

std::string source_text(const MtlsSetting& setting) {
  return setting.source.empty() ? std::string("no PeerAuthentication applies (Istio's default)")
                                : "PeerAuthentication " + setting.source;
}

// A workload without a sidecar that the view lists as an endpoint (a ServiceEntry's).
struct PlainEndpoint {
  std::string service;
  std::vector<std::uint32_t> ports;
};

std::optional<PlainEndpoint> find_plain_endpoint(const DiagnosisInputs& inputs,
                                                 const WorkloadRef& ref) {
  if (inputs.view == nullptr) return std::nullopt;
  for (const auto& resource : *inputs.view) {
    mesh::v1::MeshService service;
    if (!resource.body().Is<mesh::v1::MeshService>() || !resource.body().UnpackTo(&service))
      continue;
    if (service.namespace_() != ref.ns) continue;
    for (const auto& e : service.endpoints()) {
      if (e.workload() != ref.name || e.mtls()) continue;
      PlainEndpoint out{service.hostname(), {}};
      for (const auto& p : service.ports()) out.ports.push_back(p.port());
      return out;
    }
  }
  return std::nullopt;
}

}  // namespace

json describe_workload(const DiagnosisInputs& inputs, const WorkloadRef& ref) {
  const RegisteredWorkload* workload = find_workload(inputs, ref);
  if (workload == nullptr) return json();
  const mesh::v1::Node& node = workload->node;
  const auto policies = peer_authentications(*inputs.resources);
  const EffectiveMtls mtls = workload_mtls(policies, node);

  json out = {{"workload", node.workload()},
              {"namespace", node.namespace_()},
              {"identity", workload->identity},
              {"serviceAccount", node.service_account()},
              {"labels", labels_of(node)},
              {"inboundAddress", node.inbound_address()},
              {"proxyVersion", node.proxy_version()},
              {"mtls", setting_json(mtls.workload)}};
  json ports = json::array();
  for (const auto& p : node.ports()) {
    const auto target = static_cast<std::uint16_t>(p.target_port());
    ports.push_back({{"service", p.service()},
                     {"port", p.port()},
                     {"targetPort", p.target_port()},
                     {"protocol", p.protocol().empty() ? "http" : p.protocol()},
                     {"mtls", setting_json(mtls.for_port(target))}});
  }
  out["ports"] = ports;

  json peer = json::array();
  json authorization = json::array();
  json jwt = json::array();
  bool any_allow = false;
  for (const auto& p : policies) {
    const bool selector = p.spec.selector().match_labels_size() > 0;
    if (!policy_selects(p.ns, p.spec.selector().match_labels(), node)) continue;
    // A selector in the root namespace applies to no workload (config/peer_authentication.h).
    if (p.ns == config::kRootNamespace && selector) continue;
    peer.push_back({{"namespace", p.ns},
                    {"name", p.name},
                    {"scope", selector                         ? "workload"
                              : p.ns == config::kRootNamespace ? "mesh"
                                                               : "namespace"},
                    {"mode", std::string(name_of(config::mode_from_proto(p.spec.mtls().mode())))}});
  }
  for (const auto& r : *inputs.resources) {
    if (r.kind == "AuthorizationPolicy") {
      security::v1::AuthorizationPolicy ap;
      if (!ap.ParseFromString(r.spec) || !policy_selects(r.ns, ap.selector().match_labels(), node))
        continue;
      const auto dry_run = r.annotations.find("istio.io/dry-run");
      const bool is_dry_run = dry_run != r.annotations.end() &&
                              parse_bool_text(dry_run->second).value_or(true);  // as compile_view
      const std::string action = security::v1::AuthorizationPolicy::Action_Name(ap.action());
      if (ap.action() == security::v1::AuthorizationPolicy::ALLOW && !is_dry_run) any_allow = true;
      authorization.push_back({{"namespace", r.ns},
                               {"name", r.name},
                               {"action", action},
                               {"rules", ap.rules_size()},
                               {"dryRun", is_dry_run}});
    } else if (r.kind == "RequestAuthentication") {
      security::v1::RequestAuthentication ra;
      if (!ra.ParseFromString(r.spec) || !policy_selects(r.ns, ra.selector().match_labels(), node))
        continue;
      json issuers = json::array();
      for (const auto& rule : ra.jwt_rules()) issuers.push_back(rule.issuer());
      jwt.push_back({{"namespace", r.ns}, {"name", r.name}, {"issuers", issuers}});
    }
  }
  out["peerAuthentications"] = peer;
  out["authorizationPolicies"] = authorization;
  out["requestAuthentications"] = jwt;
  out["authorizationDefault"] =
      any_allow ? "deny: a request must match an ALLOW policy (and no DENY policy)"
                : "allow: no enforced ALLOW policy selects it (DENY policies still apply)";
  return out;
}

std::expected<json, std::string> check_mtls(const DiagnosisInputs& inputs,
                                            const std::optional<WorkloadRef>& from,
                                            const WorkloadRef& to, std::uint16_t port) {
  json out;
  if (from) {
    const RegisteredWorkload* caller = find_workload(inputs, *from);
    if (caller == nullptr)
      return std::unexpected("no workload " + from->name + " in namespace " + from->ns +
                             " is registered (use 'external' for a caller without a sidecar)");
    out["from"] = {{"workload", from->name},
                   {"namespace", from->ns},
                   {"sidecar", true},
                   {"identity", caller->identity}};
  } else {
    out["from"] = {{"workload", "external"}, {"sidecar", false}};
  }
  json results = json::array();
  const RegisteredWorkload* callee = find_workload(inputs, to);
  if (callee == nullptr) {
    const auto plain = find_plain_endpoint(inputs, to);
    if (!plain)
      return std::unexpected("no workload " + to.name + " in namespace " + to.ns +
                             " is registered or listed by a ServiceEntry");
    out["to"] = {{"workload", to.name}, {"namespace", to.ns}, {"sidecar", false}};
    for (const auto p : plain->ports) {
      if (port != 0 && p != port) continue;
      results.push_back({{"service", plain->service},
                         {"port", p},
                         {"result", "plaintext"},
                         {"reason", to.name + " has no sidecar (an endpoint of ServiceEntry host " +
                                        plain->service + "): it is called in plaintext"}});
    }
  } else {
    out["to"] = {{"workload", to.name},
                 {"namespace", to.ns},
                 {"sidecar", true},
                 {"identity", callee->identity}};
    const EffectiveMtls mtls = workload_mtls(peer_authentications(*inputs.resources), callee->node);
    for (const auto& p : callee->node.ports()) {
      if (port != 0 && p.port() != port) continue;
      const MtlsSetting& setting = mtls.for_port(static_cast<std::uint16_t>(p.target_port()));
      const std::string where = to.name + "'s port " + std::to_string(p.port()) + " (target port " +
                                std::to_string(p.target_port()) + ") is " +
                                std::string(name_of(setting.mode)) + " by " + source_text(setting);
      std::string result;
      std::string reason;
      if (from && setting.mode == MtlsMode::kDisable) {
        result = "plaintext";
        reason = where + ": callers' sidecars send plaintext there (auto-mTLS)";
      } else if (from) {
        result = "mTLS";
        reason = where + ": " + from->name + "'s sidecar calls a sidecar with the mesh's mTLS " +
                 "(auto-mTLS), which it accepts";
      } else if (setting.mode == MtlsMode::kStrict) {
        result = "refused";
        reason = where + ": a caller without a sidecar sends plaintext, which STRICT refuses " +
                 "(403 mtls_required, or the connection closed for TCP)";
      } else {
        result = "plaintext";
        reason = where + ": plaintext is accepted, without a peer identity (policies that need a " +
                 "principal or namespace deny it)";
      }
      results.push_back({{"service", p.service()},
                         {"port", p.port()},
                         {"targetPort", p.target_port()},
                         {"serverMode", std::string(name_of(setting.mode))},
                         {"serverModeSource", setting.source},
                         {"result", result},
                         {"reason", reason}});
    }
  }
  if (results.empty()) return std::unexpected(to.name + " serves no port " + std::to_string(port));
  out["ports"] = results;
  return out;
}

}  // namespace strait::control
