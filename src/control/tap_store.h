// The requests tapped proxies report (straitctl tap, the dashboard), kept by straitd between the
// readers' polls: per proxy, the most recent kKeptPerProxy events, each numbered, so that a reader
// asks for what came after the last number it saw. A tap is a lease: a reader's poll renews it,
// and the proxy is told again when its lease is a third gone; a proxy stops tapping by itself when
// nobody renews. Thread-safe (one mutex: gRPC's threads record, the API reads).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "strait/mesh/v1/mesh.pb.h"

namespace strait::control {

class TapStore {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kKeptPerProxy = 2000;

  struct Page {
    std::uint64_t next = 0;     // ask for events after this number next time
    std::uint64_t dropped = 0;  // events the proxy could not report, since the tap began
    std::uint64_t missed = 0;   // events after the asked number that are no longer kept
    std::vector<std::pair<std::uint64_t, mesh::v1::TapEvent>> events;  // numbered, oldest first
  };

  // A reader wants `proxy` tapped for `lease` from `now`. True when the proxy must be told (the
  // tap is new, or the last word it was sent is a third of its lease old).
  bool renew(const std::string& proxy, std::chrono::seconds lease, Clock::time_point now);
  // A batch from `proxy`; ignored unless it is tapped (a late batch after the lease ended).
  void record(const std::string& proxy, const mesh::v1::TapBatch& batch, Clock::time_point now);
  // Up to `limit` events of `proxy` numbered above `after`.
  [[nodiscard]] Page after(const std::string& proxy, std::uint64_t after, std::size_t limit) const;
  // Forgets the proxy's tap (its stream ended: a new stream starts untapped).
  void forget(const std::string& proxy);
  [[nodiscard]] std::size_t tapped(Clock::time_point now) const;

 private:
  struct Tap {
    Clock::time_point lease_until;
    Clock::time_point told_at;
    std::chrono::seconds told_lease{0};
    std::uint64_t last = 0;  // the number of the newest event
    std::uint64_t dropped = 0;
    std::deque<mesh::v1::TapEvent> events;  // numbered last - size + 1 .. last
  };
  mutable std::mutex mutex_;
  std::map<std::string, Tap> taps_;
};

// One event as the REST API shows it: {"seq", "start" (RFC 3339, UTC), "direction" (inbound or
// outbound), "tcp", "method", "authority", "path", "protocol", "status", "grpcStatus" (null: not
// gRPC), "durationMs", "flags", "peer", "downstreamAddress", "upstreamCluster", "upstreamHost",
// "requestId", "traceId", "bytesReceived", "bytesSent"}.
[[nodiscard]] nlohmann::json tap_event_json(std::uint64_t number, const mesh::v1::TapEvent& event);

}  // namespace strait::control
