// Istio's standard metrics (istio_requests_total, istio_request_duration_milliseconds, ...), kept
// per worker and merged when /stats/prometheus is scraped.
//
// Recording takes no lock and allocates nothing: each worker owns fixed tables of series, sized
// once when the worker starts. A series is found by its label text (a Prometheus label list,
// `reporter="source",source_workload="...",...`), which the caller writes into a reused buffer;
// the table is open-addressed by the text's hash. Only the worker writes its tables: a new series
// is written whole before its key is published with a release store, and the scraper reads keys
// with acquire loads, so it sees only complete series. Counters are single-writer relaxed atomics
// (stats.h). Series are never evicted (Prometheus counters must not go back); when a table is
// full, further new series are counted as dropped, never recorded elsewhere.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/stats.h"

namespace strait::proxy {

// Envoy's default histogram buckets, which Istio's metrics use: milliseconds for durations, bytes
// for sizes.
inline constexpr std::array<double, 19> kIstioBuckets{
    0.5,  1,    5,     10,    25,    50,     100,    250,     500,    1000,
    2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000};

// A histogram with kIstioBuckets upper bounds (plus +Inf) over integer observations in a unit
// `scale` times finer than the buckets' (microseconds for millisecond buckets): one writer.
class IstioHistogram {
 public:
  void observe(std::uint64_t value, double scale);
  [[nodiscard]] std::uint64_t bucket(std::size_t i) const {
    return buckets_[i].value();
  }                                                                 // not cumulative
  [[nodiscard]] std::uint64_t sum() const { return sum_.value(); }  // in the observation unit

 private:
  std::array<Counter, kIstioBuckets.size() + 1> buckets_;
  Counter sum_;
};

inline constexpr std::size_t kMaxSeriesLabels = 1536;  // bytes of label text per series

struct HttpSeries {
  Counter requests;
  IstioHistogram duration;        // microseconds, rendered in milliseconds
  IstioHistogram request_bytes;   // head and body, as received
  IstioHistogram response_bytes;  // head and body, as sent
};

struct TcpSeries {
  Counter opened;
  Counter closed;
  Counter sent;      // bytes sent to the downstream peer (Istio: sent by the reporting proxy)
  Counter received;  // bytes received from it
};

// A fixed table of series keyed by label text. One writer (the worker), any number of readers.
template <typename Series>
class SeriesTable {
 public:
  explicit SeriesTable(std::size_t capacity);  // a power of two
  SeriesTable(const SeriesTable&) = delete;
  SeriesTable& operator=(const SeriesTable&) = delete;

  // The series of `labels`, added when new; null when the table is full or the text too long
  // (counted in dropped()). Writer only.
  Series* find_or_add(std::string_view labels);

  // Readers: each published series with its label text.
  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (std::size_t i = 0; i < capacity_; ++i) {
      const Slot& slot = slots_[i];
      if (slot.key.load(std::memory_order_acquire) == 0) continue;
      visit(std::string_view(slot.labels.data(), slot.size), slot.series);
    }
  }
  [[nodiscard]] std::uint64_t dropped() const { return dropped_.value(); }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }

 private:
  struct Slot {
    std::atomic<std::uint64_t> key{0};  // the labels' hash (never 0) once published
    std::uint32_t size = 0;
    std::array<char, kMaxSeriesLabels> labels{};
    Series series;
  };
  std::size_t capacity_;
  std::unique_ptr<Slot[]> slots_;
  Counter dropped_;
};

// One worker's Istio metrics.
struct IstioMetrics {
  SeriesTable<HttpSeries> http{512};  // about 1 MiB
  SeriesTable<TcpSeries> tcp{128};
};

// The values of Istio's standard labels for one request or connection, as label text: a value
// that may hold a backslash, double quote or newline is escaped beforehand (escape_label_value;
// the snapshot keeps its label values escaped, and what a peer sends is label-like). Empty values
// render as "unknown", except grpc_response_status (empty for a call that is not gRPC).
struct IstioLabels {
  std::string_view reporter;  // "source" or "destination"
  std::string_view source_workload, source_workload_namespace, source_principal, source_app,
      source_version;
  std::string_view destination_workload, destination_workload_namespace, destination_principal,
      destination_app, destination_version;
  std::string_view destination_service, destination_service_name, destination_service_namespace;
  std::string_view request_protocol;  // "http", "grpc" or "tcp"
  int response_code = 0;              // HTTP only (0: no response: rendered "0", as Envoy)
  int grpc_response_status = -1;      // -1: none
  std::string_view response_flags;    // "" : "-"
  std::string_view connection_security_policy;  // "mutual_tls", "none" or "" (unknown)
};

// Writes `labels` as Prometheus label text (without braces) into `out`, replacing its contents.
// TCP series carry no response_code or grpc_response_status (`http` false), as Istio's.
void write_istio_labels(const IstioLabels& labels, bool http, std::string& out);

// A label value with backslash, double quote and newline escaped.
[[nodiscard]] std::string escape_label_value(std::string_view value);

// Appends the Istio metric families, merged over `workers` (series with the same labels on
// several workers are summed), in Prometheus text format, plus strait_istio_series_dropped_total.
void render_istio_metrics(const std::vector<const IstioMetrics*>& workers, std::string& out);

}  // namespace strait::proxy
