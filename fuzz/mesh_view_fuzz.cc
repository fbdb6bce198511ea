// libFuzzer target for the views straitd pushes: the input is a DiscoveryResponse (protobuf wire
// bytes, as the proxy receives them) turned into the proxy's config. Any input must give a config
// or an error, never a crash; a config it gives must hold what the snapshot builder relies on.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "agent/mesh_view.h"
#include "fuzz_check.h"

namespace {

strait::proxy::ProxyConfig base_config() {
  strait::proxy::ProxyConfig base;
  base.workload.name = "web";
  base.workload.ns = "shop";
  base.workload.service_account = "web";
  base.control_plane = true;
  return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const strait::proxy::ProxyConfig base = base_config();
  strait::mesh::v1::DiscoveryResponse view;
  if (!view.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto applied = strait::agent::config_from_view(base, view);
  if (!applied) {
    FUZZ_CHECK(!applied.error().empty());
    return 0;
  }
  std::set<std::string> hosts;
  for (const auto& service : applied->config.services) {
    FUZZ_CHECK(!service.fqdn.empty());
    FUZZ_CHECK(hosts.insert(service.fqdn).second);
    for (const auto& endpoint : service.endpoints) FUZZ_CHECK(!endpoint.address.host.empty());
    for (const auto& route : service.http_routes) {
      for (const auto& match : route.matches) {
        if (match.uri.kind == strait::proxy::StringMatcher::Kind::kRegex) FUZZ_CHECK(match.uri.regex != nullptr);
      }
    }
  }
  // The rate limiter's arithmetic relies on these (rate_limiter.cc).
  for (const auto& limit : applied->config.rate_limits) {
    FUZZ_CHECK(limit.max_tokens >= 1);
    FUZZ_CHECK(limit.tokens_per_fill >= 1);
    FUZZ_CHECK(limit.fill_interval >= std::chrono::milliseconds(1));
    for (const auto& match : limit.matches) {
      if (match.uri.kind == strait::proxy::StringMatcher::Kind::kRegex)
        FUZZ_CHECK(match.uri.regex != nullptr);
    }
  }
  FUZZ_CHECK(applied->config.workload.name == "web");
  return 0;
}
