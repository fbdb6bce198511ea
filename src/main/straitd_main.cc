// straitd: the control plane (see docs/control-plane.md and ARCHITECTURE.md): the config store and
// its REST API on the main thread; certificate signing and the discovery streams on gRPC's threads.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "ca/certificate_authority.h"
#include "common/duration.h"
#include "common/random.h"
#include "control/admin_token.h"
#include "control/api_server.h"
#include "control/config_api.h"
#include "control/dashboard_api.h"
#include "control/mesh_hub.h"
#include "control/mesh_server.h"
#include "control/root_rotation.h"
#include "control/trace_store.h"
#include "proxy/bootstrap.h"
#include "store/join_tokens.h"
#include "store/resource_store.h"
#include "tls/spiffe_id.h"

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "straitd: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir;
  std::string http_addr = "127.0.0.1:15014";
  std::string grpc_addr = "127.0.0.1:15012";
  std::string registry_grace = "15s";
  std::string registry_warmup = "5s";
  std::string log_level = "info";
  std::string trust_domain = "cluster.local";
  std::string cert_ttl = "24h";
  std::string ca_cert;
  std::string ca_key;
  std::size_t trace_capacity = 2000;
  std::string otel_endpoint;
  std::string zipkin_endpoint;
  std::string dashboard_dir;
  CLI::App app{"straitd: the strait control plane (see docs/control-plane.md)"};
  app.set_version_flag("--version", std::string("straitd ") + STRAIT_VERSION);
  app.add_option("--data-dir", data_dir, "Directory for the store and the admin token")->required();
  app.add_option("--http-addr", http_addr, "REST API, /metrics and /healthz ADDR:PORT");
  app.add_option("--grpc-addr", grpc_addr, "gRPC for proxies (certificates, discovery) ADDR:PORT");
  app.add_option("--registry-grace", registry_grace,
                 "How long a proxy whose stream ended stays an endpoint (e.g. 15s)");
  app.add_option("--registry-warmup", registry_warmup,
                 "After a restart, how long proxies get to reconnect before the first push (e.g. 5s)");
  app.add_option("--trust-domain", trust_domain, "Trust domain of the mesh's SPIFFE identities");
  app.add_option("--cert-ttl", cert_ttl, "Lifetime of workload certificates (e.g. 24h)");
  auto* ca_cert_option = app.add_option("--ca-cert", ca_cert, "Plugged-in CA: certificate chain up to the root (PEM)");
  auto* ca_key_option = app.add_option("--ca-key", ca_key, "Plugged-in CA: its private key (PEM)");
  ca_cert_option->needs(ca_key_option);
  ca_key_option->needs(ca_cert_option);
  app.add_option("--trace-capacity", trace_capacity,
                 "Traces the built-in collector keeps in memory, the most recent (default 2000)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  app.add_option(
      "--otel-endpoint", otel_endpoint,
      "Tracing provider \"otel\": an OTLP/HTTP JSON receiver, http://HOST:PORT/v1/traces");
  app.add_option(
      "--zipkin-endpoint", zipkin_endpoint,
      "Tracing provider \"zipkin\": a Zipkin v2 receiver, http://HOST:PORT/api/v2/spans");
  app.add_option(
      "--dashboard-dir", dashboard_dir,
      "The dashboard's built files, served at / (default: dashboard/ beside bin/, as built)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  CLI11_PARSE(app, argc, argv);
  for (const auto& [flag, url] :
       {std::pair{"--otel-endpoint", &otel_endpoint}, {"--zipkin-endpoint", &zipkin_endpoint}}) {
    if (!url->empty() && !url->starts_with("http://"))
      return fail(std::string(flag) + " " + *url +
                  ": give an http:// URL (https is not supported yet)");
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ straitd %v", spdlog::pattern_time_type::utc);

  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return fail("--data-dir " + data_dir + ": " + ec.message());
  ::chmod(data_dir.c_str(), 0700);
  auto address = strait::proxy::parse_host_port(http_addr);
  if (!address) return fail("--http-addr: " + address.error());
  auto grpc_address = strait::proxy::parse_host_port(grpc_addr);
  if (!grpc_address) return fail("--grpc-addr: " + grpc_address.error());
  auto grace = strait::parse_duration(registry_grace);
  if (!grace) return fail("--registry-grace: " + grace.error());
  auto warmup = strait::parse_duration(registry_warmup);
  if (!warmup) return fail("--registry-warmup: " + warmup.error());
  // A restart (the store exists) waits for the proxies to re-register before pushing, so that no
  // proxy is sent a mesh whose other workloads have not reconnected yet.
  const bool restarted = std::filesystem::exists(std::filesystem::path(data_dir) / "store.db");

  if (!strait::tls::parse_spiffe_id("spiffe://" + trust_domain + "/ns/a/sa/b"))
    return fail("--trust-domain '" + trust_domain + "' is not a valid trust domain (lower-case DNS name)");
  auto ttl = strait::parse_duration(cert_ttl);
  if (!ttl || ttl->count() < 60'000) return fail("--cert-ttl must be a duration of at least 1m, such as 24h");
  std::optional<strait::ca::CaFiles> plugged;
  if (!ca_cert.empty()) plugged = strait::ca::CaFiles{ca_cert, ca_key};
  auto ca = strait::ca::CertificateAuthority::load_or_create(data_dir, trust_domain, plugged);
  if (!ca) return fail("certificate authority: " + ca.error());

  auto store = strait::store::ResourceStore::open((std::filesystem::path(data_dir) / "store.db").string());
  if (!store) return fail(store.error());
  auto token = strait::control::load_or_create_token((std::filesystem::path(data_dir) / "admin.token").string());
  if (!token) return fail(token.error());

  asio::io_context io(1);
  auto join_tokens = strait::store::JoinTokenStore::open((std::filesystem::path(data_dir) / "store.db").string());
  if (!join_tokens) return fail(join_tokens.error());
  // The trace collector: spans in memory, bounded; the other limits grow with the capacity (at
  // the default 2000 traces: 50000 spans, 64 MiB).
  strait::control::TraceStoreLimits trace_limits;
  trace_limits.max_traces = trace_capacity;
  trace_limits.max_spans = 25 * trace_capacity;
  trace_limits.max_bytes = 32 * 1024 * trace_capacity;
  strait::control::TraceStore trace_store(trace_limits);
  // The collector token lets proxies send spans and nothing else. It lives in memory only: each
  // start makes a new one, which the mesh push is to carry to the proxies.
  auto collector_random = strait::random_hex(32);
  if (!collector_random)
    return fail("cannot generate the collector token: " + collector_random.error());
  std::string collector_token = std::move(*collector_random);
  strait::control::ConfigApi api(**store, *token, join_tokens->get());
  api.set_collector(&trace_store, collector_token);
  strait::control::MeshHubOptions hub_options;
  hub_options.grace = *grace;
  hub_options.warmup = restarted ? *warmup : std::chrono::milliseconds(0);
  // Every proxy's request series, reported on its discovery stream: the live traffic view.
  strait::control::TrafficStore traffic;
  strait::control::MeshHub hub(io, (*ca)->trust_bundle(), trust_domain, hub_options,
                               (*ca)->signer_key_id());
  api.set_mesh(&hub);
  hub.set_traffic(&traffic);
  api.set_traffic(&traffic);
  // The dashboard's files, read once (a missing build leaves the API working and / saying why).
  if (auto loaded = api.dashboard().load(dashboard_dir); !loaded)
    spdlog::warn("no dashboard: {}", loaded.error());
  // The REST API binds first: a failure there exits before any proxy can reach the gRPC port.
  strait::control::ApiServer server(io, api);
  auto bound = server.listen(*address);
  if (!bound) return fail(bound.error());
  // Every view tells proxies where their tracing providers are (docs/observability.md).
  strait::mesh::v1::TelemetryEndpoints telemetry;
  telemetry.set_collector_url("http://" + bound->to_string() + "/v1/traces");
  telemetry.set_collector_token(collector_token);
  telemetry.set_otel_url(otel_endpoint);
  telemetry.set_zipkin_url(zipkin_endpoint);
  hub.set_telemetry(std::move(telemetry));
  strait::control::MeshServer mesh(io, hub, **ca, **join_tokens,
                                   std::chrono::duration_cast<std::chrono::seconds>(*ttl),
                                   data_dir);
  auto mesh_bound = mesh.start(*grpc_address);
  if (!mesh_bound) return fail("--grpc-addr: " + mesh_bound.error());
  strait::control::RootRotation rotation(io, **ca, hub, mesh, hub_options.warmup + *grace);
  api.set_rotation(&rotation);
  rotation.resume();
  if (!asio::ip::make_address(bound->host).is_loopback()) {
    spdlog::warn(
        "the API listens on non-loopback {} over plain HTTP; every /api/ call still needs "
        "the admin token or (GET only) a dashboard session",
        bound->host);
  }
  std::thread stopper;
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](std::error_code error, int signal) {
    if (error) return;
    spdlog::info("received signal {}: stopping", signal);
    server.close();
    // gRPC's shutdown waits for calls that finish on this thread: run it beside the loop.
    stopper = std::thread([&] {
      mesh.shutdown();
      asio::post(io, [&] { io.stop(); });
    });
  });
  spdlog::info("straitd {} up: API on http://{}, gRPC on {}, data in {} (store revision {}), trust domain {}, {} CA",
               STRAIT_VERSION, bound->to_string(), mesh_bound->to_string(), data_dir, (*store)->revision(), trust_domain,
               plugged ? "plugged-in" : "self-signed root");
  if (api.dashboard().files() > 0)
    spdlog::info("dashboard at http://{}/ ({} files from {}); sign in with `straitctl dashboard`",
                 bound->to_string(), api.dashboard().files(), api.dashboard().dir());
  spdlog::info(
      "trace collector: OTLP/HTTP JSON on http://{}/v1/traces, Zipkin v2 on "
      "http://{}/api/v2/spans, "
      "keeping the {} most recent traces",
      bound->to_string(), bound->to_string(), trace_capacity);
  io.run();
  if (stopper.joinable()) stopper.join();
  spdlog::info("stopped");
  spdlog::shutdown();
  return 0;
}
