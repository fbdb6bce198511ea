#include "proxy/authorization.h"

#include <algorithm>
#include <charconv>

#include "proxy/jwt.h"

namespace strait::proxy {
namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::ranges::equal(a, b, [](char x, char y) { return lower(x) == lower(y); });
}

bool any_holds(const std::vector<AuthzPattern>& patterns, std::string_view value) {
  return std::ranges::any_of(patterns, [&](const AuthzPattern& p) { return p.matches(value); });
}

// A list and its `not` form over one value (nullopt: the request has no such value, which no
// value matches and every `not` form holds for).
bool holds(const AuthzValues& v, std::optional<std::string_view> value) {
  if (!v.values.empty() && !(value && any_holds(v.values, *value))) return false;
  if (!v.not_values.empty() && value && any_holds(v.not_values, *value)) return false;
  return true;
}

bool holds(const AuthzIps& v, std::string_view ip) {
  auto in = [&](const std::vector<IpBlock>& blocks) {
    return std::ranges::any_of(blocks, [&](const IpBlock& b) { return b.contains(ip); });
  };
  if (!v.values.empty() && !in(v.values)) return false;
  if (!v.not_values.empty() && in(v.not_values)) return false;
  return true;
}

// A list and its `not` form over a list of values (a JWT's audiences, a list claim): some value
// matches, and none matches a `not` value. Null: the request has no such list.
bool holds_any(const AuthzValues& v, const std::vector<std::string>* values) {
  auto any = [&](const std::vector<AuthzPattern>& patterns) {
    return values != nullptr && std::ranges::any_of(*values, [&](const std::string& value) {
             return any_holds(patterns, value);
           });
  };
  if (!v.values.empty() && !any(v.values)) return false;
  return v.not_values.empty() || !any(v.not_values);
}

std::optional<std::string_view> present(std::string_view value) {
  return value.empty() ? std::nullopt : std::optional(value);
}

// Evaluates one policy's rules. `deny` says how a field that needs HTTP counts on a TCP
// connection: as matching (DENY) or not (ALLOW, AUDIT).
class RuleMatcher {
 public:
  RuleMatcher(const AuthzRequest& request, bool deny) : r_(request), deny_(deny) {}

  bool matches(const AuthzPolicy& policy) const {
    return std::ranges::any_of(policy.rules, [&](const AuthzRule& rule) { return matches(rule); });
  }

 private:
  bool matches(const AuthzRule& rule) const {
    if (!rule.from.empty() &&
        std::ranges::none_of(rule.from, [&](const AuthzSource& s) { return matches(s); }))
      return false;
    if (!rule.to.empty() &&
        std::ranges::none_of(rule.to, [&](const AuthzOperation& o) { return matches(o); }))
      return false;
    return std::ranges::all_of(rule.when, [&](const AuthzCondition& c) { return matches(c); });
  }

  // A field that needs HTTP, on a TCP connection.
  [[nodiscard]] bool tcp_gap(bool field_set) const { return !r_.http && field_set; }

  bool matches(const AuthzSource& s) const {
    if (!holds(s.principals, present(r_.principal))) return false;
    if (!holds(s.service_accounts, present(r_.principal))) return false;
    if (!holds(s.namespaces, present(r_.source_namespace))) return false;
    if (!holds(s.ip_blocks, r_.source_ip) || !holds(s.remote_ip_blocks, r_.source_ip)) return false;
    if (tcp_gap(!s.request_principals.empty())) return deny_;
    return holds(s.request_principals, present(r_.request_principal));
  }

  bool matches(const AuthzOperation& o) const {
    auto names_port = [&](const std::vector<std::uint16_t>& ports) {
      return std::ranges::any_of(ports, [&](std::uint16_t p) {
        return p == r_.port || (r_.target_port != 0 && p == r_.target_port);
      });
    };
    if (!o.ports.empty() && !names_port(o.ports)) return false;
    if (names_port(o.not_ports)) return false;
    if (tcp_gap(!o.hosts.empty() || !o.methods.empty() || !o.paths.empty())) return deny_;
    if (!o.hosts.empty() && !host_holds(o.hosts)) return false;
    return holds(o.methods, r_.method) && holds(o.paths, r_.path);
  }

