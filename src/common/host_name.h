// Names and addresses in config resources and registrations: host names as Istio reads them (a
// short name is a service in the namespace of the resource that names it), DNS labels, IP literals,
// ASCII case.
#pragma once

#include <string>
#include <string_view>

namespace strait {

// "<name>.<namespace>.svc.cluster.local": the DNS suffix is the Kubernetes one whatever the trust
// domain, as in Istio.
[[nodiscard]] std::string service_hostname(std::string_view name, std::string_view ns);

// A host as written in a resource of namespace `ns` ("reviews", "reviews.prod",
// "reviews.prod.svc", "reviews.prod.svc.cluster.local") as an FQDN, lower case, without a trailing
// dot; other hosts (ServiceEntry names such as "api.example.com") unchanged.
[[nodiscard]] std::string qualify_host(std::string_view host, std::string_view ns);

// A DNS label as Kubernetes names namespaces and services: 1-63 lower-case letters, digits and '-',
// not starting or ending with '-'.
[[nodiscard]] bool is_dns_label(std::string_view text);

// An IPv4 or IPv6 address literal (no brackets, no port).
[[nodiscard]] bool is_ip_literal(std::string_view text);

// ASCII lower case (header names, protocol names, hosts).
[[nodiscard]] std::string ascii_lower(std::string text);

}  // namespace strait
