#include "proxy/istio_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <functional>
#include <iterator>
#include <map>

namespace strait::proxy {

void IstioHistogram::observe(std::uint64_t value, double scale) {
  const double scaled = static_cast<double>(value) / scale;
  std::size_t i = 0;
  while (i < kIstioBuckets.size() && scaled > kIstioBuckets[i]) ++i;
  buckets_[i].add();
  sum_.add(value);
}

namespace {

// A 64-bit hash of label text, eight bytes at a time (the table compares the whole text on a
// match, so this only has to spread keys well).
// Four independent lanes, so that the multiplies overlap.
std::uint64_t hash_labels(std::string_view text) {
  constexpr std::uint64_t kMultiplier = 0x9e3779b97f4a7c15ULL;
  std::array<std::uint64_t, 4> lanes{text.size(), 1, 2, 3};
  std::size_t i = 0;
  for (; i + 32 <= text.size(); i += 32) {
    for (std::size_t k = 0; k < 4; ++k) {
      std::uint64_t word = 0;
      std::memcpy(&word, text.data() + i + 8 * k, 8);
      lanes[k] = (lanes[k] ^ word) * kMultiplier;
      lanes[k] ^= lanes[k] >> 29;
    }
  }
  std::uint64_t h = lanes[0] ^ (lanes[1] * 3) ^ (lanes[2] * 5) ^ (lanes[3] * 7);
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, text.data() + i, 8);
    h = (h ^ word) * kMultiplier;
    h ^= h >> 29;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, text.data() + i, text.size() - i);
  h = (h ^ tail) * kMultiplier;
  return h ^ (h >> 32);
}

}  // namespace

template <typename Series>
SeriesTable<Series>::SeriesTable(std::size_t capacity)
    : capacity_(capacity), slots_(std::make_unique<Slot[]>(capacity)) {}

template <typename Series>
Series* SeriesTable<Series>::find_or_add(std::string_view labels) {
  if (labels.size() > kMaxSeriesLabels) {
    dropped_.add();
    return nullptr;
  }
  std::uint64_t key = hash_labels(labels);
  if (key == 0) key = 1;
  const std::size_t mask = capacity_ - 1;
  for (std::size_t probe = 0; probe < capacity_; ++probe) {
    Slot& slot = slots_[(key + probe) & mask];
    // Relaxed: this thread is the only writer of every key.
    const std::uint64_t found = slot.key.load(std::memory_order_relaxed);
    if (found == 0) {
      labels.copy(slot.labels.data(), labels.size());
      slot.size = static_cast<std::uint32_t>(labels.size());
      slot.key.store(key, std::memory_order_release);
      return &slot.series;
    }
    if (found == key && std::string_view(slot.labels.data(), slot.size) == labels)
      return &slot.series;
  }
  dropped_.add();
  return nullptr;
}

template class SeriesTable<HttpSeries>;
template class SeriesTable<TcpSeries>;

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

void append_label(std::string& out, std::string_view name, std::string_view value,
                  bool empty_is_unknown = true) {
  if (!out.empty()) out += ',';
  out += name;
  out += "=\"";
  out += value.empty() && empty_is_unknown ? std::string_view("unknown") : value;
  out += '"';
}

void append_number_label(std::string& out, std::string_view name, int value) {
  std::array<char, 16> digits{};
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
  append_label(out, name, std::string_view(digits.data(), end));
}

struct HttpTotals {
  std::uint64_t requests = 0;
  struct Histogram {
    std::array<std::uint64_t, kIstioBuckets.size() + 1> buckets{};
    std::uint64_t sum = 0;
    void add(const IstioHistogram& h) {
      for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += h.bucket(i);
      sum += h.sum();
    }
  };
  Histogram duration, request_bytes, response_bytes;
};

struct TcpTotals {
  std::uint64_t opened = 0, closed = 0, sent = 0, received = 0;
};

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void render_histogram(std::string& out, std::string_view name, std::string_view help,
                      const std::map<std::string, HttpTotals, std::less<>>& series,
                      HttpTotals::Histogram HttpTotals::*member, double scale) {
  family(out, name, "histogram", help);
  for (const auto& [labels, totals] : series) {
    const auto& h = totals.*member;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.buckets.size(); ++i) {
      cumulative += h.buckets[i];
      if (i < kIstioBuckets.size()) {
        fmt::format_to(std::back_inserter(out), "{}_bucket{{{},le=\"{}\"}} {}\n", name, labels,
                       kIstioBuckets[i], cumulative);
      } else {
        fmt::format_to(std::back_inserter(out), "{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels,
                       cumulative);
      }
    }
    fmt::format_to(std::back_inserter(out), "{}_sum{{{}}} {}\n", name, labels,
                   static_cast<double>(h.sum) / scale);
    fmt::format_to(std::back_inserter(out), "{}_count{{{}}} {}\n", name, labels, cumulative);
  }
}

}  // namespace

