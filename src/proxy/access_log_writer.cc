#include "proxy/access_log_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/access_log_json.h"

namespace strait::proxy {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(50);
constexpr auto kReopenCheck = std::chrono::seconds(1);

bool is_stdout(const std::string& path) {
  return path.empty() || path == "-" || path == "/dev/stdout";
}

int open_for_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

}  // namespace

std::expected<std::unique_ptr<AccessLogWriter>, std::string> AccessLogWriter::open(
    const std::string& path, std::size_t workers, std::size_t capacity_per_worker) {
  if (is_stdout(path))
    return std::unique_ptr<AccessLogWriter>(
        new AccessLogWriter(STDOUT_FILENO, {}, workers, capacity_per_worker));
  const int fd = open_for_append(path);
  if (fd < 0) return std::unexpected(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  return std::unique_ptr<AccessLogWriter>(
      new AccessLogWriter(fd, path, workers, capacity_per_worker));
}

AccessLogWriter::AccessLogWriter(int fd, std::string path, std::size_t workers,
                                 std::size_t capacity)
    : fd_(fd), path_(std::move(path)) {
  for (std::size_t i = 0; i < workers; ++i)
    rings_.push_back(std::make_unique<SpscRing<AccessLogRecord>>(capacity));
  batch_.reserve(kMaxBatch);
}

AccessLogWriter::~AccessLogWriter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  flush();
  if (!path_.empty() && fd_ >= 0) ::close(fd_);
}

bool AccessLogWriter::submit(std::size_t worker, const AccessLogRecord& record) {
  if (worker >= rings_.size()) return false;  // a caller's bug: no ring to count it on
  return rings_[worker]->push(record);
}

void AccessLogWriter::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void AccessLogWriter::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, kPoll, [&] { return stop_; })) return;  // the destructor flushes
    }
    flush();
  }
}

void AccessLogWriter::flush() {
  std::lock_guard flushing(flush_mutex_);
  reopen_if_moved();
  for (;;) {
    batch_.clear();
    std::size_t taken = 0;
    for (auto& ring : rings_) taken += ring->pop_into(batch_, kMaxBatch);
    if (taken == 0) return;
    text_.clear();
    for (const auto& record : batch_) append_access_log_json(record, text_);
    if (write_all(text_)) {
      written_.fetch_add(taken, std::memory_order_relaxed);
    } else {
      write_failed_.fetch_add(taken, std::memory_order_relaxed);
    }
  }
}

bool AccessLogWriter::write_all(const std::string& text) {
  if (fd_ < 0) return false;
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      spdlog::warn("access log {}: write failed: {}", path_.empty() ? "stdout" : path_,
                   std::strerror(errno));
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// The file was renamed or deleted (a rotation), or never opened: open `path_` afresh. A failed
// reopen keeps the old descriptor (its lines still land in the rotated file) and is tried again at
// the next check.
void AccessLogWriter::reopen_if_moved() {
  if (path_.empty()) return;
  const auto now = Clock::now();
  if (now - last_reopen_check_ < kReopenCheck) return;
  last_reopen_check_ = now;
  struct stat by_path {};
  struct stat by_fd {};
  const bool same = ::stat(path_.c_str(), &by_path) == 0 && fd_ >= 0 && ::fstat(fd_, &by_fd) == 0 &&
                    by_path.st_dev == by_fd.st_dev && by_path.st_ino == by_fd.st_ino;
  if (same) return;
  const int fresh = open_for_append(path_);
  if (fresh < 0) {
    spdlog::warn("access log {}: cannot reopen: {}", path_, std::strerror(errno));
    return;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fresh;
  reopened_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t AccessLogWriter::dropped_queue_full() const {
  std::uint64_t n = 0;
  for (const auto& ring : rings_) n += ring->dropped();
  return n;
}

void AccessLogWriter::render_metrics(std::string& out) const {
  fmt::format_to(
      std::back_inserter(out),
      "# HELP strait_access_log_written_total Access log lines written.\n"
      "# TYPE strait_access_log_written_total counter\n"
      "strait_access_log_written_total {}\n"
      "# HELP strait_access_log_dropped_total Access log lines lost: a full queue (the writer fell "
      "behind), or a failed write.\n"
      "# TYPE strait_access_log_dropped_total counter\n"
      "strait_access_log_dropped_total{{reason=\"queue_full\"}} {}\n"
      "strait_access_log_dropped_total{{reason=\"write_failed\"}} {}\n"
      "# HELP strait_access_log_reopened_total Times the access log file was reopened after it "
      "was moved or removed.\n"
      "# TYPE strait_access_log_reopened_total counter\n"
      "strait_access_log_reopened_total {}\n",
      written(), dropped_queue_full(), write_failed(), reopened_.load(std::memory_order_relaxed));
}

}  // namespace strait::proxy
