#include "common/host_name.h"

#include <algorithm>
#include <cctype>

namespace strait {

std::string service_hostname(std::string_view name, std::string_view ns) {
  return std::string(name) + "." + std::string(ns) + ".svc.cluster.local";
}

std::string qualify_host(std::string_view host, std::string_view ns) {
  std::string h(host);
  std::ranges::transform(h, h.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!h.empty() && h.back() == '.') h.pop_back();
  const auto dots = std::ranges::count(h, '.');
  if (dots == 0) return service_hostname(h, ns);
  if (dots == 1) return h + ".svc.cluster.local";
  if (h.ends_with(".svc")) return h + ".cluster.local";
  return h;
}

}  // namespace strait
