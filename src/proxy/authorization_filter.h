// The authorization step of the callee's sidecar: every inbound HTTP request (after routing,
// before rate limits and the application) and every inbound TCP connection passes the workload's
// AuthorizationPolicies. A denied request gets 403 `rbac_denied` naming the policy (a gRPC call:
// PERMISSION_DENIED); a denied connection is closed. Dry-run and AUDIT verdicts are counted, and
// logged at most a few times a second per worker.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "proxy/authorization.h"
#include "proxy/local_reply.h"
#include "proxy/request_authentication.h"
#include "proxy/router.h"
#include "proxy/stats.h"

namespace strait::proxy {

// nullopt: the request passes. First its JWT, if it carries one, must be valid under the
// workload's RequestAuthentication rules (else 401 `jwt_invalid`; gRPC: UNAUTHENTICATED); then the
// policies decide, with the token's principal and claims. `request.port` is the service port it
// reached, `target_port` the application's port behind it. `request.header` should join repeated
// fields with ",".
[[nodiscard]] std::optional<LocalResponse> check_authorization(
    std::span<const AuthzPolicy> policies, std::span<const JwtRule> jwt_rules,
    const DownstreamInfo& info, const RequestAttributes& request, std::uint16_t target_port,
    WorkerStats& stats);

// Whether an inbound TCP connection to service port `port` (the application's `target_port`) may
// go on.
[[nodiscard]] bool authorize_connection(std::span<const AuthzPolicy> policies,
                                        const DownstreamInfo& info, std::uint16_t port,
                                        std::uint16_t target_port, WorkerStats& stats);

}  // namespace strait::proxy
