#include "common/host_name.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>

namespace strait {

std::string service_hostname(std::string_view name, std::string_view ns) {
  return std::string(name) + "." + std::string(ns) + ".svc.cluster.local";
}

std::string ascii_lower(std::string text) {
  std::ranges::transform(text, text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool is_dns_label(std::string_view text) {
  if (text.empty() || text.size() > 63 || text.front() == '-' || text.back() == '-') return false;
  return std::ranges::all_of(text, [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool is_ip_literal(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
  const std::string copy(text);  // inet_pton wants a terminated string
  unsigned char buffer[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, copy.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, copy.c_str(), buffer) == 1;
}

std::string qualify_host(std::string_view host, std::string_view ns) {
  std::string h = ascii_lower(std::string(host));
  if (!h.empty() && h.back() == '.') h.pop_back();
  const auto dots = std::ranges::count(h, '.');
  if (dots == 0) return service_hostname(h, ns);
  if (dots == 1) return h + ".svc.cluster.local";
  if (h.ends_with(".svc")) return h + ".cluster.local";
  return h;
}

}  // namespace strait
