// Static configuration: `strait-proxy --bootstrap FILE` reads everything the proxy needs from one
// YAML file (format in docs/proxy.md). Every error names the file, the field path and the reason.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "proxy/config.h"

namespace strait::proxy {

// Parses bootstrap YAML text. Relative certificate paths are resolved against `base_dir`.
[[nodiscard]] std::expected<ProxyConfig, std::string> parse_bootstrap(std::string_view yaml,
                                                                      const std::string& base_dir);

[[nodiscard]] std::expected<ProxyConfig, std::string> load_bootstrap_file(const std::string& path);

// Flag value parsers shared by the bootstrap file and the command line.
[[nodiscard]] std::expected<HostPort, std::string> parse_host_port(std::string_view text);
[[nodiscard]] std::expected<Protocol, std::string> parse_protocol(std::string_view text);
// "reviews:9080[:http[:19080]]" (the --service flag): the last field is the application's port for
// this service port (default: --app-port).
[[nodiscard]] std::expected<InboundService, std::string> parse_service_flag(std::string_view text);
// "127.0.0.1:17001=ratings:9080" (the --upstream flag).
[[nodiscard]] std::expected<UpstreamBinding, std::string> parse_upstream_flag(std::string_view text);
// "k=v,k=v" (the --labels flag).
[[nodiscard]] std::expected<std::map<std::string, std::string>, std::string> parse_labels(
    std::string_view text);

// Fills what the rest of the proxy relies on (service FQDNs, allowed identities, defaults) and
// checks the whole config for consistency.
[[nodiscard]] std::expected<void, std::string> finalize_config(ProxyConfig& config);

}  // namespace strait::proxy
