// straitctl: the command-line client of straitd's REST API. Flags as in product.md; the verbs live
// in src/ctl. Exit status: 0 success, 1 failure (one line on stderr), 2 usage errors.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "ctl/commands.h"
#include "ctl/demo.h"

int main(int argc, char** argv) {
  using namespace strait::ctl;
  GlobalOptions global;
  CLI::App app{"straitctl: control strait through straitd's API"};
  app.set_version_flag("--version", std::string("straitctl ") + STRAIT_VERSION);
  app.add_option("--server", global.server,
                 "straitd's API URL (default $STRAIT_SERVER, else http://127.0.0.1:15014)");
  app.add_option("--token-file", global.token_file,
                 "File holding the credential (default $STRAIT_TOKEN)");
  app.require_subcommand(1);
  app.fallthrough();  // global options are accepted after the verb too

  std::vector<std::string> apply_files;
  std::string apply_ns = "default";
  auto* apply = app.add_subcommand("apply", "Create or update resources from YAML");
  apply->add_option("-f,--filename", apply_files, "File, directory (*.yaml, *.yml) or - for stdin")
      ->required();
  apply->add_option("-n,--namespace", apply_ns, "Namespace for resources that name none")
      ->capture_default_str();

  std::string get_kind;
  std::string get_name;
  std::string get_ns = "default";
  bool get_all = false;
  std::string get_output;
  auto* get = app.add_subcommand("get", "Show resources");
  get->add_option("KIND", get_kind, "Kind: virtualservices (vs), destinationrules (dr), ...")
      ->required();
  get->add_option("NAME", get_name, "One resource's name");
  get->add_option("-n,--namespace", get_ns, "Namespace")->capture_default_str();
  get->add_flag("-A,--all-namespaces", get_all, "List across all namespaces");
  get->add_option("-o,--output", get_output, "Output format: json, yaml or wide");

  std::string delete_kind;
  std::string delete_name;
  std::string delete_ns = "default";
  std::vector<std::string> delete_files;
  auto* del = app.add_subcommand("delete", "Delete resources by kind and name, or those in files");
  del->add_option("KIND", delete_kind, "Kind");
  del->add_option("NAME", delete_name, "Name");
  del->add_option("-f,--filename", delete_files, "File, directory (*.yaml, *.yml) or - for stdin");
  del->add_option("-n,--namespace", delete_ns, "Namespace")->capture_default_str();

  auto* version = app.add_subcommand("version", "Print the client's and straitd's versions");

  std::string status_output;
  auto* proxy_status = app.add_subcommand("proxy-status", "Every proxy's config sync status and certificate");
  proxy_status->add_option("-o,--output", status_output, "Output format: json, yaml or wide");

  std::string config_proxy;
  std::string config_output;
  auto* proxy_config = app.add_subcommand("proxy-config", "The config a proxy holds (as it acknowledged it)");
  proxy_config->add_option("PROXY", config_proxy, "Proxy id <workload>.<namespace> (see proxy-status)")->required();
  proxy_config->add_option("-o,--output", config_output, "Output format: json or yaml");

  std::string traces_id;
  std::string traces_service;
  int traces_limit = 0;
  std::string traces_min_duration;
  std::string traces_output;
  auto* traces = app.add_subcommand(
      "traces", "Recent traces from straitd's collector, or one trace as a waterfall");
  traces->add_option("TRACE_ID", traces_id, "One trace (32 hex digits): its spans as a waterfall");
  traces->add_option("--service", traces_service, "Only traces with a span of this service");
  traces->add_option("--limit", traces_limit, "At most this many traces (default 20)")
      ->check(CLI::Range(1, 1000));
  traces->add_option("--min-duration", traces_min_duration,
                     "Only traces that lasted at least this long (e.g. 100ms)");
  traces->add_option("-o,--output", traces_output, "Output format: json or yaml");

  std::string describe_what;
  std::string describe_name;
  std::string describe_ns = "default";
  std::string describe_output;
  auto* describe = app.add_subcommand("describe",
                                      "Describe a service (endpoints, routes, subsets, policies) "
                                      "or a workload (mTLS per port, policies)");
  describe
      ->add_option("WHAT", describe_what,
                   "service (svc) or workload (wl) followed by its name; or a service name")
      ->required();
  describe->add_option("NAME", describe_name, "Service or workload name");
  describe->add_option("-n,--namespace", describe_ns, "Namespace")->capture_default_str();
  describe->add_option("-o,--output", describe_output, "Output format: json or yaml");

  std::string token_ns;
  std::string token_sa;
  std::string token_ttl = "1h";
  std::string token_id;
  std::string check_from;
  std::string check_to;
  std::string check_ns = "default";
  std::string check_output;
  int check_port = 0;
  auto* check = app.add_subcommand("check", "Answer questions about the mesh's behaviour");
  check->require_subcommand(1);
  auto* check_mtls = check->add_subcommand(
      "mtls", "Would a call from FROM to TO be mTLS, plaintext or refused, and why");
  check_mtls
      ->add_option("FROM", check_from, "The caller: NAME, NAME.NAMESPACE, or external (no sidecar)")
      ->required();
  check_mtls->add_option("TO", check_to, "The callee workload: NAME or NAME.NAMESPACE")->required();
  check_mtls->add_option("-n,--namespace", check_ns, "Namespace of names given without one")
      ->capture_default_str();
  check_mtls->add_option("--port", check_port, "Only this service port")
      ->check(CLI::Range(1, 65535));
  check_mtls->add_option("-o,--output", check_output, "Output format: json or yaml");

  auto* ca = app.add_subcommand("ca", "The mesh's certificate authority: status and root rotation");
  ca->require_subcommand(1);
  std::string ca_output;
  bool ca_wait = false;
  int ca_timeout = 300;
  auto* ca_status =
      ca->add_subcommand("status", "The trusted roots, the signer, a rotation's progress");
  ca_status->add_option("-o,--output", ca_output, "Output format: json or yaml");
  auto* ca_rotate = ca->add_subcommand("rotate",
                                       "Rotate the root CA without downtime: trust a new root, "
                                       "reissue every certificate, drop the old root");
  ca_rotate->add_flag("--wait", ca_wait, "Follow the rotation until it is done");
  ca_rotate
      ->add_option("--timeout", ca_timeout, "With --wait: give up waiting after this many seconds")
      ->capture_default_str();

  auto* token = app.add_subcommand("token", "Join tokens for new workloads");
  token->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "Create a join token (printed once)");
  token_create->add_option("--namespace", token_ns, "The workload's namespace")->required();
  token_create->add_option("--service-account", token_sa, "The workload's service account")->required();
  token_create->add_option("--ttl", token_ttl, "How long the token may be used (1m to 8760h)")
      ->capture_default_str();
  auto* token_list = token->add_subcommand("list", "List join tokens (without their secrets)");
  auto* token_revoke = token->add_subcommand("revoke", "Revoke a join token");
  token_revoke->add_option("ID", token_id, "The token's id (the part after strait-join.)")->required();

  std::string top_ns, top_window = "1m", top_output;
  bool top_once = false;
  auto* top =
      app.add_subcommand("top", "Live rate, success and latency of every service, from straitd");
  top->add_option("-n,--namespace", top_ns, "Only this namespace's services and edges");
  top->add_option("--window", top_window, "Over the last ... (10s to 15m)")->capture_default_str();
  top->add_flag("--once", top_once, "Print once and exit (for scripts)");
  top->add_option("-o,--output", top_output, "Print straitd's answer once as json or yaml");

  std::string tap_workload, tap_ns = "default", tap_duration, tap_output;
  int tap_count = 0;
  auto* tap =
      app.add_subcommand("tap", "Live stream of the requests through one workload's sidecar");
  tap->add_option("WORKLOAD", tap_workload, "NAME (in -n), NAME.NAMESPACE or NAMESPACE/NAME")
      ->required();
  tap->add_option("-n,--namespace", tap_ns, "The workload's namespace")->capture_default_str();
  tap->add_option("--duration", tap_duration,
                  "Stop after this long (e.g. 30s; default: at Ctrl-C)");
  tap->add_option("--count", tap_count, "Stop after this many requests")
      ->check(CLI::Range(1, 1000000));
  tap->add_option("-o,--output", tap_output, "json: one JSON object a request, a line each");

  bool dashboard_open = false;
  auto* dashboard = app.add_subcommand(
      "dashboard", "Print a one-time URL that signs a browser in to straitd's web dashboard");
  dashboard->add_flag("--open", dashboard_open, "Also open it with xdg-open");

  DemoOptions demo_options;
  auto* demo = app.add_subcommand(
      "demo", "Start a live local mesh: straitd, sample services with sidecars, traffic");
  demo->add_option("--api-port", demo_options.api_port,
                   "straitd's API port on 127.0.0.1 (0: a free one)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  demo->add_option("--grpc-port", demo_options.grpc_port,
                   "straitd's gRPC port on 127.0.0.1 (0: a free one)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  demo->add_option(
      "--dir", demo_options.dir,
      "Keep the data, tokens and logs here (default: a temporary directory, removed at the stop)");
  demo->add_option("--duration", demo_options.duration,
                   "Stop after this long (e.g. 10m; default: at Ctrl-C)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, the version, or the usage error
    return code == 0 ? 0 : 2;
  }

  if (apply->parsed()) return run_apply(global, apply_files, apply_ns);
  if (get->parsed()) return run_get(global, get_kind, get_name, get_ns, get_all, get_output);
  if (del->parsed()) return run_delete(global, delete_kind, delete_name, delete_files, delete_ns);
  if (version->parsed()) return run_version(global);
  if (proxy_status->parsed()) return run_proxy_status(global, status_output);
  if (proxy_config->parsed()) return run_proxy_config(global, config_proxy, config_output);
  if (traces->parsed())
    return run_traces(global, traces_id, traces_service, traces_limit, traces_min_duration,
                      traces_output);
  if (describe->parsed()) {
    if (describe_name.empty()) return run_describe_service(global, describe_what, describe_ns, describe_output);
    if (describe_what == "workload" || describe_what == "wl" || describe_what == "workloads")
      return run_describe_workload(global, describe_name, describe_ns, describe_output);
    if (describe_what != "service" && describe_what != "svc" && describe_what != "services") {
      std::fprintf(stderr,
                   "straitctl: describe supports services and workloads: straitctl describe "
                   "service|workload "
                   "NAME [-n NS]\n");
      return 1;
    }
    return run_describe_service(global, describe_name, describe_ns, describe_output);
  }
  if (ca_status->parsed()) return run_ca_status(global, ca_output);
  if (ca_rotate->parsed()) return run_ca_rotate(global, ca_wait, ca_timeout);
  if (check_mtls->parsed())
    return run_check_mtls(global, check_from, check_to, check_ns, check_port, check_output);
  if (token_create->parsed()) return run_token_create(global, token_ns, token_sa, token_ttl);
  if (token_list->parsed()) return run_token_list(global);
  if (token_revoke->parsed()) return run_token_revoke(global, token_id);
  if (demo->parsed()) return run_demo(demo_options);
  if (top->parsed()) return run_top(global, top_ns, top_window, top_once, top_output);
  if (tap->parsed())
    return run_tap(global, tap_workload, tap_ns, tap_duration, tap_count, tap_output);
  if (dashboard->parsed()) return run_dashboard(global, dashboard_open);
  return 2;
}