  // A host value matches the Host with or without its port.
  bool host_holds(const AuthzValues& hosts) const {
    std::string_view bare = r_.host;
    if (const auto colon = bare.rfind(':');
        colon != std::string_view::npos && bare.find(']', colon) == std::string_view::npos)
      bare = bare.substr(0, colon);
    auto any = [&](const std::vector<AuthzPattern>& patterns) {
      return any_holds(patterns, r_.host) || any_holds(patterns, bare);
    };
    if (!hosts.values.empty() && !any(hosts.values)) return false;
    return hosts.not_values.empty() || !any(hosts.not_values);
  }

  bool matches(const AuthzCondition& c) const {
    using Key = AuthzCondition::Key;
    if (tcp_gap(c.needs_http())) return deny_;
    switch (c.key) {
      case Key::kSourceIp:
      case Key::kRemoteIp:
        return holds(c.ips, r_.source_ip);
      case Key::kDestinationIp:
        return holds(c.ips, r_.destination_ip);
      case Key::kSourceNamespace:
        return holds(c.values, present(r_.source_namespace));
      case Key::kSourcePrincipal:
        return holds(c.values, present(r_.principal));
      case Key::kRequestPrincipal:
        return holds(c.values, present(r_.request_principal));
      case Key::kDestinationPort: {
        // As `ports`: the service port or the application's.
        char text[8];
        const auto end = std::to_chars(text, text + sizeof text, r_.port).ptr;
        const std::string_view service(text, static_cast<std::size_t>(end - text));
        char target_text[8];
        const auto target_end =
            std::to_chars(target_text, target_text + sizeof target_text, r_.target_port).ptr;
        const std::string_view target(target_text,
                                      static_cast<std::size_t>(target_end - target_text));
        const bool in = any_holds(c.values.values, service) ||
                        (r_.target_port != 0 && any_holds(c.values.values, target));
        const bool out = any_holds(c.values.not_values, service) ||
                         (r_.target_port != 0 && any_holds(c.values.not_values, target));
        return (c.values.values.empty() || in) && !out;
      }
      case Key::kSni:
        return holds(c.values, present(r_.sni));
      case Key::kHeader: {
        const auto value = r_.header != nullptr ? r_.header(r_.context, c.name) : std::nullopt;
        return holds(c.values, value);
      }
      case Key::kAudiences:
        return holds_any(c.values, r_.jwt != nullptr ? &r_.jwt->audiences : nullptr);
      case Key::kPresenter:
        return holds(c.values, r_.jwt != nullptr ? present(r_.jwt->presenter) : std::nullopt);
      case Key::kClaim: {
        if (r_.jwt == nullptr) return holds(c.values, std::nullopt);
        for (const auto& [name, values] : r_.jwt->claims) {
          if (name == c.name) return holds_any(c.values, &values);
        }
        return holds(c.values, std::nullopt);
      }
    }
    return false;
  }

  const AuthzRequest& r_;
  bool deny_;
};

}  // namespace

AuthzPattern AuthzPattern::parse(std::string_view value, bool lower_case) {
  AuthzPattern p;
  if (value == "*") {
    p.kind = Kind::kAny;
    return p;
  }
  if (value.size() > 1 && value.back() == '*') {
    p.kind = Kind::kPrefix;
    value.remove_suffix(1);
  } else if (value.size() > 1 && value.front() == '*') {
    p.kind = Kind::kSuffix;
    value.remove_prefix(1);
  }
  p.text.assign(value);
  if (lower_case) std::ranges::transform(p.text, p.text.begin(), lower);
  p.ignore_case = lower_case;
  return p;
}

bool AuthzPattern::matches(std::string_view value) const {
  auto same = [&](std::string_view a, std::string_view b) {
    return ignore_case ? iequal(a, b) : a == b;
  };
  switch (kind) {
    case Kind::kAny:
      return true;  // callers pass absent values as nullopt
    case Kind::kExact:
      return same(value, text);
    case Kind::kPrefix:
      return value.size() >= text.size() && same(value.substr(0, text.size()), text);
    case Kind::kSuffix:
      return value.size() >= text.size() && same(value.substr(value.size() - text.size()), text);
  }
  return false;
}

