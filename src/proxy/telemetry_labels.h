// Istio's standard labels for one request or connection, from the point of view of the sidecar
// that reports it: the client sidecar (reporter "source") knows itself and the endpoint it picked;
// the server sidecar (reporter "destination") knows itself and what the caller's certificate and
// peer metadata say.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/istio_metrics.h"
#include "proxy/local_reply.h"
#include "proxy/peer_metadata.h"
#include "proxy/snapshot.h"

namespace strait::proxy {

struct DownstreamInfo;

// Envoy's response flags, as Istio's response_flags label and access logs show them.
enum ResponseFlag : std::uint16_t {
  kFlagNoHealthyUpstream = 1 << 0,         // UH
  kFlagUpstreamConnectFailure = 1 << 1,    // UF
  kFlagUpstreamOverflow = 1 << 2,          // UO
  kFlagNoRoute = 1 << 3,                   // NR
  kFlagUpstreamTimeout = 1 << 4,           // UT
  kFlagUpstreamTermination = 1 << 5,       // UC
  kFlagDelayInjected = 1 << 6,             // DI
  kFlagFaultInjected = 1 << 7,             // FI
  kFlagRateLimited = 1 << 8,               // RL
  kFlagDownstreamTermination = 1 << 9,     // DC
  kFlagRetriesExhausted = 1 << 10,         // URX
  kFlagDownstreamProtocolError = 1 << 11,  // DPE
  kFlagUpstreamProtocolError = 1 << 12,    // UPE
};

// The flag a local reply's reason stands for (0: none; the status says it, as for RBAC denials).
[[nodiscard]] std::uint16_t response_flag_for(LocalReason reason);

// Writes the flags as Envoy does ("UH,DI"; "" for none) into `out`, a buffer of at least 64
// bytes; returns the text.
std::string_view format_response_flags(std::uint16_t flags, char* out);

// Where a request or connection went, as telemetry needs it.
struct TelemetryTarget {
  const ResolvedService* service = nullptr;  // outbound: the mesh service (null: none or inbound)
  std::size_t endpoint = static_cast<std::size_t>(-1);  // index into service->endpoints
  std::uint16_t port = 0;  // the service port (inbound: the port called)
};

// The labels for a request or connection of `info`'s listener. `peer` is the caller's metadata
// (inbound over mTLS only). The views point into the snapshot, `info` and `peer`.
[[nodiscard]] IstioLabels telemetry_labels(const Snapshot& snapshot, const DownstreamInfo& info,
                                           const PeerMetadata& peer, const TelemetryTarget& target);

}  // namespace strait::proxy
