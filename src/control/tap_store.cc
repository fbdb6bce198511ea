#include "control/tap_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/time_text.h"

namespace strait::control {

bool TapStore::renew(const std::string& proxy, std::chrono::seconds lease, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  // Taps whose leases ended a while ago let their events go here: no timer needed.
  for (auto& [id, tap] : taps_) {
    if (tap.lease_until + kKeptAfterLease < now && !tap.events.empty())
      std::deque<mesh::v1::TapEvent>().swap(tap.events);
  }
  Tap& tap = taps_[proxy];
  const bool told_recently = tap.told_lease.count() > 0 && now < tap.lease_until &&
                             (now - tap.told_at) * 3 < tap.told_lease && lease <= tap.told_lease;
  tap.lease_until = std::max(tap.lease_until, now + lease);
  return !told_recently;
}

void TapStore::told(const std::string& proxy, std::chrono::seconds lease, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Tap& tap = taps_[proxy];
  tap.told_at = now;
  tap.told_lease = lease;
}

void TapStore::stream_changed(const std::string& proxy) {
  std::lock_guard lock(mutex_);
  if (auto it = taps_.find(proxy); it != taps_.end())
    it->second.told_lease = std::chrono::seconds(0);
}

void TapStore::record(const std::string& proxy, const mesh::v1::TapBatch& batch,
                      Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = taps_.find(proxy);
  if (it == taps_.end() || it->second.lease_until + kKeptAfterLease < now) return;
  Tap& tap = it->second;
  tap.dropped += batch.dropped();
  for (const auto& event : batch.events()) {
    tap.events.push_back(event);
    ++tap.last;
    if (tap.events.size() > kKeptPerProxy) tap.events.pop_front();
  }
}

TapStore::Page TapStore::after(const std::string& proxy, std::optional<std::uint64_t> after,
                               std::size_t limit) const {
  std::lock_guard lock(mutex_);
  Page page;
  auto it = taps_.find(proxy);
  if (it == taps_.end()) return page;
  const Tap& tap = it->second;
  page.dropped = tap.dropped;
  page.next = tap.last;
  if (!after) return page;
  const std::uint64_t from = *after > tap.last ? 0 : *after;
  const std::uint64_t first = tap.last - tap.events.size() + 1;  // the oldest kept
  std::uint64_t number = std::max(from + 1, first);
  page.missed = number - from - 1;
  page.next = number - 1;
  for (; number <= tap.last && page.events.size() < limit; ++number) {
    page.events.emplace_back(number, tap.events[number - first]);
    page.next = number;
  }
  return page;
}

std::size_t TapStore::tapped(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::count_if(
      taps_.begin(), taps_.end(), [&](const auto& e) { return now < e.second.lease_until; }));
}

nlohmann::json tap_event_json(std::uint64_t number, const mesh::v1::TapEvent& e) {
  const auto or_null = [](const std::string& text) {
    return text.empty() ? nlohmann::json() : nlohmann::json(text);
  };
  return nlohmann::json{
      {"seq", number},
      {"start", utc_rfc3339_micros(e.start_unix_nanos())},
      {"direction", e.inbound() ? "inbound" : "outbound"},
      {"tcp", e.tcp()},
      {"method", e.method()},
      {"authority", e.authority()},
      {"path", e.path()},
      {"protocol", e.protocol()},
      {"status", e.response_code()},
      {"grpcStatus", e.grpc_status() < 0 ? nlohmann::json() : nlohmann::json(e.grpc_status())},
      {"durationMs", static_cast<double>(e.duration_micros()) / 1000.0},
      {"flags", e.response_flags()},
      {"peer", or_null(e.peer())},
      {"downstreamAddress", or_null(e.downstream_address())},
      {"upstreamCluster", or_null(e.upstream_cluster())},
      {"upstreamHost", or_null(e.upstream_host())},
      {"requestId", or_null(e.request_id())},
      {"traceId", or_null(e.trace_id())},
      {"bytesReceived", e.bytes_received()},
      {"bytesSent", e.bytes_sent()}};
}

}  // namespace strait::control
