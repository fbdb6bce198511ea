// Host names in config resources, as Istio reads them: a short name is a service in the namespace
// of the resource that names it.
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

}  // namespace strait
