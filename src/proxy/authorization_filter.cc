#include "proxy/authorization_filter.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <string>

#include "proxy/rate_limit_filter.h"

namespace strait::proxy {
namespace {

constexpr int kGrpcPermissionDenied = 7;
constexpr int kGrpcUnauthenticated = 16;
constexpr int kLogLinesPerSecond = 20;

// At most kLogLinesPerSecond verdict lines per second and worker: a denied flood must not turn
// into a logging flood.
bool may_log() {
  thread_local std::chrono::steady_clock::time_point second{};
  thread_local int lines = 0;
  const auto now = std::chrono::steady_clock::now();
  if (now - second >= std::chrono::seconds(1)) {
    second = now;
    lines = 0;
  }
  return ++lines <= kLogLinesPerSecond;
}

// The peer as policies name it: the SPIFFE ID without "spiffe://" and its namespace.
void fill_peer(AuthzRequest& r, const DownstreamInfo& info) {
  constexpr std::string_view kScheme = "spiffe://";
  std::string_view id = info.peer_identity;
  if (id.starts_with(kScheme)) id.remove_prefix(kScheme.size());
  r.principal = id;
  // <trust-domain>/ns/<namespace>/sa/<account>
  const auto ns = id.find("/ns/");
  if (ns != std::string_view::npos) {
    std::string_view rest = id.substr(ns + 4);
    r.source_namespace = rest.substr(0, rest.find('/'));
  }
  r.source_ip = info.source_ip;
  r.destination_ip = info.local_ip;
  r.sni = info.sni;
}

void count(const AuthzDecision& d, WorkerStats& stats, std::string_view what) {
  if (d.audited) stats.rbac_audited.add();
  if (!d.allowed) {
    stats.rbac_denied.add();
    if (may_log())
      spdlog::info("rbac: denied {} ({})", what,
                   d.denied_by.empty() ? std::string("no ALLOW policy matched")
                                       : "by " + std::string(d.denied_by));
  } else if (d.would_deny) {
    stats.rbac_dry_run_denied.add();
    if (may_log())
      spdlog::info("rbac dry-run: would deny {} ({})", what,
                   d.would_deny_by.empty() ? std::string("no ALLOW policy would match")
                                           : "by " + std::string(d.would_deny_by));
  }
}

std::string describe(const DownstreamInfo& info, std::string_view method, std::string_view path,
                     std::uint16_t port) {
  std::string out =
      method.empty() ? std::string("connection") : std::string(method) + " " + std::string(path);
  out += " to port " + std::to_string(port) + " from " +
         (info.peer_identity.empty() ? "a plaintext peer" : info.peer_identity) + " at " +
         info.source_ip;
  return out;
}

}  // namespace

std::optional<LocalResponse> check_authorization(std::span<const AuthzPolicy> policies,
                                                 std::span<const JwtRule> jwt_rules,
                                                 const DownstreamInfo& info,
                                                 const RequestAttributes& request,
                                                 std::uint16_t target_port, WorkerStats& stats) {
  if (policies.empty() && jwt_rules.empty()) return std::nullopt;
  const auto content_type = [&] {
    return request.header != nullptr ? request.header(request.context, "content-type")
                                     : std::nullopt;
  };
  JwtOutcome jwt;
  if (!jwt_rules.empty()) {
    jwt = authenticate_request(jwt_rules, request);
    if (!jwt.refusal.empty()) {
      stats.jwt_refused.add();
      if (may_log())
        spdlog::info("jwt: refused a request from {}: {}", info.peer_identity, jwt.refusal);
      LocalResponse out;
      out.reason = LocalReason::kJwtInvalid;
      const auto type = content_type();
      if (type && is_grpc_content_type(*type)) {
        out.status = 200;
        out.grpc_status = kGrpcUnauthenticated;
      } else {
        out.status = 401;
        out.body = "jwt_invalid: " + jwt.refusal + "\n";
      }
      out.fields = {{"www-authenticate", "Bearer error=\"invalid_token\""}};
      return out;
    }
  }
  if (policies.empty()) return std::nullopt;
  const auto path = normalize_path(request.path);
  if (!path) {
    LocalResponse r;
    r.status = 400;
    r.reason = LocalReason::kMalformedRequest;
    r.body =
        "malformed_request: the path cannot be normalized for authorization (an encoded '/', "
        "'\\' or NUL, or a bad escape)\n";
    return r;
  }
  AuthzRequest r;
  fill_peer(r, info);
  r.port = request.port;
  r.target_port = target_port;
  r.host = request.authority;
  r.method = request.method;
  r.path = *path;
  r.context = request.context;
  r.header = request.header;
  const std::string request_principal = jwt.jwt ? jwt.jwt->principal() : std::string();
  r.request_principal = request_principal;
  r.jwt = jwt.jwt ? &*jwt.jwt : nullptr;
  const AuthzDecision d = authorize(policies, r);
  if (d.allowed && !d.would_deny && !d.audited) return std::nullopt;
  const std::string what = d.allowed && !d.would_deny
                               ? std::string()
                               : describe(info, request.method, *path, request.port);
  count(d, stats, what);
  if (d.allowed) return std::nullopt;
  LocalResponse out;
  out.reason = LocalReason::kRbacDenied;
  const std::string policy =
      d.denied_by.empty() ? std::string("no ALLOW policy matched") : std::string(d.denied_by);
  const auto type = content_type();
  if (type && is_grpc_content_type(*type)) {
    out.status = 200;
    out.grpc_status = kGrpcPermissionDenied;
  } else {
    out.status = 403;
    out.body = "rbac_denied: " + policy + "\n";
  }
  out.fields = {{"x-strait-policy", policy}};
  return out;
}

bool authorize_connection(std::span<const AuthzPolicy> policies, const DownstreamInfo& info,
                          std::uint16_t port, std::uint16_t target_port, WorkerStats& stats) {
  if (policies.empty()) return true;
  AuthzRequest r;
  r.http = false;
  fill_peer(r, info);
  r.port = port;
  r.target_port = target_port;
  const AuthzDecision d = authorize(policies, r);
  if (!d.allowed || d.would_deny)
    count(d, stats, describe(info, "", "", port));
  else if (d.audited)
    stats.rbac_audited.add();
  if (!d.allowed) stats.count(LocalReason::kRbacDenied);
  return d.allowed;
}

}  // namespace strait::proxy