bool AuthzCondition::needs_http() const {
  return key == Key::kHeader || key == Key::kClaim || key == Key::kRequestPrincipal ||
         key == Key::kAudiences || key == Key::kPresenter;
}

AuthzDecision authorize(std::span<const AuthzPolicy> policies, const AuthzRequest& request) {
  using Action = AuthzPolicy::Action;
  AuthzDecision d;
  const RuleMatcher as_deny(request, true);
  const RuleMatcher as_allow(request, false);
  bool any_allow = false;  // enforced ALLOW policies
  bool allow_matched = false;
  bool any_allow_with_dry_run = false;  // every ALLOW policy, as if the dry-run ones were enforced
  bool allow_matched_with_dry_run = false;
  for (const auto& policy : policies) {
    switch (policy.action) {
      case Action::kDeny:
        if (!as_deny.matches(policy)) break;
        if (policy.dry_run) {
          if (d.would_deny_by.empty()) d.would_deny_by = policy.name;
        } else if (d.allowed) {
          d.allowed = false;
          d.denied_by = policy.name;
        }
        break;
      case Action::kAllow: {
        const bool matched = as_allow.matches(policy);
        any_allow_with_dry_run = true;
        allow_matched_with_dry_run = allow_matched_with_dry_run || matched;
        if (!policy.dry_run) {
          any_allow = true;
          allow_matched = allow_matched || matched;
        }
        break;
      }
      case Action::kAudit:
        if (!policy.dry_run && as_allow.matches(policy)) d.audited = true;
        break;
    }
  }
  if (d.allowed && any_allow && !allow_matched) d.allowed = false;
  // What the dry-run policies would change: a request allowed now that they would deny.
  if (d.allowed) {
    d.would_deny =
        !d.would_deny_by.empty() || (any_allow_with_dry_run && !allow_matched_with_dry_run);
  } else {
    d.would_deny_by = {};
  }
  return d;
}

std::optional<std::string> normalize_path(std::string_view path) {
  if (path == "*") return std::string(path);
  path = path.substr(0, path.find_first_of("?#"));
  if (path.empty()) return std::string("/");  // "?x": the query of the root
  if (path.front() != '/') return std::nullopt;
  std::string decoded;
  decoded.reserve(path.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\' || c == '\0') return std::nullopt;
    if (c != '%') {
      decoded += c;
      continue;
    }
    if (i + 2 >= path.size() || hex(path[i + 1]) < 0 || hex(path[i + 2]) < 0) return std::nullopt;
    const char byte = static_cast<char>(hex(path[i + 1]) * 16 + hex(path[i + 2]));
    const bool unreserved = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                            (byte >= '0' && byte <= '9') || byte == '-' || byte == '.' ||
                            byte == '_' || byte == '~';
    if (byte == '/' || byte == '\\' || byte == '\0') return std::nullopt;
    if (unreserved) {
      decoded += byte;
    } else {
      // Kept encoded, upper case (RFC 3986 6.2.2.1).
      static constexpr char kHex[] = "0123456789ABCDEF";
      decoded += '%';
      decoded += kHex[(static_cast<unsigned char>(byte) >> 4) & 0xf];
      decoded += kHex[static_cast<unsigned char>(byte) & 0xf];
    }
    i += 2;
  }
  // Remove dot segments: walk the segments, keeping a stack in `out`.
  std::string out;
  out.reserve(decoded.size());
  std::size_t i = 0;
  while (i < decoded.size()) {
    // decoded[i] is '/'
    std::size_t end = decoded.find('/', i + 1);
    if (end == std::string::npos) end = decoded.size();
    const std::string_view segment(decoded.data() + i + 1, end - i - 1);
    const bool last = end == decoded.size();
    if (segment.empty() && !last) {
      // merged: "//" is "/" (a trailing "/" is kept by the last empty segment)
    } else if (segment == ".") {
      if (last) out += '/';
    } else if (segment == "..") {
      const auto slash = out.rfind('/');
      out.erase(slash == std::string::npos ? 0 : slash);
      if (last) out += '/';
    } else {
      out += '/';
      out.append(segment);
    }
    i = end;
  }
  if (out.empty()) out = "/";
  return out;
}

}  // namespace strait::proxy
