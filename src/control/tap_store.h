// The requests tapped proxies report (straitctl tap), kept by straitd between the readers' polls:
// per proxy, the most recent kKeptPerProxy events, numbered from 1 for as long as straitd runs, so
// that a reader asks for what came after the last number it saw. A tap is a lease: a reader's poll
// renews it, and the proxy is told again when its lease is a third gone or its stream changed; a
// proxy stops tapping by itself when nobody renews. Thread-safe (one mutex: gRPC's threads record,
// the API reads).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "strait/mesh/v1/mesh.pb.h"

namespace strait::control {

class TapStore {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kKeptPerProxy = 2000;
  // A tap whose lease ended keeps its events this long (a reader that paused still finds them).
  static constexpr std::chrono::seconds kKeptAfterLease{60};

  struct Page {
    std::uint64_t next = 0;     // ask for events after this number next time
    std::uint64_t dropped = 0;  // events the proxy could not report, since its first tap
    std::uint64_t missed = 0;   // events after the asked number that are no longer kept
    std::vector<std::pair<std::uint64_t, mesh::v1::TapEvent>> events;  // numbered, oldest first
  };

  // A reader wants `proxy` tapped for `lease` from `now`: extends its lease. True when the proxy
  // must be told (the tap is new, its stream changed since, or the last word it was sent is a third
  // of its lease old); then told() once it was.
  bool renew(const std::string& proxy, std::chrono::seconds lease, Clock::time_point now);
  // A TapControl for `lease` was queued on the proxy's stream at `now`.
  void told(const std::string& proxy, std::chrono::seconds lease, Clock::time_point now);
  // The proxy has a new stream (which starts untapped): the next renew tells it. Its events and
  // numbering stay.
  void stream_changed(const std::string& proxy);
  // A batch from `proxy`; ignored unless it is tapped (a late batch after the lease ended).
  void record(const std::string& proxy, const mesh::v1::TapBatch& batch, Clock::time_point now);
  // Up to `limit` events of `proxy` numbered above `after`; without `after`, none: only where the
  // newest is (a reader that starts now). A number above the newest (from before a straitd
  // restart) reads from the oldest kept.
  [[nodiscard]] Page after(const std::string& proxy, std::optional<std::uint64_t> after,
                           std::size_t limit) const;
  // Proxies whose lease has not ended.
  [[nodiscard]] std::size_t tapped(Clock::time_point now) const;

 private:
  struct Tap {
    Clock::time_point lease_until;
    Clock::time_point told_at;
    std::chrono::seconds told_lease{0};  // 0: not told (or told before its stream changed)
    std::uint64_t last = 0;              // the number of the newest event
    std::uint64_t dropped = 0;
    std::deque<mesh::v1::TapEvent> events;  // numbered last - size + 1 .. last
  };
  mutable std::mutex mutex_;
  // An entry stays once made (a few words per proxy ever tapped), so numbers never restart.
  std::map<std::string, Tap> taps_;
};

// One event as the REST API shows it: {"seq", "start" (RFC 3339, UTC), "direction" (inbound or
// outbound), "tcp", "method", "authority", "path", "protocol", "status", "grpcStatus" (null: not
// gRPC), "durationMs", "flags", "peer", "downstreamAddress", "upstreamCluster", "upstreamHost",
// "requestId", "traceId", "bytesReceived", "bytesSent"}.
[[nodiscard]] nlohmann::json tap_event_json(std::uint64_t number, const mesh::v1::TapEvent& event);

}  // namespace strait::control
