#include "proxy/l4_route.h"

#include <algorithm>

#include "http/message.h"

namespace strait::proxy {

bool sni_matches(std::string_view pattern, std::string_view sni) {
  if (pattern == "*") return !sni.empty();
  if (pattern.starts_with("*.")) {
    const std::string_view suffix = pattern.substr(1);  // ".example.com"
    return sni.size() > suffix.size() &&
           http::iequals(sni.substr(sni.size() - suffix.size()), suffix);
  }
  return http::iequals(pattern, sni);
}

bool l4_route_matches(const L4Route& route, std::uint16_t port, std::string_view sni) {
  if (route.matches.empty()) return true;
  return std::ranges::any_of(route.matches, [&](const L4Match& m) {
    if (m.port != 0 && m.port != port) return false;
    if (m.sni_hosts.empty()) return true;
    return std::ranges::any_of(m.sni_hosts,
                               [&](const std::string& p) { return sni_matches(p, sni); });
  });
}

}  // namespace strait::proxy
