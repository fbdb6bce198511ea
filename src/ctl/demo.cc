#include "ctl/demo.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "common/duration.h"
#include "ctl/api_client.h"
#include "ctl/child_processes.h"
#include "ctl/demo_topology.h"
#include "net/http_client.h"

namespace strait::ctl {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t stop_requested = 0;

void on_stop_signal(int) {
  stop_requested = 1;
}

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

int fail(const std::string& message) {
  std::fprintf(stderr, "straitctl demo: %s\n", message.c_str());
  return 1;
}

// 0 when nothing can be bound (then the child's own bind fails and says so).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

bool port_is_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return free;
}

std::string address(int port) {
  return "127.0.0.1:" + std::to_string(port);
}

std::string last_lines(const fs::path& log, std::size_t count) {
  std::ifstream in(log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string out;
  for (std::size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i)
    out += "    " + lines[i] + "\n";
  return out;
}

struct Running {
  const DemoWorkload* workload;
  int admin = 0, inbound = 0, outbound = 0, http = 0, grpc = 0;
  pid_t sidecar_pid = 0, app_pid = 0;
  std::vector<std::string> calls;  // the app's --call values (gRPC ones through a local binding)
};

class Demo {
 public:
  Demo(const DemoOptions& options, fs::path bin, fs::path dir)
      : options_(options), bin_(std::move(bin)), dir_(std::move(dir)) {}

  int run(std::chrono::milliseconds duration);
  // Stops every process started (SIGTERM, then SIGKILL after 5 s); how many there were.
  std::size_t stop() {
    const std::size_t count = children_.size();
    children_.stop_all(std::chrono::seconds(5));
    return count;
  }

 private:
  std::expected<void, std::string> start_straitd();
  std::expected<void, std::string> wait_http(const std::string& what, int port,
                                             const std::string& path, std::chrono::seconds timeout);
  std::expected<void, std::string> start_workload(Running& r);
  std::expected<void, std::string> start_app(Running& r);
  void write_state() const;
  void print_banner() const;
  // A one-time sign-in URL for the dashboard ("" when straitd could not make one).
  std::string dashboard_login_url() const;

  const DemoOptions& options_;
  fs::path bin_, dir_;
  int api_port_ = 0, grpc_port_ = 0;
  std::optional<ApiClient> api_;
  ChildProcesses children_;
  std::vector<Running> running_;
  pid_t straitd_pid_ = 0;
  std::string dashboard_url_;  // the banner's sign-in URL
};

std::expected<void, std::string> Demo::wait_http(const std::string& what, int port,
                                                 const std::string& path,
                                                 std::chrono::seconds timeout) {
  const net::Url url{.text = "http://" + address(port),
                     .host = "127.0.0.1",
                     .port = static_cast<std::uint16_t>(port),
                     .prefix = ""};
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (stop_requested) return std::unexpected("interrupted");
    if (auto exited = children_.reap_exited()) return std::unexpected(*exited);
    auto answer =
        net::send_request(url, {.method = "GET", .target = path}, std::chrono::seconds(1));
    if (answer && answer->status == 200) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return std::unexpected(what + " did not answer " + path + " with 200 within " +
                         std::to_string(timeout.count()) + "s");
}

std::expected<void, std::string> Demo::start_straitd() {
  api_port_ = options_.api_port == 0 ? free_port() : options_.api_port;
  grpc_port_ = options_.grpc_port == 0 ? free_port() : options_.grpc_port;
  for (const int port : {api_port_, grpc_port_}) {
    if (!port_is_free(port))
      return std::unexpected(address(port) +
                             " is in use (another straitd or demo?); pass --api-port 0 " +
                             "--grpc-port 0 to take free ports");
  }
  say("straitd: API " + address(api_port_) + ", proxies' gRPC " + address(grpc_port_));
  const fs::path data = dir_ / "data";
  auto pid =
      children_.start("straitd",
                      {(bin_ / "straitd").string(), "--data-dir", data.string(), "--http-addr",
                       address(api_port_), "--grpc-addr", address(grpc_port_)},
                      dir_ / "logs" / "straitd.log");
  if (!pid) return std::unexpected(pid.error());
  straitd_pid_ = *pid;
  if (auto up = wait_http("straitd", api_port_, "/healthz", std::chrono::seconds(20)); !up)
    return std::unexpected(up.error() + "; its log:\n" +
                           last_lines(dir_ / "logs" / "straitd.log", 10));
  auto token = load_token_file((data / "admin.token").string());
  if (!token) return std::unexpected(token.error());
  api_.emplace(net::Url{.text = "http://" + address(api_port_),
                        .host = "127.0.0.1",
                        .port = static_cast<std::uint16_t>(api_port_),
                        .prefix = ""},
               std::move(*token));
  return {};
}

std::expected<void, std::string> Demo::start_workload(Running& r) {
  const DemoWorkload& w = *r.workload;
  const json token_request{
      {"namespace", kDemoNamespace}, {"serviceAccount", w.service_account}, {"ttl", "24h"}};
  auto answer = api_->call("POST", "/api/v1/tokens", token_request.dump(), "application/json");
  if (!answer) return std::unexpected("a join token for " + w.name + ": " + answer.error());
  const fs::path token_file = dir_ / "tokens" / (w.name + ".token");
  {
    std::ofstream out(token_file);
    out << answer->value("token", "") << "\n";
    if (!out) return std::unexpected(token_file.string() + ": cannot write the file");
  }
  fs::permissions(token_file, fs::perms::owner_read | fs::perms::owner_write);

  r.admin = free_port();
  r.inbound = free_port();
  r.outbound = free_port();
  const std::string app_label = w.app.empty() ? w.name : w.app;
  std::vector<std::string> args = {(bin_ / "strait-proxy").string(),
                                   "--control-plane",
                                   address(grpc_port_),
                                   "--ca-bundle",
                                   (dir_ / "data" / "ca.crt").string(),
                                   "--token-file",
                                   token_file.string(),
                                   "--namespace",
                                   std::string(kDemoNamespace),
                                   "--service-account",
                                   w.service_account,
                                   "--workload",
                                   w.name,
                                   "--labels",
                                   "app=" + app_label + ",version=" + w.version,
                                   "--admin-addr",
                                   address(r.admin),
                                   "--inbound-addr",
                                   address(r.inbound),
                                   "--outbound-addr",
                                   address(r.outbound),
                                   "--concurrency",
                                   "1",
                                   "--drain-timeout",
                                   "1s"};
  if (!w.app.empty()) {
    r.http = free_port();
    args.insert(args.end(), {"--service", w.app + ":" + std::to_string(kDemoHttpPort) +
                                              ":http:" + std::to_string(r.http)});
    if (w.serves_grpc) {
      r.grpc = free_port();
      args.insert(args.end(), {"--service", w.app + ":" + std::to_string(kDemoGrpcPort) +
                                                ":grpc:" + std::to_string(r.grpc)});
    }
  }
  // gRPC calls go to a local port the sidecar binds to the service; the app dials that port.
  r.calls.clear();
  for (const auto& call : w.calls) {
    if (call.starts_with("grpc://")) {
      const int local = free_port();
      args.insert(args.end(), {"--upstream", address(local) + "=" + call.substr(7)});
      r.calls.push_back("grpc://" + address(local));
    } else {
      r.calls.push_back(call);
    }
  }
  auto pid = children_.start(w.name + " sidecar", args, dir_ / "logs" / (w.name + ".sidecar.log"));
  if (!pid) return std::unexpected(pid.error());
  r.sidecar_pid = *pid;
  return {};
}

std::expected<void, std::string> Demo::start_app(Running& r) {
  const DemoWorkload& w = *r.workload;
  std::vector<std::string> args = {(bin_ / "strait-sample").string(),
                                   "--service",
                                   w.app.empty() ? w.name : w.app,
                                   "--version",
                                   w.version,
                                   "--instance",
                                   w.name,
                                   "--proxy",
                                   address(r.outbound)};
  if (r.http != 0) args.insert(args.end(), {"--http-port", std::to_string(r.http)});
  if (r.grpc != 0) args.insert(args.end(), {"--grpc-port", std::to_string(r.grpc)});
  for (const auto& call : r.calls) args.insert(args.end(), {"--call", call});
  if (w.latency_ms > 0) args.insert(args.end(), {"--latency-ms", std::to_string(w.latency_ms)});
  if (w.fail_percent > 0)
    args.insert(args.end(), {"--fail-percent", std::to_string(w.fail_percent)});
  if (w.generate_per_second > 0)
    args.insert(args.end(), {"--generate", std::to_string(w.generate_per_second)});
  auto pid = children_.start(w.name, args, dir_ / "logs" / (w.name + ".log"));
  if (!pid) return std::unexpected(pid.error());
  r.app_pid = *pid;
  return {};
}

void Demo::write_state() const {
  json workloads = json::array();
  for (const auto& r : running_) {
    workloads.push_back({{"name", r.workload->name},
                         {"app", r.workload->app},
                         {"version", r.workload->version},
                         {"admin", address(r.admin)},
                         {"inbound", address(r.inbound)},
                         {"outbound", address(r.outbound)},
                         {"sidecar_pid", r.sidecar_pid},
                         {"app_pid", r.app_pid}});
  }
  const json state{{"api", "http://" + address(api_port_)},
                   {"grpc", address(grpc_port_)},
                   {"token_file", (dir_ / "data" / "admin.token").string()},
                   {"straitd_pid", straitd_pid_},
                   {"dashboard_login_url", dashboard_url_},
                   {"straitctl_pid", ::getpid()},
                   {"namespace", kDemoNamespace},
                   {"workloads", workloads}};
  std::ofstream(dir_ / "demo.json") << state.dump(2) << "\n";
  std::ofstream(dir_ / "demo.env")
      << "export STRAIT_SERVER=http://" << address(api_port_)
      << "\nexport STRAIT_TOKEN_FILE=" << (dir_ / "data" / "admin.token").string() << "\n";
}

std::string Demo::dashboard_login_url() const {
  auto link = dashboard_sign_in_link(*api_);
  return link ? link->url : std::string();
}

void Demo::print_banner() const {
  int frontend_admin = 0;
  for (const auto& r : running_)
    if (r.workload->app == "frontend") frontend_admin = r.admin;
  const std::string env = (dir_ / "demo.env").string();
  std::string text =
      "\nThe strait demo is running: " + std::to_string(running_.size()) +
      " workloads in namespace demo, each beside its sidecar, mTLS STRICT between them.\n\n";
  text += "  loadgen -> frontend -> catalog   v1 80% / v2 20% (a canary split)\n";
  text +=
      "                      -> inventory inventory-2 fails half its calls: retried, then "
      "ejected\n";
  text += "                      -> reviews   over gRPC\n";
  text += "  scanner -> catalog               refused with 403: only frontend may call catalog\n\n";
  text += "  dashboard       " +
          (dashboard_url_.empty() ? "not available (see the logs)" : dashboard_url_) + "\n";
  text +=
      "                  (a sign-in link: it works once, within 10 minutes; `straitctl dashboard`\n"
      "                  prints a new one)\n";
  text += "  straitd API     http://" + address(api_port_) + "/\n";
  text += "  in your shell   source " + env + "\n\n";
  text += "Then try:\n";
  text += "  straitctl top -n demo\n";
  text += "  straitctl tap frontend-v1 -n demo\n";
  text += "  straitctl dashboard\n";
  text += "  straitctl proxy-status\n";
  text += "  straitctl describe service catalog -n demo\n";
  text += "  straitctl describe service inventory -n demo\n";
  text += "  straitctl traces --service frontend-v1.demo\n";
  text += "  curl -s http://" + address(frontend_admin) +
          "/stats/prometheus | grep 'istio_requests_total{reporter=\"source\"'\n\n";
  text += "Logs: " + (dir_ / "logs").string() + ". Ctrl-C stops everything.";
  say(text);
}

int Demo::run(std::chrono::milliseconds duration) {
  for (const char* sub : {"data", "logs", "tokens"}) {
    std::error_code ec;
    fs::create_directories(dir_ / sub, ec);
    if (ec) return fail((dir_ / sub).string() + ": " + ec.message());
  }
  if (auto up = start_straitd(); !up) return fail(up.error());

  const std::string config(demo_config_yaml());
  std::ofstream(dir_ / "demo.yaml") << config;
  auto applied = api_->call("POST", "/api/v1/apply?namespace=demo&source=demo.yaml", config,
                            "application/yaml");
  if (!applied) return fail("applying the demo's config: " + applied.error());
  say("config: applied " + std::to_string(applied->value("results", json::array()).size()) +
      " resources (" + (dir_ / "demo.yaml").string() + ")");

  // Servers first, then the traffic generators once everything they call is ready.
  for (const auto& w : demo_workloads()) running_.push_back({.workload = &w});
  for (const bool generators : {false, true}) {
    for (auto& r : running_) {
      if ((r.workload->generate_per_second > 0) != generators) continue;
      if (auto started = start_workload(r); !started) return fail(started.error());
      if (!generators) {
        if (auto started = start_app(r); !started) return fail(started.error());
      }
    }
    for (auto& r : running_) {
      if ((r.workload->generate_per_second > 0) != generators) continue;
      auto ready =
          wait_http(r.workload->name + "'s sidecar", r.admin, "/ready", std::chrono::seconds(30));
      if (!ready)
        return fail(ready.error() + "; its log:\n" +
                    last_lines(dir_ / "logs" / (r.workload->name + ".sidecar.log"), 10));
      if (generators) {
        if (auto started = start_app(r); !started) return fail(started.error());
      }
      say("  " + r.workload->name + ": ready (sidecar admin " + address(r.admin) + ")");
    }
  }
  dashboard_url_ = dashboard_login_url();
  write_state();
  print_banner();

  const auto deadline = duration.count() > 0 ? Clock::now() + duration : Clock::time_point::max();
  int status = 0;
  while (!stop_requested && Clock::now() < deadline) {
    if (auto exited = children_.reap_exited()) {
      status = fail(*exited + "; the demo stops");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return status;
}

}  // namespace

int run_demo(const DemoOptions& options) {
  std::chrono::milliseconds duration{0};
  if (!options.duration.empty()) {
    auto parsed = parse_duration(options.duration);
    if (!parsed) return fail("--duration: " + parsed.error());
    duration = *parsed;
  }
  std::error_code ec;
  const fs::path bin = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (const char* binary : {"straitd", "strait-proxy", "strait-sample"}) {
    if (ec || ::access((bin / binary).c_str(), X_OK) != 0)
      return fail((bin / binary).string() +
                  " is missing: the demo runs the binaries built beside " +
                  "straitctl (make build)");
  }
  fs::path dir = options.dir;
  const bool temporary = dir.empty();
  if (temporary) {
    char pattern[] = "/tmp/strait-demo-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return fail(std::string("mkdtemp: ") + std::strerror(errno));
    dir = pattern;
  }

  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGHUP, &action, nullptr);

  int status = 0;
  std::size_t started = 0;
  {
    Demo demo(options, bin, dir);
    status = demo.run(duration);
    say("\nstopping the demo ...");
    started = demo.stop();
  }
  if (temporary) fs::remove_all(dir, ec);
  say("stopped " + std::to_string(started) + " processes" + (temporary ? "; removed " : "; kept ") +
      dir.string());
  return status;
}

}  // namespace strait::ctl
