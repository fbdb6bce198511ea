// The DNS name in straitd's serving certificate on its gRPC port. Proxies verify straitd against
// this name (whatever address they dial), with the trust bundle they were given. straitd's CA never
// puts a DNS name in a workload certificate, so only straitd holds one for this name (with a
// plugged-in CA whose root other issuers share, that is up to those issuers).
#pragma once

#include <string_view>

namespace strait::tls {

inline constexpr std::string_view kControlPlaneServerName = "straitd.strait-system.svc";
inline constexpr std::string_view kControlPlaneNamespace = "strait-system";
inline constexpr std::string_view kControlPlaneServiceAccount = "straitd";

}  // namespace strait::tls
