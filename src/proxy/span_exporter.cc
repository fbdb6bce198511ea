#include "proxy/span_exporter.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "net/http_client.h"
#include "proxy/span_json.h"

namespace strait::proxy {
namespace {

constexpr auto kInterval = std::chrono::milliseconds(500);
constexpr auto kPoll = std::chrono::milliseconds(50);  // how often the pending count is checked
constexpr auto kTimeout = std::chrono::milliseconds(2000);

const char* format_name(ExportTarget::Format format) {
  return format == ExportTarget::Format::kZipkinJson ? "zipkin" : "otlp";
}

}  // namespace

SpanExporter::SpanExporter(std::string service_name, std::size_t workers,
                           std::size_t queue_capacity_per_worker)
    : service_name_(std::move(service_name)) {
  for (std::size_t i = 0; i < workers; ++i)
    rings_.push_back(std::make_unique<SpscRing<SpanRecord>>(queue_capacity_per_worker));
}

SpanExporter::~SpanExporter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    stop_asked_ = Clock::now();
  }
  stopping_.store(true, std::memory_order_relaxed);
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool SpanExporter::submit(std::size_t worker, const SpanRecord& span) {
  if (worker >= rings_.size()) return false;  // a caller's bug: no ring to count it on
  return rings_[worker]->push(span);
}

void SpanExporter::set_targets(std::vector<ExportTarget> targets) {
  std::lock_guard lock(mutex_);
  targets_ = std::move(targets);
}

void SpanExporter::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void SpanExporter::run() {
  auto last_flush = Clock::now();
  for (;;) {
    bool stopping = false;
    Clock::time_point stop_asked;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, kPoll, [&] { return stop_; });
      stopping = stop_;
      stop_asked = stop_asked_;
    }
    const auto now = Clock::now();
    if (stopping) {
      flush_until(stop_asked + kTimeout, false);
      return;
    }
    if (now - last_flush >= kInterval || pending() >= kFlushThreshold) {
      flush_until(Clock::time_point::max(), true);
      last_flush = Clock::now();
    }
  }
}

std::size_t SpanExporter::pending() const {
  std::size_t n = 0;
  for (const auto& ring : rings_) n += ring->size();
  return n;
}

std::size_t SpanExporter::drain(std::vector<SpanRecord>& out) {
  std::size_t taken = 0;
  for (auto& ring : rings_) taken += ring->pop_into(out, kMaxBatch);
  return taken;
}

void SpanExporter::flush() {
  flush_until(Clock::time_point::max(), false);
}

void SpanExporter::flush_until(Clock::time_point deadline, bool stop_early) {
  std::lock_guard flushing(flush_mutex_);
  std::vector<SpanRecord> batch;
  batch.reserve(kMaxBatch);
  while (!(stop_early && stopping_.load(std::memory_order_relaxed)) && drain(batch) > 0) {
    send(batch, deadline);
    batch.clear();
  }
}

void SpanExporter::send(const std::vector<SpanRecord>& batch, Clock::time_point deadline) {
  std::vector<ExportTarget> targets;
  {
    std::lock_guard lock(mutex_);
    targets = targets_;
  }
  std::string otlp;
  std::string zipkin;
  for (const auto& target : targets) {
    const bool is_zipkin = target.format == ExportTarget::Format::kZipkinJson;
    FormatCounters& counters = is_zipkin ? zipkin_ : otlp_;
    const auto now = Clock::now();
    if (now >= deadline) {  // shutting down and out of time: not sent
      counters.failed.fetch_add(batch.size(), std::memory_order_relaxed);
      continue;
    }
    const auto timeout =
        deadline - now < kTimeout
            ? std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) +
                  std::chrono::milliseconds(1)
            : kTimeout;
    std::string& body = is_zipkin ? zipkin : otlp;
    if (body.empty())
      body = is_zipkin ? zipkin_json(service_name_, batch) : otlp_json(service_name_, batch);
    int status = 0;
    auto url = net::parse_url(target.url);
    if (url) {
      net::Request request;
      request.method = "POST";
      request.target = url->prefix.empty() ? "/" : url->prefix;  // the whole path
      url->prefix.clear();
      request.headers.emplace_back("Content-Type", "application/json");
      if (!target.bearer_token.empty())
        request.headers.emplace_back("Authorization", "Bearer " + target.bearer_token);
      request.body = body;
      auto response = net::send_request(*url, request, timeout);
      if (response) {
        status = response->status;
      } else {
        spdlog::debug("span export to {} failed: {}", target.url, response.error().reason);
      }
    } else {
      spdlog::debug("span export target: {}", url.error());
    }
    if (status >= 200 && status < 300) {
      counters.exported.fetch_add(batch.size(), std::memory_order_relaxed);
    } else {
      counters.failed.fetch_add(batch.size(), std::memory_order_relaxed);
    }
    std::lock_guard lock(codes_mutex_);
    ++requests_by_code_[{format_name(target.format), status}];
  }
}

