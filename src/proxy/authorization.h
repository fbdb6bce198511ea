// AuthorizationPolicy (security.istio.io) as the callee's sidecar enforces it on every inbound
// request and TCP connection, with Istio's semantics:
//
//   - a policy's rules are OR'd; within a rule `from`, `to` and `when` are AND'd, each list's
//     entries OR'd, and within a source or operation every field set is AND'd (a `not` field holds
//     when no value matches);
//   - decision order: a matching DENY denies; else, when some ALLOW policy applies to the
//     workload, the request needs a matching ALLOW; else it is allowed. AUDIT only counts;
//   - an ALLOW policy without rules matches nothing (with no other ALLOW it denies everything);
//     `rules: [{}]` matches everything;
//   - on a TCP connection a field that needs HTTP (methods, paths, hosts, requestPrincipals,
//     request headers and JWT claims) makes an ALLOW rule fail and a DENY rule hold (safer);
//   - a dry-run policy (annotation istio.io/dry-run: "true") is evaluated on its own and only
//     reports what it would have denied.
//
// Everything is compiled once per snapshot; authorize() allocates nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_block.h"

namespace strait::proxy {

struct VerifiedJwt;

// A value as AuthorizationPolicy writes it: exact, "prefix*", "*suffix", or "*".
struct AuthzPattern {
  enum class Kind : std::uint8_t { kExact, kPrefix, kSuffix, kAny };
  Kind kind = Kind::kExact;
  std::string text;          // without the '*'
  bool ignore_case = false;  // hosts and methods
  // "*" matches any value that is present (principals: ["*"] needs an mTLS peer; a header that is
  // present but empty is present).
  [[nodiscard]] static AuthzPattern parse(std::string_view value, bool lower_case = false);
  [[nodiscard]] bool matches(std::string_view value) const;
};

// A list of patterns, or its `not` form: unset matches anything.
struct AuthzValues {
  std::vector<AuthzPattern> values;
  std::vector<AuthzPattern> not_values;
  [[nodiscard]] bool empty() const { return values.empty() && not_values.empty(); }
};

struct AuthzIps {
  std::vector<IpBlock> values;
  std::vector<IpBlock> not_values;
  [[nodiscard]] bool empty() const { return values.empty() && not_values.empty(); }
};

struct AuthzSource {
  AuthzValues principals;          // "<trust-domain>/ns/<ns>/sa/<sa>"
  AuthzValues service_accounts;    // serviceAccounts, as principal patterns "*/ns/<ns>/sa/<sa>"
  AuthzValues request_principals;  // "<iss>/<sub>" of a verified JWT (HTTP only)
  AuthzValues namespaces;
  AuthzIps ip_blocks;         // the connection's peer address
  AuthzIps remote_ip_blocks;  // the original client's (without trusted proxies: the peer's)
};

struct AuthzOperation {
  AuthzValues hosts;  // HTTP only; lower case; a value matches the host with or without its port
  // A value matches the service port the caller reached or the application's port behind it
  // (Istio names the workload's port; strait's callers name the service port).
  std::vector<std::uint16_t> ports;
  std::vector<std::uint16_t> not_ports;
  AuthzValues methods;  // HTTP only; case-insensitive
  AuthzValues paths;    // HTTP only; the normalized path without its query
};

struct AuthzCondition {
  enum class Key : std::uint8_t {
    kSourceIp,
    kRemoteIp,
    kSourceNamespace,
    kSourcePrincipal,
    kRequestPrincipal,  // request.auth.principal
    kAudiences,         // request.auth.audiences
    kPresenter,         // request.auth.presenter
    kClaim,             // request.auth.claims[name]
    kHeader,            // request.headers[name]
    kDestinationIp,
    kDestinationPort,
    kSni,
  };
  Key key = Key::kSourceIp;
  std::string name;  // header (lower case) or claim name
  AuthzValues values;
  AuthzIps ips;  // the IP keys take blocks
  [[nodiscard]] bool needs_http() const;
};

struct AuthzRule {
  std::vector<AuthzSource> from;
  std::vector<AuthzOperation> to;
  std::vector<AuthzCondition> when;
};

struct AuthzPolicy {
  enum class Action : std::uint8_t { kAllow, kDeny, kAudit };
  std::string name;  // <namespace>/<name>
  Action action = Action::kAllow;
  bool dry_run = false;
  std::vector<AuthzRule> rules;
};

// What a policy looks at, for one request or connection. `header` returns a request header's
// value (names lower case), nullopt when absent; null on TCP.
struct AuthzRequest {
  bool http = true;
  std::string_view principal;  // the peer's SPIFFE ID without "spiffe://" ("" : plaintext peer)
  std::string_view source_namespace;
  std::string_view source_ip;
  std::string_view destination_ip;
  std::uint16_t port = 0;         // the service port the caller reached
  std::uint16_t target_port = 0;  // the application's port behind it (0: unknown)
  std::string_view sni;
  std::string_view host;  // Host / :authority
  std::string_view method;
  std::string_view path;               // normalized, without the query
  std::string_view request_principal;  // "" : no verified JWT
  const VerifiedJwt* jwt = nullptr;    // the verified JWT (audiences, presenter, claims)
  const void* context = nullptr;
  std::optional<std::string_view> (*header)(const void* context, std::string_view name) = nullptr;
};

struct AuthzDecision {
  bool allowed = true;
  // Denied: the DENY policy that matched, or "" when no ALLOW policy matched.
  std::string_view denied_by;
  // The dry-run policies' verdict: the policy that would have denied ("" : none would have, or
  // the dry-run ALLOW policies matched nothing: then would_deny_unmatched).
  std::string_view would_deny_by;
  bool would_deny = false;
  bool audited = false;  // an AUDIT policy matched
};

[[nodiscard]] AuthzDecision authorize(std::span<const AuthzPolicy> policies,
                                      const AuthzRequest& request);

// A request path as policies see it: the query and fragment dropped, percent-encoded unreserved
// characters decoded, runs of '/' merged, "." and ".." segments resolved (RFC 3986 5.2.4; a ".."
// at the root stays at the root). Merging is the safe reading: an application that merges
// slashes serves "//admin" as "/admin". "*" (OPTIONS *) stays "*". nullopt when it cannot be
// normalized safely (an encoded '/', '\' or NUL, a bad escape, or no leading '/').
[[nodiscard]] std::optional<std::string> normalize_path(std::string_view path);

}  // namespace strait::proxy
