// strait-proxy: the sidecar. Flags as in product.md; everything else lives in src/proxy.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdio>
#include <memory>

#include "agent/control_plane_client.h"
#include "common/duration.h"
#include "common/file.h"
#include "proxy/bootstrap.h"
#include "proxy/proxy_server.h"

namespace {

struct Flags {
  std::string bootstrap;
  std::string control_plane;
  std::string ca_bundle;
  std::string token_file;
  std::string ns;
  std::string service_account;
  std::string workload;
  std::string labels;
  std::vector<std::string> services;
  int app_port = 0;
  std::string inbound_addr;
  std::string outbound_addr;
  std::string admin_addr;
  std::vector<std::string> upstreams;
  int concurrency = 0;
  std::string drain_timeout;
  std::string access_log_file;
  std::string log_level = "info";
  std::string trust_domain;
  std::string advertise_addr;
};

int fail(const std::string& message) {
  std::fprintf(stderr, "strait-proxy: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace strait::proxy;
  Flags f;
  CLI::App app{"strait-proxy: the strait sidecar (see docs/proxy.md)"};
  app.set_version_flag("--version", std::string("strait-proxy ") + STRAIT_VERSION);
  app.add_option("--bootstrap", f.bootstrap, "Static configuration file (YAML); no control plane");
  app.add_option("--control-plane", f.control_plane, "straitd's gRPC address HOST:PORT");
  app.add_option("--ca-bundle", f.ca_bundle, "Trust bundle used to verify straitd");
  app.add_option("--token-file", f.token_file, "Join token file");
  app.add_option("--namespace", f.ns, "Workload namespace");
  app.add_option("--trust-domain", f.trust_domain, "The mesh's trust domain (default cluster.local)");
  app.add_option("--service-account", f.service_account, "Workload service account");
  app.add_option("--workload", f.workload, "Workload name");
  app.add_option("--labels", f.labels, "Workload labels k=v,k=v");
  app.add_option("--service", f.services,
                 "Served service NAME:PORT[:PROTOCOL[:APP_PORT]] (repeatable; APP_PORT defaults to "
                 "--app-port)");
  app.add_option("--app-port", f.app_port, "The application's port on 127.0.0.1")->check(CLI::Range(1, 65535));
  app.add_option("--inbound-addr", f.inbound_addr, "Inbound (mTLS) listener ADDR:PORT");
  app.add_option("--advertise-addr", f.advertise_addr,
                 "IP:PORT other sidecars dial to reach the inbound listener (default: --inbound-addr)");
  app.add_option("--outbound-addr", f.outbound_addr, "Outbound listener ADDR:PORT");
  app.add_option("--admin-addr", f.admin_addr, "Admin listener ADDR:PORT (keep it on 127.0.0.1)");
  app.add_option("--upstream", f.upstreams, "Local port bound to a service LOCAL_ADDR=SERVICE:PORT (repeatable)");
  app.add_option("--concurrency", f.concurrency, "Worker threads (default: one per core)")->check(CLI::Range(1, 256));
  app.add_option("--access-log-file", f.access_log_file,
                 "Where access log lines go when the Telemetry resources turn them on (default: "
                 "standard output)");
  app.add_option("--drain-timeout", f.drain_timeout, "How long SIGTERM lets requests finish (e.g. 5s)");
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  CLI11_PARSE(app, argc, argv);

  // Diagnostics on standard error: standard output is the access log's (as Envoy's).
  spdlog::set_default_logger(spdlog::stderr_color_mt("strait-proxy"));
  spdlog::set_level(spdlog::level::from_str(f.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ strait-proxy %v", spdlog::pattern_time_type::utc);

  const bool control_plane = !f.control_plane.empty();
  if (control_plane == !f.bootstrap.empty()) {
    return fail(control_plane ? "--bootstrap and --control-plane exclude each other: choose one"
                              : "--control-plane HOST:PORT (with --ca-bundle, --token-file, --namespace, "
                                "--service-account, --workload) or --bootstrap FILE is required (see docs/proxy.md)");
  }
  ProxyConfig base;
  std::string ca_bundle;
  std::string join_token;
  if (control_plane) {
    if (f.ca_bundle.empty()) return fail("--ca-bundle FILE is required with --control-plane (straitd's ca.crt)");
    if (f.token_file.empty()) return fail("--token-file FILE is required with --control-plane (straitctl token create)");
    if (f.ns.empty() || f.service_account.empty() || f.workload.empty())
      return fail("--namespace, --service-account and --workload are required with --control-plane");
    auto bundle = strait::read_file(f.ca_bundle);
    if (!bundle) return fail("--ca-bundle: " + bundle.error());
    ca_bundle = std::move(*bundle);
    auto token = strait::read_file(f.token_file);
    if (!token) return fail("--token-file: " + token.error());
    join_token = std::move(*token);
    while (!join_token.empty() && std::isspace(static_cast<unsigned char>(join_token.back()))) join_token.pop_back();
    if (join_token.empty()) return fail("--token-file " + f.token_file + " is empty");
    base.control_plane = true;
  }
  auto config = control_plane ? std::expected<ProxyConfig, std::string>(std::move(base)) : load_bootstrap_file(f.bootstrap);
  if (!config) return fail(config.error());

  // Flags override the bootstrap file.
  if (!f.ns.empty()) config->workload.ns = f.ns;
  if (!f.service_account.empty()) config->workload.service_account = f.service_account;
  if (!f.trust_domain.empty()) config->workload.trust_domain = f.trust_domain;
  if (!f.workload.empty()) config->workload.name = f.workload;
  if (!f.labels.empty()) {
    auto labels = parse_labels(f.labels);
    if (!labels) return fail("--labels: " + labels.error());
    config->workload.labels = *labels;
  }
  auto address_flag = [&](const std::string& text, HostPort& out, const char* name) -> bool {
    if (text.empty()) return true;
    auto parsed = parse_host_port(text);
    if (!parsed) {
      std::fprintf(stderr, "strait-proxy: %s: %s\n", name, parsed.error().c_str());
      return false;
    }
    out = *parsed;
    return true;
  };
  if (!address_flag(f.inbound_addr, config->inbound_addr, "--inbound-addr") ||
      !address_flag(f.outbound_addr, config->outbound_addr, "--outbound-addr") ||
      !address_flag(f.admin_addr, config->admin_addr, "--admin-addr"))
    return 2;
  for (const auto& text : f.services) {
    auto service = parse_service_flag(text);
    if (!service) return fail(service.error());
    config->inbound_services.push_back(*service);
  }
  if (f.app_port != 0) {
    for (auto& s : config->inbound_services) {
      if (s.target_port == 0) s.target_port = static_cast<std::uint16_t>(f.app_port);
    }
  }
  for (const auto& text : f.upstreams) {
    auto binding = parse_upstream_flag(text);
    if (!binding) return fail(binding.error());
    config->upstreams.push_back(*binding);
  }
  if (f.concurrency != 0) config->concurrency = f.concurrency;
  if (!f.access_log_file.empty()) config->access_log.path = f.access_log_file;
  if (!f.drain_timeout.empty()) {
    auto d = strait::parse_duration(f.drain_timeout);
    if (!d) return fail("--drain-timeout: " + d.error());
    config->limits.drain_timeout = *d;
  }
  if (auto ok = finalize_config(*config); !ok) return fail(ok.error());

  std::unique_ptr<strait::agent::ControlPlaneClient> agent;
  ProxyServer server(*config);
  if (control_plane) {
    if (!f.advertise_addr.empty()) {
      auto advertised = parse_host_port(f.advertise_addr);
      if (!advertised) return fail("--advertise-addr: " + advertised.error());
    }
    agent = std::make_unique<strait::agent::ControlPlaneClient>(
        strait::agent::ControlPlaneOptions{f.control_plane, ca_bundle, join_token, *config, f.advertise_addr});
    auto credentials = agent->first_certificate(std::chrono::seconds(60));
    if (!credentials) return fail(credentials.error());
    server.set_initial_credentials(std::move(*credentials));
  }
  if (auto started = server.start(); !started) return fail(started.error());
  if (agent) {
    agent->start(server);
    server.on_drain([&agent] { agent->request_stop(); });
  }
  const int code = server.run();
  agent.reset();
  spdlog::info("exiting with status {}", code);
  spdlog::shutdown();
  return code;
}
