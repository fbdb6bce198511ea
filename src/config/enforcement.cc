#include "config/enforcement.h"

#include "common/host_name.h"
#include "config/peer_authentication.h"
#include "strait/networking/v1/destination_rule.pb.h"
#include "strait/networking/v1/service_entry.pb.h"
#include "strait/networking/v1/sidecar.pb.h"
#include "strait/networking/v1/virtual_service.pb.h"
#include "strait/security/v1/request_authentication.pb.h"

namespace strait::config {
namespace {

namespace nw = strait::networking::v1;
namespace sec = strait::security::v1;

void route_actions(std::vector<std::string>& out, const nw::VirtualService& vs) {
  for (int i = 0; i < vs.http_size(); ++i) {
    const auto& h = vs.http(i);
    const std::string p = "spec.http[" + std::to_string(i) + "].";
    auto add = [&](bool present, const char* field) {
      if (present) out.push_back(p + field + ": not enforced by the proxies yet");
    };
    add(h.has_delegate(), "delegate");
    add(h.has_retries() && h.retries().has_retry_remote_localities(), "retries.retryRemoteLocalities");
    add(h.has_fault() && h.fault().has_delay() && h.fault().delay().has_exponential_delay(),
        "fault.delay.exponentialDelay");
    add(h.has_fault() && h.fault().has_abort() &&
            h.fault().abort().error_type_case() == nw::HTTPFaultInjection::Abort::kHttp2Error,
        "fault.abort.http2Error");
  }
  // tcp[] and tls[] routes are enforced; a match on addresses is not (no original destination
  // without transparent capture): such a block never matches.
  auto l4 = [&](const auto& routes, const char* field) {
    for (int i = 0; i < routes.size(); ++i) {
      for (int j = 0; j < routes[i].match_size(); ++j) {
        const auto& m = routes[i].match(j);
        const std::string p = std::string("spec.") + field + "[" + std::to_string(i) + "].match[" +
                              std::to_string(j) + "].";
        if (m.destination_subnets_size() > 0)
          out.push_back(p + "destinationSubnets: not enforced yet; this match block never matches");
        if constexpr (requires { m.source_subnet(); }) {
          if (!m.source_subnet().empty())
            out.push_back(p + "sourceSubnet: not enforced yet; this match block never matches");
        }
      }
    }
  };
  l4(vs.tcp(), "tcp");
  l4(vs.tls(), "tls");
}

void load_balancer(std::vector<std::string>& out, const nw::LoadBalancerSettings& lb,
                   const std::string& p) {
  using Settings = nw::LoadBalancerSettings;
  if (lb.lb_policy_case() == Settings::kSimple && lb.simple() == Settings::PASSTHROUGH)
    out.push_back(p + "loadBalancer.simple: PASSTHROUGH not enforced yet (least request is used)");
  if (lb.has_locality_lb_setting())
    out.push_back(p + "loadBalancer.localityLbSetting: not enforced yet");
  if (lb.has_warmup() || lb.has_warmup_duration_secs())
    out.push_back(p + "loadBalancer.warmup: not enforced yet");
}

void connection_pool(std::vector<std::string>& out, const nw::ConnectionPoolSettings& cp,
                     const std::string& p) {
  if (cp.tcp().has_max_connection_duration())
    out.push_back(p + "connectionPool.tcp.maxConnectionDuration: not enforced yet");
  if (cp.http().h2_upgrade_policy() != nw::ConnectionPoolSettings::HTTPSettings::DEFAULT)
    out.push_back(p +
                  "connectionPool.http.h2UpgradePolicy: not enforced (sidecars always speak HTTP/2 "
                  "to each other)");
  if (cp.http().use_client_protocol())
    out.push_back(p + "connectionPool.http.useClientProtocol: not enforced yet");
  if (cp.http().max_concurrent_streams() > 0)
    out.push_back(p + "connectionPool.http.maxConcurrentStreams: not enforced yet");
}

void client_tls(std::vector<std::string>& out, const nw::ClientTLSSettings& tls,
                const std::string& p) {
  if (tls.mode() != nw::ClientTLSSettings::ISTIO_MUTUAL)
    out.push_back(p + "tls: only ISTIO_MUTUAL (the mesh's mTLS) is supported yet");
}

// A trafficPolicy (the rule's or a subset's) and its portLevelSettings: every field is enforced
// per cluster (subset and port) except those listed here.
void traffic_policy(std::vector<std::string>& out, const nw::TrafficPolicy& tp,
                    const std::string& p) {
  if (tp.has_load_balancer()) load_balancer(out, tp.load_balancer(), p);
  if (tp.has_connection_pool()) connection_pool(out, tp.connection_pool(), p);
  if (tp.has_tls()) client_tls(out, tp.tls(), p);
  for (int i = 0; i < tp.port_level_settings_size(); ++i) {
    const auto& port = tp.port_level_settings(i);
    const std::string at = p + "portLevelSettings[" + std::to_string(i) + "].";
    if (port.has_load_balancer()) load_balancer(out, port.load_balancer(), at);
    if (port.has_connection_pool()) connection_pool(out, port.connection_pool(), at);
    if (port.has_tls()) client_tls(out, port.tls(), at);
  }
  if (tp.has_tunnel()) out.push_back(p + "tunnel: not enforced by the proxies yet");
}

}  // namespace

std::vector<std::string> unenforced_fields(const Resource& resource) {
  std::vector<std::string> out;
  const std::string_view kind = resource.kind->kind;
  if (const auto* vs = dynamic_cast<const nw::VirtualService*>(resource.spec.get())) {
    route_actions(out, *vs);
  } else if (const auto* dr = dynamic_cast<const nw::DestinationRule*>(resource.spec.get())) {
    if (dr->has_traffic_policy()) traffic_policy(out, dr->traffic_policy(), "spec.trafficPolicy.");
    for (int i = 0; i < dr->subsets_size(); ++i) {
      if (dr->subsets(i).has_traffic_policy())
        traffic_policy(out, dr->subsets(i).traffic_policy(),
                       "spec.subsets[" + std::to_string(i) + "].trafficPolicy.");
    }
  } else if (const auto* se = dynamic_cast<const nw::ServiceEntry*>(resource.spec.get())) {
    for (int i = 0; i < se->endpoints_size(); ++i) {
      const std::string& address = se->endpoints(i).address();
      // The view compiler leaves out exactly these (common/host_name.h, one rule for both).
      if (!address.empty() && !is_ip_literal(address))
        out.push_back("spec.endpoints[" + std::to_string(i) + "].address: host names are not resolved by the proxies "
                      "yet; this endpoint is left out");
    }
  } else if (const auto* sidecar = dynamic_cast<const nw::Sidecar*>(resource.spec.get())) {
    if (sidecar->ingress_size() > 0) out.push_back("spec.ingress: not enforced by the proxies yet");
    if (sidecar->has_outbound_traffic_policy())
      out.push_back("spec.outboundTrafficPolicy: not enforced yet (calls outside the mesh are refused)");
  } else if (const auto* pa = dynamic_cast<const sec::PeerAuthentication*>(resource.spec.get())) {
    if (resource.ns == kRootNamespace && pa->selector().match_labels_size() > 0)
      out.push_back(
          "spec.selector: a PeerAuthentication with a selector in the root namespace applies to no "
          "workload (as in Istio): put it in the namespace of the workloads it selects");
  } else if (const auto* ra =
                 dynamic_cast<const sec::RequestAuthentication*>(resource.spec.get())) {
    for (int i = 0; i < ra->jwt_rules_size(); ++i) {
      const auto& rule = ra->jwt_rules(i);
      const std::string p = "spec.jwtRules[" + std::to_string(i) + "].";
      if (rule.from_cookies_size() > 0)
        out.push_back(p + "fromCookies: not enforced yet (the token is not looked for there)");
      if (!rule.output_payload_to_header().empty())
        out.push_back(p + "outputPayloadToHeader: not enforced yet");
      if (rule.output_claim_to_headers_size() > 0)
        out.push_back(p + "outputClaimToHeaders: not enforced yet");
      if (!rule.forward_original_token())
        out.push_back(
            p +
            "forwardOriginalToken: the token is forwarded to the application (removing it is not "
            "done yet)");
    }
  } else if (kind == "Telemetry") {
    out.push_back("Telemetry is stored but NOT enforced by the proxies yet");
  }
  return out;
}

}  // namespace strait::config