std::uint64_t SpanExporter::submitted() const {
  std::uint64_t n = 0;
  for (const auto& ring : rings_) n += ring->submitted();
  return n;
}

std::uint64_t SpanExporter::dropped_queue_full() const {
  std::uint64_t n = 0;
  for (const auto& ring : rings_) n += ring->dropped();
  return n;
}

std::uint64_t SpanExporter::dropped() const {
  return dropped_queue_full() + export_failed(ExportTarget::Format::kOtlpJson) +
         export_failed(ExportTarget::Format::kZipkinJson);
}

std::uint64_t SpanExporter::exported(ExportTarget::Format format) const {
  return (format == ExportTarget::Format::kZipkinJson ? zipkin_ : otlp_)
      .exported.load(std::memory_order_relaxed);
}

std::uint64_t SpanExporter::export_failed(ExportTarget::Format format) const {
  return (format == ExportTarget::Format::kZipkinJson ? zipkin_ : otlp_)
      .failed.load(std::memory_order_relaxed);
}

void SpanExporter::render_metrics(std::string& out) const {
  auto it = std::back_inserter(out);
  fmt::format_to(it,
                 "# HELP strait_tracing_spans_submitted_total Sampled spans the workers handed to "
                 "the exporter.\n"
                 "# TYPE strait_tracing_spans_submitted_total counter\n"
                 "strait_tracing_spans_submitted_total {}\n",
                 submitted());
  fmt::format_to(
      it,
      "# HELP strait_tracing_spans_exported_total Spans a tracing provider accepted, by format.\n"
      "# TYPE strait_tracing_spans_exported_total counter\n"
      "strait_tracing_spans_exported_total{{format=\"otlp\"}} {}\n"
      "strait_tracing_spans_exported_total{{format=\"zipkin\"}} {}\n",
      exported(ExportTarget::Format::kOtlpJson), exported(ExportTarget::Format::kZipkinJson));
  fmt::format_to(
      it,
      "# HELP strait_tracing_spans_dropped_total Spans not delivered: a full queue, or a provider "
      "that failed or did not answer.\n"
      "# TYPE strait_tracing_spans_dropped_total counter\n"
      "strait_tracing_spans_dropped_total{{reason=\"queue_full\"}} {}\n"
      "strait_tracing_spans_dropped_total{{reason=\"export_failed\",format=\"otlp\"}} {}\n"
      "strait_tracing_spans_dropped_total{{reason=\"export_failed\",format=\"zipkin\"}} {}\n",
      dropped_queue_full(), export_failed(ExportTarget::Format::kOtlpJson),
      export_failed(ExportTarget::Format::kZipkinJson));
  fmt::format_to(
      it,
      "# HELP strait_tracing_export_requests_total Export requests by format and status (0: no "
      "answer).\n"
      "# TYPE strait_tracing_export_requests_total counter\n");
  std::lock_guard lock(codes_mutex_);
  for (const auto& [key, count] : requests_by_code_)
    fmt::format_to(it, "strait_tracing_export_requests_total{{format=\"{}\",code=\"{}\"}} {}\n",
                   key.first, key.second, count);
}

}  // namespace strait::proxy
