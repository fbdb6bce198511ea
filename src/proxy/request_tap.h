// A live view of the requests through this proxy, for `straitctl tap`: while
// straitd taps the proxy (a TapControl on the discovery stream), every worker copies each finished
// request's access-log record into its own bounded ring; the control-plane client drains the rings
// a few times a second and sends the records to straitd. Off by default: an untapped proxy pays one
// relaxed atomic load and one comparison per request, nothing else.
//
// Threads: workers call tapping() and submit() on their own ring only (no lock, no allocation; a
// full ring drops the record and counts it); any thread calls tap_for(); one thread drains.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/access_log_record.h"
#include "proxy/spsc_ring.h"

namespace strait::proxy {

class RequestTap {
 public:
  // Records a worker may hold before the drain takes them; beyond that they are dropped.
  static constexpr std::size_t kRingCapacity = 512;

  explicit RequestTap(std::size_t workers);

  // Any thread: report requests until `duration` from now (zero or less stops the tap now).
  void tap_for(std::chrono::steady_clock::duration duration);
  // Workers: whether requests that start at `now` are reported.
  [[nodiscard]] bool tapping(std::chrono::steady_clock::time_point now) const {
    return now.time_since_epoch().count() < until_.load(std::memory_order_relaxed);
  }
  // Worker `worker` only: queues a copy of `record`. False when its ring is full (dropped).
  bool submit(std::size_t worker, const AccessLogRecord& record);
  // The draining thread only: moves up to `limit` waiting records into `out` (appended), an equal
  // share from each worker's ring; returns the records dropped since the previous drain.
  std::uint64_t drain(std::vector<AccessLogRecord>& out, std::size_t limit);

 private:
  // Read by every worker on every request: a cache line of its own, which only tap_for() writes.
  alignas(64) std::atomic<std::int64_t> until_{0};  // steady_clock ticks; 0: not tapping
  alignas(64) std::vector<std::unique_ptr<SpscRing<AccessLogRecord>>> rings_;
  std::uint64_t dropped_reported_ = 0;  // the draining thread's
};

}  // namespace strait::proxy
