// straitctl's live verbs, which follow the mesh as it runs: top (the traffic view), tap (the
// requests through one proxy) and dashboard (a browser's way in).
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <thread>

#include "common/duration.h"
#include "ctl/command_support.h"
#include "ctl/output.h"
#include "ctl/tap_view.h"
#include "ctl/traffic_view.h"

extern char** environ;

namespace strait::ctl {

int run_top(const GlobalOptions& global, const std::string& ns, const std::string& window,
            bool once, const std::string& output) {
  std::string target = "/api/v1/traffic?window=" + url_encode(window);
  if (!ns.empty()) target += "&namespace=" + url_encode(ns);
  const bool color = stdout_wants_color();
  if (once || !output.empty()) {
    auto answer = get_or_print(global, output, target);
    if (!answer) return answer.error();
    print(render_traffic(*answer, color));
    return 0;
  }
  auto api = connect(global);
  if (!api) return fail(api.error());
  const bool terminal = ::isatty(STDOUT_FILENO) == 1;
  while (true) {  // until Ctrl-C
    auto answer = api->call("GET", target);
    if (!answer) return fail(answer.error());
    const std::time_t now = std::time(nullptr);
    char clock[16];
    std::strftime(clock, sizeof clock, "%H:%M:%S", std::localtime(&now));
    std::string screen = terminal ? "\x1b[H\x1b[2J" : "";
    screen += fmt::format("straitctl top: the last {}, {} (every 2 s; Ctrl-C to stop)\n\n", window,
                          clock);
    screen += render_traffic(*answer, color);
    print(screen);
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
}

int run_tap(const GlobalOptions& global, const std::string& workload, const std::string& ns,
            const std::string& duration, int count, const std::string& output) {
  if (!output.empty() && output != "json")
    return fail("-o " + output + ": tap prints json (one event a line) or text");
  std::chrono::milliseconds limit{0};
  if (!duration.empty()) {
    auto parsed = parse_duration(duration);
    if (!parsed) return fail("--duration " + duration + ": " + parsed.error());
    limit = *parsed;
  }
  const std::string path = workload_path(workload, ns);
  const auto slash = path.find('/');
  const std::string proxy = path.substr(slash + 1) + "." + path.substr(0, slash);
  auto api = connect(global);
  if (!api) return fail(api.error());
  const bool json_lines = output == "json";
  const bool color = !json_lines && stdout_wants_color();
  const auto started = std::chrono::steady_clock::now();
  const std::string tap = "/api/v1/proxies/" + url_encode(proxy) + "/tap?seconds=30";
  // The first call starts the tap and names no event: straitd answers where its newest is, so
  // that only requests from then on show.
  auto answer = api->call("GET", tap);
  if (!answer) return fail(answer.error());
  std::uint64_t after = answer->value("next", std::uint64_t{0});
  std::uint64_t dropped_seen = answer->value("dropped", std::uint64_t{0});
  if (!json_lines) {
    std::fprintf(stderr, "Tapping %s: every request through its sidecar (Ctrl-C to stop)\n",
                 proxy.c_str());
    print(tap_header(color));
  }
  int shown = 0;
  while (limit.count() == 0 || std::chrono::steady_clock::now() - started < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    answer = api->call("GET", tap + "&after=" + std::to_string(after));
    if (!answer) return fail(answer.error());
    std::string out;
    if (const auto missed = answer->value("missed", std::uint64_t{0}); missed > 0 && !json_lines)
      out += fmt::format("... {} requests not shown (straitd keeps the most recent)\n", missed);
    const auto dropped = answer->value("dropped", std::uint64_t{0});
    if (dropped > dropped_seen && !json_lines)
      out += fmt::format("... {} requests not reported by the proxy (its tap queue was full)\n",
                         dropped - dropped_seen);
    dropped_seen = std::max(dropped_seen, dropped);
    for (const auto& event : (*answer)["events"]) {
      out += json_lines ? event.dump() + "\n" : render_tap_event(event, color);
      if (count > 0 && ++shown >= count) break;
    }
    print(out);
    if (count > 0 && shown >= count) break;
    after = answer->value("next", after);
  }
  return 0;
}

int run_dashboard(const GlobalOptions& global, bool open_browser) {
  auto api = connect(global);
  if (!api) return fail(api.error());
  auto link = dashboard_sign_in_link(*api);
  if (!link) return fail(link.error());
  const std::string& url = link->url;
  print(url + "\n");
  std::fprintf(
      stderr, "Open it in a browser: it signs you in to the dashboard once, within %lld minutes.\n",
      link->minutes);
  if (!open_browser) return 0;
  pid_t pid = 0;
  std::string program = "xdg-open";
  char* argv[] = {program.data(), const_cast<char*>(url.c_str()), nullptr};
  if (::posix_spawnp(&pid, "xdg-open", nullptr, nullptr, argv, environ) != 0)
    return fail("--open: cannot run xdg-open; open the URL above yourself");
  int status = 0;
  ::waitpid(pid, &status, 0);
  return 0;
}

}  // namespace strait::ctl
