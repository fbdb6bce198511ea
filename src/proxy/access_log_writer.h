// Writes the workers' access log entries, off the request path. Each worker pushes into its own
// bounded ring (spsc_ring.h: no lock, no allocation; a full ring drops the entry and counts it);
// one writer thread drains the rings every 50 ms, formats the entries as JSON lines
// (access_log_json.h) and writes them with one write(2) per batch. A file is opened for append and
// reopened when it is moved or removed (logrotate), checked once a second; standard output is
// never reopened. A failed write loses its batch (counted), never a worker's time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/access_log_record.h"
#include "proxy/spsc_ring.h"

namespace strait::proxy {

class AccessLogWriter {
 public:
  static constexpr std::size_t kMaxBatch = 1024;

  // `path`: a file to append to; "" or "-" (or /dev/stdout): standard output. Fails when the
  // file cannot be opened. `capacity_per_worker` is rounded up to a power of two.
  static std::expected<std::unique_ptr<AccessLogWriter>, std::string> open(
      const std::string& path, std::size_t workers, std::size_t capacity_per_worker = 4096);
  // Stops the thread after one last drain and write, then closes the file.
  ~AccessLogWriter();
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  // Worker `worker` only: copies `record` into its ring. False when the ring is full (counted as
  // dropped) or there is no such worker. Never blocks or allocates.
  bool submit(std::size_t worker, const AccessLogRecord& record);
  // Starts the writer thread (once).
  void start();
  // Drains the rings and writes them now, on the caller's thread (for tests). One at a time.
  void flush();

  // Prometheus text: strait_access_log_* (appended to `out`).
  void render_metrics(std::string& out) const;
  [[nodiscard]] const std::string& path() const { return path_; }  // "": standard output
  [[nodiscard]] std::uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t dropped_queue_full() const;
  [[nodiscard]] std::uint64_t write_failed() const {
    return write_failed_.load(std::memory_order_relaxed);
  }

 private:
  AccessLogWriter(int fd, std::string path, std::size_t workers, std::size_t capacity);
  void run();
  void reopen_if_moved();
  // Writes `text` whole; false on an error.
  bool write_all(const std::string& text);

  using Clock = std::chrono::steady_clock;

  int fd_;
  const std::string path_;
  std::vector<std::unique_ptr<SpscRing<AccessLogRecord>>> rings_;  // one per worker
  std::mutex mutex_;                                               // stop_ (never taken by workers)
  std::condition_variable wake_;
  bool stop_ = false;
  std::mutex flush_mutex_;  // one drain at a time (the thread or flush()); fd_ and the batch
  std::vector<AccessLogRecord> batch_;
  std::string text_;
  Clock::time_point last_reopen_check_{};
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> write_failed_{0};
  std::atomic<std::uint64_t> reopened_{0};
  std::thread thread_;
};

}  // namespace strait::proxy
