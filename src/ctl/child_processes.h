// The processes `straitctl demo` starts and must stop: each in a process group of its own (so that
// Ctrl-C reaches straitctl alone, which then stops them in order), with its output in a log file,
// and killed by the kernel if straitctl itself dies (PR_SET_PDEATHSIG), so that nothing outlives
// the demo.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace strait::ctl {

class ChildProcesses {
 public:
  ChildProcesses() = default;
  ChildProcesses(const ChildProcesses&) = delete;
  ChildProcesses& operator=(const ChildProcesses&) = delete;
  ~ChildProcesses() { stop_all(std::chrono::seconds(5)); }

  // Starts argv[0] (a path) with its arguments; stdout and stderr go to `log` (truncated).
  [[nodiscard]] std::expected<pid_t, std::string> start(const std::string& name,
                                                        const std::vector<std::string>& argv,
                                                        const std::filesystem::path& log);

  // A child that has exited since the last call, as "NAME exited with status N" / "NAME was
  // killed by signal N"; it is no longer tracked.
  [[nodiscard]] std::optional<std::string> reap_exited();

  // SIGTERM to every child (the last started first), up to `grace` for all of them to exit, then
  // SIGKILL to whatever is left; every child is reaped.
  void stop_all(std::chrono::milliseconds grace);

  [[nodiscard]] std::size_t size() const { return children_.size(); }

 private:
  struct Child {
    std::string name;
    pid_t pid;
  };
  std::vector<Child> children_;
};

}  // namespace strait::ctl
