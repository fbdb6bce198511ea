// Sends the workers' sampled spans to the tracing providers, off the request path. Each worker
// pushes into its own bounded single-producer ring (no lock, no allocation; a full ring drops the
// span and counts it); one exporter thread drains the rings every 500 ms, or sooner once 256 spans
// are waiting, and POSTs batches of at most 512 spans to every target, with a 2 s timeout. A
// target that is down or slow costs the batch sent to it (counted, never retried), never a
// worker's time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/span_record.h"
#include "proxy/spsc_ring.h"

namespace strait::proxy {

struct ExportTarget {
  enum class Format : std::uint8_t { kOtlpJson, kZipkinJson };
  Format format = Format::kOtlpJson;
  std::string url;           // http://HOST:PORT/PATH
  std::string bearer_token;  // "": no Authorization
};

class SpanExporter {
 public:
  static constexpr std::size_t kMaxBatch = 512;
  static constexpr std::size_t kFlushThreshold = 256;  // pending spans that wake the thread early

  // `queue_capacity_per_worker` is rounded up to a power of two.
  SpanExporter(std::string service_name, std::size_t workers,
               std::size_t queue_capacity_per_worker = 2048);
  // Stops the thread: a send in progress finishes, then one last drain and send, all within 2 s
  // of the call (spans not sent by then count as export_failed), then joins.
  ~SpanExporter();
  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;

  // Worker `worker` only (one producer per ring): copies `span` into its ring. False when the ring
  // is full (counted as dropped, queue_full) or there is no such worker. Never blocks or
  // allocates.
  bool submit(std::size_t worker, const SpanRecord& span);
  // Any thread: every batch goes to each of these (none: batches are drained and discarded).
  void set_targets(std::vector<ExportTarget> targets);
  // Starts the exporter thread (once).
  void start();
  // Drains the rings and sends them now, on the caller's thread (for tests; the exporter thread
  // does this by itself). One flush at a time.
  void flush();

  // Prometheus text: strait_tracing_* (appended to `out`).
  void render_metrics(std::string& out) const;
  [[nodiscard]] std::uint64_t submitted() const;
  [[nodiscard]] std::uint64_t dropped_queue_full() const;
  [[nodiscard]] std::uint64_t exported(ExportTarget::Format format) const;
  [[nodiscard]] std::uint64_t export_failed(ExportTarget::Format format) const;
  // Every span not delivered: queue_full plus export_failed (each target's loss counts).
  [[nodiscard]] std::uint64_t dropped() const;

 private:
  struct FormatCounters {
    std::atomic<std::uint64_t> exported{0};
    std::atomic<std::uint64_t> failed{0};
  };

  using Clock = std::chrono::steady_clock;

  void run();
  // Spans waiting in the rings (read by the exporter thread).
  [[nodiscard]] std::size_t pending() const;
  std::size_t drain(std::vector<SpanRecord>& out);
  // Drains and sends until the rings are empty; after `deadline` batches are counted as failed
  // without being sent. Returns early (leaving spans queued) when `stop_early` and a stop was
  // asked for.
  void flush_until(Clock::time_point deadline, bool stop_early);
  void send(const std::vector<SpanRecord>& batch, Clock::time_point deadline);

  std::string service_name_;
  std::vector<std::unique_ptr<SpscRing<SpanRecord>>> rings_;  // one per worker
  std::mutex mutex_;  // targets_, stop_ (never taken by workers)
  std::condition_variable wake_;
  std::vector<ExportTarget> targets_;
  bool stop_ = false;
  std::chrono::steady_clock::time_point stop_asked_;  // when the destructor began
  std::atomic<bool> stopping_{false};                 // stop_, readable without the mutex
  std::mutex flush_mutex_;                            // one drain at a time (the thread or flush())
  FormatCounters otlp_;
  FormatCounters zipkin_;
  mutable std::mutex codes_mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t>
      requests_by_code_;  // (format, status; 0: no answer)
  std::thread thread_;
};

}  // namespace strait::proxy
