// The DNS name in straitd's serving certificate on its gRPC port. Proxies verify straitd against
// this name (whatever address they dial) and its SPIFFE ID, with the trust bundle they were given.
#pragma once

#include <string_view>

namespace strait::tls {

inline constexpr std::string_view kControlPlaneServerName = "straitd.strait-system.svc";
inline constexpr std::string_view kControlPlaneNamespace = "strait-system";
inline constexpr std::string_view kControlPlaneServiceAccount = "straitd";

}  // namespace strait::tls
