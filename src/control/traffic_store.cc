#include "control/traffic_store.h"

#include <algorithm>

namespace strait::control {
namespace {

bool is_failure(const TrafficSeries& s) {
  return s.response_code == 0 || s.response_code >= 500 || s.grpc_status > 0;
}

// The callee's sidecar reports every attempt that reached it; the caller's report counts only for
// what the callee never saw: a callee without a sidecar (no destination workload known) or a
// response the caller's sidecar made itself (response flags: no healthy upstream, connect failure,
// timeout, ...).
bool counted(const TrafficSeries& s) {
  if (!s.reported_by_source) return true;
  const bool callee_unknown = s.destination_workload.empty() || s.destination_workload == "unknown";
  const bool local_reply = !s.response_flags.empty() && s.response_flags != "-";
  return callee_unknown || local_reply;
}

}  // namespace

double duration_quantile(const std::array<std::uint64_t, kDurationBucketCount>& buckets, double q) {
  std::uint64_t total = 0;
  for (const auto b : buckets) total += b;
  if (total == 0) return -1;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < kDurationBucketsMs.size(); ++i) {
    if (static_cast<double>(below + buckets[i]) >= rank && buckets[i] > 0) {
      const double lower = i == 0 ? 0.0 : kDurationBucketsMs[i - 1];
      const double upper = kDurationBucketsMs[i];
      return lower + (upper - lower) * (rank - static_cast<double>(below)) /
                         static_cast<double>(buckets[i]);
    }
    below += buckets[i];
  }
  return kDurationBucketsMs.back();  // in +Inf: the highest finite bound, as Prometheus
}

TrafficStore::TrafficStore(std::chrono::seconds bucket_width, std::size_t bucket_count)
    : width_(std::max(bucket_width, std::chrono::seconds(1))),
      count_(std::max<std::size_t>(bucket_count, 2)) {}

std::int64_t TrafficStore::epoch_of(Clock::time_point t) const {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count() /
         width_.count();
}

TrafficStore::Bucket* TrafficStore::bucket_for(const EdgeKey& key, std::int64_t epoch) {
  auto it = edges_.find(key);
  if (it == edges_.end()) {
    if (edges_.size() >= kMaxEdges) return nullptr;
    it = edges_.emplace(key, Edge{std::vector<Bucket>(count_)}).first;
  }
  Bucket& b = it->second.ring[static_cast<std::size_t>(epoch) % count_];
  if (b.epoch != epoch) b = Bucket{.epoch = epoch};
  return &b;
}

void TrafficStore::record(std::string_view proxy_id, Clock::time_point now,
                          std::span<const TrafficSeries> series) {
  const std::lock_guard lock(mutex_);
  auto proxy = baselines_.find(proxy_id);
  const bool first_report = proxy == baselines_.end();
  if (first_report)
    proxy = baselines_.emplace(std::string(proxy_id), std::map<SeriesKey, Baseline>{}).first;
  const std::int64_t epoch = epoch_of(now);
  for (const auto& s : series) {
    if (!counted(s)) continue;
    EdgeKey key{s.source_workload,     s.source_namespace,     s.source_app,
                s.destination_service, s.destination_workload, s.destination_namespace,
                s.destination_app};
    auto [base, added] = proxy->second.try_emplace(SeriesKey{
        s.reported_by_source, key, s.protocol, s.response_code, s.grpc_status, s.mutual_tls});
    // A proxy's first report holds everything since it started: a baseline, not a delta. A series
    // that appears later was born since the last report.
    const bool restarted = s.requests < base->second.requests;
    std::uint64_t delta = restarted ? s.requests : s.requests - base->second.requests;
    std::array<std::uint64_t, kDurationBucketCount> durations{};
    for (std::size_t i = 0; i < kDurationBucketCount; ++i) {
      const std::uint64_t before = restarted ? 0 : base->second.durations[i];
      durations[i] =
          s.duration_buckets[i] >= before ? s.duration_buckets[i] - before : s.duration_buckets[i];
    }
    base->second = {s.requests, s.duration_buckets};
    if ((first_report && added) || delta == 0) continue;
    Bucket* b = bucket_for(key, epoch);
    if (b == nullptr) {
      ++dropped_edges_;
      continue;
    }
    // Only the callee's sidecar knows whether the calls were mTLS.
    if (!s.reported_by_source) (s.mutual_tls ? b->secured : b->plaintext) += delta;
    b->requests += delta;
    if (is_failure(s)) b->failures += delta;
    if (s.response_code >= 400 && s.response_code < 500) b->client_errors += delta;
    if (s.protocol == "grpc") b->grpc += delta;
    for (std::size_t i = 0; i < kDurationBucketCount; ++i) b->durations[i] += durations[i];
  }
}

