// libFuzzer target for the bootstrap file: the input is parsed as bootstrap YAML and, when it
// parses, finalized. Neither step may crash, throw or leave the config in a state the rest of the
// proxy does not expect; a violated invariant aborts so that libFuzzer records a crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "proxy/bootstrap.h"
#include "tls/spiffe_id.h"

namespace {

using strait::proxy::ProxyConfig;

// What parse_bootstrap guarantees about any config it returns.
void check_parsed(const ProxyConfig& c) {
  for (const auto& s : c.inbound_services) {
    FUZZ_CHECK(s.port != 0);
  }
  for (const auto& u : c.upstreams) {
    FUZZ_CHECK(u.port != 0);
    FUZZ_CHECK(!u.service.empty());
  }
  for (const auto& s : c.services) {
    FUZZ_CHECK(!s.ports.empty());
    for (const auto& p : s.ports) FUZZ_CHECK(p.port != 0);
    for (const auto& e : s.endpoints) {
      FUZZ_CHECK(!e.address.host.empty());
      FUZZ_CHECK(!e.mtls || !e.identity.empty());
      FUZZ_CHECK(e.identity.empty() || strait::tls::parse_spiffe_id(e.identity).has_value());
    }
  }
  // Relative TLS paths are resolved against the base directory ("/tmp").
  for (const std::string* path :
       {&c.tls.certificate_chain, &c.tls.private_key, &c.tls.trust_bundle}) {
    FUZZ_CHECK(path->empty() || path->front() == '/');
  }
  const auto& l = c.limits;
  FUZZ_CHECK(l.max_request_line > 0 && l.max_request_line <= (1U << 20));
  FUZZ_CHECK(l.max_head_size > 0 && l.max_head_size <= (1U << 20));
  FUZZ_CHECK(l.max_header_count > 0 && l.max_header_count <= 10'000);
  FUZZ_CHECK(l.max_idle_upstream_per_endpoint > 0 && l.max_idle_upstream_per_endpoint <= 10'000);
  for (const auto d : {l.header_read_timeout, l.idle_timeout, l.connect_timeout,
                       l.stream_idle_timeout, l.drain_timeout, l.tunnel_idle_timeout}) {
    FUZZ_CHECK(d.count() >= 1);
  }
  FUZZ_CHECK(c.concurrency >= 0 && c.concurrency <= 256);
}

// What finalize_config guarantees on success.
void check_finalized(const ProxyConfig& c) {
  FUZZ_CHECK(!c.workload.name.empty());
  FUZZ_CHECK(!c.tls.certificate_chain.empty() && !c.tls.private_key.empty() &&
             !c.tls.trust_bundle.empty());
  std::set<std::string> fqdns;
  for (const auto& s : c.services) {
    FUZZ_CHECK(s.fqdn == s.name + "." + s.ns + ".svc.cluster.local");
    FUZZ_CHECK(fqdns.insert(s.fqdn).second);
    FUZZ_CHECK(std::ranges::is_sorted(s.allowed_identities));
    FUZZ_CHECK(std::ranges::adjacent_find(s.allowed_identities) == s.allowed_identities.end());
    for (const auto& e : s.endpoints) {
      FUZZ_CHECK(e.identity.empty() ||
                 std::ranges::binary_search(s.allowed_identities, e.identity));
    }
  }
  std::set<std::uint16_t> ports;
  for (const auto& s : c.inbound_services) {
    FUZZ_CHECK(ports.insert(s.port).second);
    FUZZ_CHECK(s.target_port != 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(bytes), size);
  auto config = strait::proxy::parse_bootstrap(yaml, "/tmp");
  if (!config) {
    FUZZ_CHECK(!config.error().empty());
    return 0;
  }
  check_parsed(*config);
  ProxyConfig copy = *config;
  if (auto finalized = strait::proxy::finalize_config(*config); finalized) {
    check_finalized(*config);
    // Finalizing is idempotent: a second pass accepts and changes nothing visible.
    auto again = strait::proxy::finalize_config(*config);
    FUZZ_CHECK(again.has_value());
    check_finalized(*config);
  } else {
    FUZZ_CHECK(!finalized.error().empty());
  }
  // Parsing is deterministic.
  auto reparsed = strait::proxy::parse_bootstrap(yaml, "/tmp");
  FUZZ_CHECK(reparsed.has_value());
  FUZZ_CHECK(reparsed->services.size() == copy.services.size() &&
             reparsed->inbound_services.size() == copy.inbound_services.size() &&
             reparsed->upstreams.size() == copy.upstreams.size() &&
             reparsed->tls.certificate_chain == copy.tls.certificate_chain);
  return 0;
}
