// RequestAuthentication as the callee's sidecar enforces it: a request that carries a JWT (by
// default `Authorization: Bearer <token>` or the `access_token` query parameter; else the rule's
// fromHeaders and fromParams) must carry a valid one from an issuer of the workload's rules, or
// it is refused with 401. A request without a token passes unauthenticated (an
// AuthorizationPolicy on requestPrincipals makes one required), as in Istio.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "proxy/http_route.h"
#include "proxy/jwt.h"

namespace strait::proxy {

struct JwtRule {
  std::string name;  // <namespace>/<name> of the RequestAuthentication
  JwtRequirements requirements;
  JwksKeys keys;             // no key (an unusable JWKS): every token of the issuer is refused
  std::string keys_problem;  // why there is no key
  std::vector<std::pair<std::string, std::string>> from_headers;  // lower-case name, prefix
  std::vector<std::string> from_params;
};

struct JwtOutcome {
  std::optional<VerifiedJwt> jwt;  // a valid token
  std::string refusal;             // non-empty: refuse with 401, saying this
};

// What the request's token says, under the workload's rules. `request.header` gives request
// fields; `request.path` carries the query.
[[nodiscard]] JwtOutcome authenticate_request(std::span<const JwtRule> rules,
                                              const RequestAttributes& request);

}  // namespace strait::proxy
