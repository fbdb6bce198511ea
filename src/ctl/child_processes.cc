#include "ctl/child_processes.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace strait::ctl {
namespace {

std::string exit_text(const std::string& name, int status) {
  if (WIFEXITED(status)) return name + " exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return name + " was killed by signal " + std::to_string(WTERMSIG(status));
  return name + " stopped";
}

}  // namespace

std::expected<pid_t, std::string> ChildProcesses::start(const std::string& name,
                                                        const std::vector<std::string>& argv,
                                                        const std::filesystem::path& log) {
  if (argv.empty()) return std::unexpected(name + ": nothing to run");
  // Everything the child needs is prepared before fork(): after it, only async-signal-safe calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) return std::unexpected(log.string() + ": " + std::strerror(errno));
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return std::unexpected(name + ": fork: " + std::strerror(errno));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // straitctl died before the line above
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(args[0], args.data());
    static constexpr char kExecFailed[] = "straitctl demo: exec failed\n";
    [[maybe_unused]] auto written = ::write(STDERR_FILENO, kExecFailed, sizeof kExecFailed - 1);
    ::_exit(127);
  }
  ::close(log_fd);
  children_.push_back({name, pid});
  return pid;
}

std::optional<std::string> ChildProcesses::reap_exited() {
  for (auto it = children_.begin(); it != children_.end(); ++it) {
    int status = 0;
    if (::waitpid(it->pid, &status, WNOHANG) == it->pid) {
      std::string text = exit_text(it->name, status);
      children_.erase(it);
      return text;
    }
  }
  return std::nullopt;
}

void ChildProcesses::stop_all(std::chrono::milliseconds grace) {
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) ::kill(it->pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (!children_.empty()) {
    std::erase_if(children_, [](const Child& c) {
      int status = 0;
      return ::waitpid(c.pid, &status, WNOHANG) == c.pid;
    });
    if (children_.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const auto& c : children_) {
    ::kill(-c.pid, SIGKILL);  // its group: anything it started too
    int status = 0;
    ::waitpid(c.pid, &status, 0);
  }
  children_.clear();
}

}  // namespace strait::ctl
