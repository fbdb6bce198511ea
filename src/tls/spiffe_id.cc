#include "tls/spiffe_id.h"

#include <algorithm>

namespace strait::tls {
namespace {

constexpr std::string_view kScheme = "spiffe://";

// Trust domains are DNS-like (lower-case letters, digits, '.', '-', '_'); path segments use the
// SPIFFE path charset (letters, digits, '.', '-', '_').
bool valid_trust_domain(std::string_view s) {
  return !s.empty() && std::ranges::all_of(s, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
  });
}

bool valid_segment(std::string_view s) {
  return !s.empty() && s != "." && s != ".." && std::ranges::all_of(s, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
  });
}

}  // namespace

std::string SpiffeId::uri() const {
  std::string out;
  out.reserve(kScheme.size() + trust_domain.size() + ns.size() + service_account.size() + 8);
  out.append(kScheme).append(trust_domain).append("/ns/").append(ns).append("/sa/").append(
      service_account);
  return out;
}

std::optional<SpiffeId> parse_spiffe_id(std::string_view uri) {
  if (!uri.starts_with(kScheme)) return std::nullopt;
  uri.remove_prefix(kScheme.size());
  const auto slash = uri.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  SpiffeId id;
  const std::string_view domain = uri.substr(0, slash);
  std::string_view path = uri.substr(slash);
  if (!valid_trust_domain(domain) || !path.starts_with("/ns/")) return std::nullopt;
  path.remove_prefix(4);
  const auto sa = path.find("/sa/");
  if (sa == std::string_view::npos) return std::nullopt;
  const std::string_view ns = path.substr(0, sa);
  const std::string_view account = path.substr(sa + 4);
  if (!valid_segment(ns) || !valid_segment(account) || account.find('/') != std::string_view::npos)
    return std::nullopt;
  id.trust_domain = domain;
  id.ns = ns;
  id.service_account = account;
  return id;
}

}  // namespace strait::tls
