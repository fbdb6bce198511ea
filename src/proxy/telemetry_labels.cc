#include "proxy/telemetry_labels.h"

#include <array>

#include "proxy/router.h"

namespace strait::proxy {

std::uint16_t response_flag_for(LocalReason reason) {
  switch (reason) {
    case LocalReason::kMalformedRequest:
      return kFlagDownstreamProtocolError;
    case LocalReason::kNoRoute:
    case LocalReason::kUnknownInboundPort:
      return kFlagNoRoute;
    case LocalReason::kNoHealthyUpstream:
      return kFlagNoHealthyUpstream;
    case LocalReason::kUpstreamConnectFailed:
    case LocalReason::kUpstreamConnectTimeout:
    case LocalReason::kUpstreamTlsFailed:
    case LocalReason::kUpstreamIdentityMismatch:
      return kFlagUpstreamConnectFailure;
    case LocalReason::kUpstreamResetBeforeResponse:
      return kFlagUpstreamTermination;
    case LocalReason::kUpstreamProtocolError:
      return kFlagUpstreamProtocolError;
    case LocalReason::kUpstreamTimeout:
    case LocalReason::kUpstreamResponseTimeout:
      return kFlagUpstreamTimeout;
    case LocalReason::kUpstreamOverflow:
      return kFlagUpstreamOverflow;
    case LocalReason::kFaultAbort:
      return kFlagFaultInjected;
    case LocalReason::kRateLimited:
      return kFlagRateLimited;
    default:
      return 0;
  }
}

std::string_view format_response_flags(std::uint16_t flags, char* out) {
  static constexpr std::array<std::pair<std::uint16_t, std::string_view>, 13> kNames{{
      {kFlagNoHealthyUpstream, "UH"},
      {kFlagUpstreamConnectFailure, "UF"},
      {kFlagUpstreamOverflow, "UO"},
      {kFlagNoRoute, "NR"},
      {kFlagUpstreamTimeout, "UT"},
      {kFlagUpstreamTermination, "UC"},
      {kFlagDelayInjected, "DI"},
      {kFlagFaultInjected, "FI"},
      {kFlagRateLimited, "RL"},
      {kFlagDownstreamTermination, "DC"},
      {kFlagRetriesExhausted, "URX"},
      {kFlagDownstreamProtocolError, "DPE"},
      {kFlagUpstreamProtocolError, "UPE"},
  }};
  std::size_t size = 0;
  for (const auto& [flag, name] : kNames) {
    if ((flags & flag) == 0) continue;
    if (size > 0) out[size++] = ',';
    name.copy(out + size, name.size());
    size += name.size();
  }
  return {out, size};
}

IstioLabels telemetry_labels(const Snapshot& snapshot, const DownstreamInfo& info,
                             const PeerMetadata& peer, const TelemetryTarget& target) {
  IstioLabels l;
  const WorkloadLabels& self = snapshot.self_labels;
  if (info.kind == ListenerKind::kInbound) {
    l.reporter = "destination";
    l.source_workload = peer.workload;
    l.source_app = peer.app;
    l.source_version = peer.version;
    l.source_principal = info.peer_identity;
    l.source_workload_namespace = info.peer_namespace;
    l.destination_workload = self.workload;
    l.destination_workload_namespace = self.ns;
    l.destination_principal = self.principal;
    l.destination_app = self.app;
    l.destination_version = self.version;
    if (const ServiceLabels* service = snapshot.inbound_service_labels(target.port)) {
      l.destination_service = service->fqdn;
      l.destination_service_name = service->name;
      l.destination_service_namespace = service->ns;
    }
    l.connection_security_policy = info.plaintext ? "none" : "mutual_tls";
    return l;
  }
  l.reporter = "source";
  l.source_workload = self.workload;
  l.source_workload_namespace = self.ns;
  l.source_principal = self.principal;
  l.source_app = self.app;
  l.source_version = self.version;
  if (target.service != nullptr) {
    l.destination_service = target.service->labels.fqdn;
    l.destination_service_name = target.service->labels.name;
    l.destination_service_namespace = target.service->labels.ns;
    if (target.endpoint < target.service->endpoint_labels.size()) {
      const WorkloadLabels& callee = target.service->endpoint_labels[target.endpoint];
      l.destination_workload = callee.workload;
      l.destination_workload_namespace = callee.ns;
      l.destination_principal = callee.principal;
      l.destination_app = callee.app;
      l.destination_version = callee.version;
    }
  }
  return l;
}

}  // namespace strait::proxy