void TrafficStore::forget(std::string_view proxy_id) {
  const std::lock_guard lock(mutex_);
  if (auto it = baselines_.find(proxy_id); it != baselines_.end()) baselines_.erase(it);
}

std::map<EdgeKey, TrafficStore::Bucket> TrafficStore::window_sums(Clock::time_point now,
                                                                  std::chrono::seconds window,
                                                                  std::int64_t& buckets) const {
  // Complete buckets only: the current one is still being reported into.
  buckets = std::clamp<std::int64_t>(window / width_, 1, static_cast<std::int64_t>(count_) - 1);
  const std::int64_t last = epoch_of(now) - 1;
  std::map<EdgeKey, Bucket> out;
  const std::lock_guard lock(mutex_);
  for (const auto& [key, edge] : edges_) {
    Bucket sum;
    for (const auto& b : edge.ring) {
      if (b.epoch < last - buckets + 1 || b.epoch > last) continue;
      add(sum, b);
    }
    if (sum.requests > 0) out.emplace(key, sum);
  }
  return out;
}

void TrafficStore::add(Bucket& sum, const Bucket& b) {
  sum.requests += b.requests;
  sum.failures += b.failures;
  sum.client_errors += b.client_errors;
  sum.grpc += b.grpc;
  sum.secured += b.secured;
  sum.plaintext += b.plaintext;
  for (std::size_t i = 0; i < kDurationBucketCount; ++i) sum.durations[i] += b.durations[i];
}

EdgeTraffic TrafficStore::summarize(const EdgeKey& key, const Bucket& sum, double seconds) {
  return {.key = key,
          .requests = sum.requests,
          .failures = sum.failures,
          .client_errors = sum.client_errors,
          .requests_per_second = static_cast<double>(sum.requests) / seconds,
          .failure_share = sum.requests == 0 ? 0.0
                                             : static_cast<double>(sum.failures) /
                                                   static_cast<double>(sum.requests),
          .p50_ms = duration_quantile(sum.durations, 0.50),
          .p95_ms = duration_quantile(sum.durations, 0.95),
          .p99_ms = duration_quantile(sum.durations, 0.99),
          .mutual_tls = sum.secured > 0 && sum.plaintext == 0,
          .grpc = sum.grpc > 0};
}

std::vector<EdgeTraffic> TrafficStore::edges(Clock::time_point now,
                                             std::chrono::seconds window) const {
  std::int64_t buckets = 0;
  const auto sums = window_sums(now, window, buckets);
  const double seconds = static_cast<double>(buckets * width_.count());
  std::vector<EdgeTraffic> out;
  for (const auto& [key, sum] : sums) out.push_back(summarize(key, sum, seconds));
  return out;
}

std::vector<EdgeTraffic> TrafficStore::services(Clock::time_point now,
                                                std::chrono::seconds window) const {
  std::int64_t buckets = 0;
  const auto sums = window_sums(now, window, buckets);
  const double seconds = static_cast<double>(buckets * width_.count());
  std::map<std::string, Bucket> by_service;
  for (const auto& [key, sum] : sums) add(by_service[key.destination_service], sum);
  std::vector<EdgeTraffic> out;
  for (const auto& [service, sum] : by_service) {
    EdgeKey key;
    key.destination_service = service;
    out.push_back(summarize(key, sum, seconds));
  }
  return out;
}

std::vector<TrafficPoint> TrafficStore::service_series(std::string_view service,
                                                       Clock::time_point now,
                                                       std::chrono::seconds window) const {
  const auto n =
      std::clamp<std::int64_t>(window / width_, 1, static_cast<std::int64_t>(count_) - 1);
  const std::int64_t last = epoch_of(now) - 1;
  std::vector<Bucket> sums(static_cast<std::size_t>(n));
  const std::lock_guard lock(mutex_);
  for (const auto& [key, edge] : edges_) {
    if (key.destination_service != service) continue;
    for (const auto& b : edge.ring) {
      if (b.epoch < last - n + 1 || b.epoch > last) continue;
      add(sums[static_cast<std::size_t>(b.epoch - (last - n + 1))], b);
    }
  }
  std::vector<TrafficPoint> out;
  for (std::int64_t i = 0; i < n; ++i) {
    const Bucket& sum = sums[static_cast<std::size_t>(i)];
    out.push_back({.start_unix_seconds = (last - n + 1 + i) * width_.count(),
                   .requests_per_second =
                       static_cast<double>(sum.requests) / static_cast<double>(width_.count()),
                   .failure_share = sum.requests == 0 ? 0.0
                                                      : static_cast<double>(sum.failures) /
                                                            static_cast<double>(sum.requests),
                   .p99_ms = duration_quantile(sum.durations, 0.99)});
  }
  return out;
}

std::uint64_t TrafficStore::dropped_edges() const {
  const std::lock_guard lock(mutex_);
  return dropped_edges_;
}

}  // namespace strait::control
