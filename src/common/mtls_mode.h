// The mutual-TLS mode a workload's sidecar applies to a connection arriving on one of its ports
// (Istio's PeerAuthentication), and the effective modes of one workload with the policy that set
// each. Shared by straitd, which resolves them (config/peer_authentication.h), and the proxies,
// which enforce them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace strait {

enum class MtlsMode : std::uint8_t {
  kUnset,       // inherit from the next broader policy (PERMISSIVE at the top, as in Istio)
  kDisable,     // callers send plaintext (auto-mTLS); the sidecar does not require mTLS
  kPermissive,  // mTLS and plaintext both accepted, told apart by their first bytes
  kStrict,      // mTLS only
};

[[nodiscard]] constexpr std::string_view name_of(MtlsMode mode) {
  switch (mode) {
    case MtlsMode::kUnset:
      return "UNSET";
    case MtlsMode::kDisable:
      return "DISABLE";
    case MtlsMode::kPermissive:
      return "PERMISSIVE";
    case MtlsMode::kStrict:
      return "STRICT";
  }
  return "UNSET";
}

// A mode and where it comes from: "<namespace>/<name>" of the PeerAuthentication, with
// "/portLevelMtls/<port>" when a port-level entry set it; "" when no policy did (Istio's default).
struct MtlsSetting {
  MtlsMode mode = MtlsMode::kPermissive;
  std::string source;
  bool operator==(const MtlsSetting&) const = default;
};

// The modes of one workload: one for the workload, overridden per application (target) port.
// Never kUnset once resolved.
struct EffectiveMtls {
  MtlsSetting workload;
  std::map<std::uint16_t, MtlsSetting> ports;  // by target port, only where it differs in origin

  [[nodiscard]] const MtlsSetting& for_port(std::uint16_t target_port) const {
    const auto it = ports.find(target_port);
    return it != ports.end() ? it->second : workload;
  }
  bool operator==(const EffectiveMtls&) const = default;
};

}  // namespace strait