void write_istio_labels(const IstioLabels& l, bool http, std::string& out) {
  out.clear();
  append_label(out, "reporter", l.reporter);
  append_label(out, "source_workload", l.source_workload);
  append_label(out, "source_workload_namespace", l.source_workload_namespace);
  append_label(out, "source_principal", l.source_principal);
  append_label(out, "source_app", l.source_app);
  append_label(out, "source_version", l.source_version);
  append_label(out, "destination_workload", l.destination_workload);
  append_label(out, "destination_workload_namespace", l.destination_workload_namespace);
  append_label(out, "destination_principal", l.destination_principal);
  append_label(out, "destination_app", l.destination_app);
  append_label(out, "destination_version", l.destination_version);
  append_label(out, "destination_service", l.destination_service);
  append_label(out, "destination_service_name", l.destination_service_name);
  append_label(out, "destination_service_namespace", l.destination_service_namespace);
  append_label(out, "request_protocol", l.request_protocol);
  if (http) {
    append_number_label(out, "response_code", l.response_code);
    if (l.grpc_response_status >= 0) {
      append_number_label(out, "grpc_response_status", l.grpc_response_status);
    } else {
      append_label(out, "grpc_response_status", "", false);
    }
  }
  append_label(out, "response_flags", l.response_flags.empty() ? "-" : l.response_flags);
  append_label(out, "connection_security_policy", l.connection_security_policy);
}

void render_istio_metrics(const std::vector<const IstioMetrics*>& workers, std::string& out) {
  std::map<std::string, HttpTotals, std::less<>> http;
  std::map<std::string, TcpTotals, std::less<>> tcp;
  std::uint64_t dropped = 0;
  for (const IstioMetrics* metrics : workers) {
    metrics->http.for_each([&](std::string_view labels, const HttpSeries& s) {
      auto it = http.find(labels);
      if (it == http.end()) it = http.emplace(std::string(labels), HttpTotals{}).first;
      it->second.requests += s.requests.value();
      it->second.duration.add(s.duration);
      it->second.request_bytes.add(s.request_bytes);
      it->second.response_bytes.add(s.response_bytes);
    });
    metrics->tcp.for_each([&](std::string_view labels, const TcpSeries& s) {
      auto it = tcp.find(labels);
      if (it == tcp.end()) it = tcp.emplace(std::string(labels), TcpTotals{}).first;
      it->second.opened += s.opened.value();
      it->second.closed += s.closed.value();
      it->second.sent += s.sent.value();
      it->second.received += s.received.value();
    });
    dropped += metrics->http.dropped() + metrics->tcp.dropped();
  }
  family(out, "istio_requests_total", "counter", "Requests, by caller, callee and response.");
  for (const auto& [labels, totals] : http)
    fmt::format_to(std::back_inserter(out), "istio_requests_total{{{}}} {}\n", labels,
                   totals.requests);
  render_histogram(out, "istio_request_duration_milliseconds",
                   "Time from the request's head to the response's last byte.", http,
                   &HttpTotals::duration, 1000.0);
  render_histogram(out, "istio_request_bytes", "Request sizes (head and body).", http,
                   &HttpTotals::request_bytes, 1.0);
  render_histogram(out, "istio_response_bytes", "Response sizes (head and body).", http,
                   &HttpTotals::response_bytes, 1.0);
  struct TcpMetric {
    std::string_view name, help;
    std::uint64_t TcpTotals::*member;
  };
  static constexpr TcpMetric kTcpMetrics[] = {
      {"istio_tcp_connections_opened_total", "TCP connections opened.", &TcpTotals::opened},
      {"istio_tcp_connections_closed_total", "TCP connections closed.", &TcpTotals::closed},
      {"istio_tcp_sent_bytes_total", "Bytes sent to the peer of a TCP connection.",
       &TcpTotals::sent},
      {"istio_tcp_received_bytes_total", "Bytes received from the peer of a TCP connection.",
       &TcpTotals::received},
  };
  for (const auto& metric : kTcpMetrics) {
    family(out, metric.name, "counter", metric.help);
    for (const auto& [labels, totals] : tcp)
      fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", metric.name, labels,
                     totals.*metric.member);
  }
  family(
      out, "strait_istio_series_dropped_total", "counter",
      "Requests and connections not recorded in the istio_* metrics: a worker's series table was "
      "full.");
  fmt::format_to(std::back_inserter(out), "strait_istio_series_dropped_total {}\n", dropped);
}

}  // namespace strait::proxy
