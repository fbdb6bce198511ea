// The span exporter: bounded per-worker rings, batches POSTed to real local HTTP receivers, and a
// dead or silent provider that costs counted spans but never a worker's time or a slow shutdown.
#include "proxy/span_exporter.h"

#include <gtest/gtest.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/otlp_json.h"
#include "control/zipkin_json.h"

namespace strait::proxy {
namespace {

using std::chrono::steady_clock;
using namespace std::chrono_literals;

struct ReceivedRequest {
  std::string request_line;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;

  [[nodiscard]] std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "<absent>";
  }
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

// A tiny HTTP/1.1 server on 127.0.0.1 (an ephemeral port): one thread, blocking, one request per
// connection, answering every request with `status`.
class Receiver {
 public:
  explicit Receiver(int status = 200)
      : status_(status), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~Receiver() {
    stop_ = true;
    // Wakes the blocking accept with a connection of our own.
    asio::io_context io;
    asio::ip::tcp::socket wake(io);
    std::error_code ec;
    wake.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    thread_.join();
  }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

  // Waits until `count` requests have arrived (or `timeout`); all received so far.
  std::vector<ReceivedRequest> wait_for(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    arrived_.wait_for(lock, timeout, [&] { return received_.size() >= count; });
    return received_;
  }

 private:
  void serve() {
    while (!stop_) {
      asio::ip::tcp::socket socket(io_);
      std::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      ReceivedRequest request;
      if (!read_request(socket, request)) continue;
      const std::string answer = "HTTP/1.1 " + std::to_string(status_) +
                                 " Whatever\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      asio::write(socket, asio::buffer(answer), ec);
      std::lock_guard lock(mutex_);
      received_.push_back(std::move(request));
      arrived_.notify_all();
    }
  }

  static bool read_request(asio::ip::tcp::socket& socket, ReceivedRequest& out) {
    std::string data;
    std::error_code ec;
    const std::size_t head_size =
        asio::read_until(socket, asio::dynamic_buffer(data), "\r\n\r\n", ec);
    if (ec) return false;
    std::string_view head(data.data(), head_size - 4);
    std::size_t content_length = 0;
    bool first = true;
    while (!head.empty()) {
      const auto end = head.find("\r\n");
      const std::string_view line = head.substr(0, end);
      head.remove_prefix(end == std::string_view::npos ? head.size() : end + 2);
      if (first) {
        out.request_line = std::string(line);
        first = false;
        continue;
      }
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) return false;
      std::string value(line.substr(colon + 1));
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      out.headers.emplace_back(lower(std::string(line.substr(0, colon))), value);
      if (out.headers.back().first == "content-length") content_length = std::stoul(value);
    }
    out.body = data.substr(head_size);
    if (out.body.size() < content_length) {
      std::string rest(content_length - out.body.size(), '\0');
      asio::read(socket, asio::buffer(rest), ec);
      if (ec) return false;
      out.body += rest;
    }
    return true;
  }

  int status_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<ReceivedRequest> received_;
  std::thread thread_;
};

// A port on loopback where nothing listens (bound once, then closed).
std::uint16_t closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

// A listener that never accepts: connections complete in its backlog and are never answered.
class SilentListener {
 public:
  SilentListener() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {}
  [[nodiscard]] std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/v1/traces";
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
};

SpanRecord span(std::uint8_t n) {
  SpanRecord s;
  s.trace_id = new_trace_id();
  s.span_id = {n, 1, 1, 1, 1, 1, 1, 1};
  s.kind = SpanKind::kServer;
  s.start_unix_nanos = 1'700'000'000'000'000'000;
  s.end_unix_nanos = s.start_unix_nanos + 1'000'000;
  s.status_code = 200;
  s.method.assign("GET");
  s.authority.assign("reviews:9080");
  s.path.assign("/r");
  return s;
}

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

TEST(SpanExporter, AFullRingDropsAndCounts) {
  SpanExporter exporter("web-v1.shop", 2, 3);  // rounded up to 4
  int accepted = 0;
  for (int i = 0; i < 6; ++i) accepted += exporter.submit(0, span(1)) ? 1 : 0;
  EXPECT_EQ(accepted, 4);
  EXPECT_TRUE(exporter.submit(1, span(2)));   // the other worker's ring is its own
  EXPECT_FALSE(exporter.submit(7, span(3)));  // no such worker
  EXPECT_EQ(exporter.submitted(), 7u);
  EXPECT_EQ(exporter.dropped_queue_full(), 2u);
  EXPECT_EQ(exporter.dropped(), 2u);
  std::string metrics;
  exporter.render_metrics(metrics);
  EXPECT_TRUE(contains(metrics, "strait_tracing_spans_submitted_total 7\n")) << metrics;
  EXPECT_TRUE(contains(metrics, "strait_tracing_spans_dropped_total{reason=\"queue_full\"} 2\n"));
  EXPECT_TRUE(contains(metrics, "# TYPE strait_tracing_spans_exported_total counter\n"));
  // Without a target a flush empties the rings (nothing to send them to).
  exporter.flush();
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(exporter.submit(0, span(1)));
}

TEST(SpanExporter, SendsOtlpAndZipkinToEveryTarget) {
  Receiver otlp;
  Receiver zipkin;
  SpanExporter exporter("web-v1.shop", 2);
  exporter.set_targets({
      {ExportTarget::Format::kOtlpJson, otlp.url("/v1/traces"), "s3cret"},
      {ExportTarget::Format::kZipkinJson, zipkin.url("/api/v2/spans"), ""},
  });
  exporter.start();
  ASSERT_TRUE(exporter.submit(0, span(1)));
  ASSERT_TRUE(exporter.submit(1, span(2)));
  ASSERT_TRUE(exporter.submit(0, span(3)));

  // The thread sends within its 500 ms interval.
  const auto otlp_requests = otlp.wait_for(1, 10s);
  const auto zipkin_requests = zipkin.wait_for(1, 10s);
  ASSERT_EQ(otlp_requests.size(), 1u);
  ASSERT_EQ(zipkin_requests.size(), 1u);

  const auto& o = otlp_requests[0];
  EXPECT_EQ(o.request_line, "POST /v1/traces HTTP/1.1");
  EXPECT_EQ(o.header("content-type"), "application/json");
  EXPECT_EQ(o.header("authorization"), "Bearer s3cret");
  auto spans = control::parse_otlp_json(o.body);
  ASSERT_TRUE(spans) << spans.error();
  ASSERT_EQ(spans->size(), 3u);
  for (const auto& s : *spans) EXPECT_EQ(s.service, "web-v1.shop");

  const auto& z = zipkin_requests[0];
  EXPECT_EQ(z.request_line, "POST /api/v2/spans HTTP/1.1");
  EXPECT_EQ(z.header("content-type"), "application/json");
  EXPECT_EQ(z.header("authorization"), "<absent>");
  spans = control::parse_zipkin_json(z.body);
  ASSERT_TRUE(spans) << spans.error();
  ASSERT_EQ(spans->size(), 3u);
  EXPECT_EQ(spans->front().service, "web-v1.shop");

  // The counters follow the answers (the counters are updated right after them).
  const auto deadline = steady_clock::now() + 5s;
  while (exporter.exported(ExportTarget::Format::kZipkinJson) < 3 && steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(exporter.exported(ExportTarget::Format::kOtlpJson), 3u);
  EXPECT_EQ(exporter.exported(ExportTarget::Format::kZipkinJson), 3u);
  EXPECT_EQ(exporter.dropped(), 0u);
  std::string metrics;
  exporter.render_metrics(metrics);
  EXPECT_TRUE(contains(metrics, "strait_tracing_spans_exported_total{format=\"otlp\"} 3\n"))
      << metrics;
  EXPECT_TRUE(
      contains(metrics, "strait_tracing_export_requests_total{format=\"otlp\",code=\"200\"} 1\n"));
  EXPECT_TRUE(contains(metrics,
                       "strait_tracing_export_requests_total{format=\"zipkin\",code=\"200\"} 1\n"));
}

TEST(SpanExporter, BatchesHoldAtMost512Spans) {
  Receiver receiver;
  SpanExporter exporter("web-v1.shop", 1, 1024);
  exporter.set_targets({{ExportTarget::Format::kZipkinJson, receiver.url("/api/v2/spans"), ""}});
  for (int i = 0; i < 700; ++i) ASSERT_TRUE(exporter.submit(0, span(1)));
  exporter.flush();
  const auto requests = receiver.wait_for(2, 10s);
  ASSERT_EQ(requests.size(), 2u);
  auto first = control::parse_zipkin_json(requests[0].body);
  auto second = control::parse_zipkin_json(requests[1].body);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->size(), 512u);
  EXPECT_EQ(second->size(), 188u);
  EXPECT_EQ(exporter.exported(ExportTarget::Format::kZipkinJson), 700u);
}

TEST(SpanExporter, ARefusingOrDeadTargetCountsExportFailed) {
  Receiver refusing(503);
  SpanExporter exporter("web-v1.shop", 1);
  exporter.set_targets({
      {ExportTarget::Format::kOtlpJson, refusing.url("/v1/traces"), ""},
      {ExportTarget::Format::kZipkinJson,
       "http://127.0.0.1:" + std::to_string(closed_port()) + "/api/v2/spans", ""},
      {ExportTarget::Format::kOtlpJson, "https://127.0.0.1:1/v1/traces", ""},  // not supported
  });
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(exporter.submit(0, span(1)));
  exporter.flush();
  EXPECT_EQ(refusing.wait_for(1, 10s).size(), 1u);
  EXPECT_EQ(exporter.exported(ExportTarget::Format::kOtlpJson), 0u);
  EXPECT_EQ(exporter.export_failed(ExportTarget::Format::kOtlpJson), 10u);  // two targets
  EXPECT_EQ(exporter.export_failed(ExportTarget::Format::kZipkinJson), 5u);
  EXPECT_EQ(exporter.dropped(), 15u);
  std::string metrics;
  exporter.render_metrics(metrics);
  EXPECT_TRUE(contains(
      metrics, "strait_tracing_spans_dropped_total{reason=\"export_failed\",format=\"otlp\"} 10\n"))
      << metrics;
  EXPECT_TRUE(contains(
      metrics,
      "strait_tracing_spans_dropped_total{reason=\"export_failed\",format=\"zipkin\"} 5\n"));
  EXPECT_TRUE(
      contains(metrics, "strait_tracing_export_requests_total{format=\"otlp\",code=\"503\"} 1\n"));
  EXPECT_TRUE(
      contains(metrics, "strait_tracing_export_requests_total{format=\"otlp\",code=\"0\"} 1\n"));
  EXPECT_TRUE(
      contains(metrics, "strait_tracing_export_requests_total{format=\"zipkin\",code=\"0\"} 1\n"));
  // Not retried: the rings are empty after the failure.
  exporter.flush();
  EXPECT_EQ(exporter.export_failed(ExportTarget::Format::kZipkinJson), 5u);
}

TEST(SpanExporter, ASilentTargetNeverStallsSubmitAndShutdownIsBounded) {
  SilentListener silent;
  steady_clock::duration longest_submit{};
  steady_clock::time_point destroy_start;
  {
    SpanExporter exporter("web-v1.shop", 1, 64);
    exporter.set_targets({{ExportTarget::Format::kOtlpJson, silent.url(), ""}});
    exporter.start();
    // The exporter thread soon blocks on the silent target (up to 2 s per batch); the worker
    // keeps submitting, and a full ring drops.
    const auto until = steady_clock::now() + 1500ms;
    int submitted = 0;
    while (steady_clock::now() < until) {
      const auto before = steady_clock::now();
      exporter.submit(0, span(1));
      longest_submit = std::max(longest_submit, steady_clock::now() - before);
      ++submitted;
      if (submitted % 64 == 0) std::this_thread::sleep_for(1ms);
    }
    EXPECT_GT(exporter.dropped_queue_full(), 0u);
    destroy_start = steady_clock::now();
  }
  const auto shutdown = steady_clock::now() - destroy_start;
  // A submit is a copy into the ring: far below any network wait even under sanitizers.
  EXPECT_LT(longest_submit, 100ms);
  // The send in progress and the final flush, together within 2 s of the destructor's call.
  EXPECT_LT(shutdown, 3500ms);
}

TEST(SpanExporter, ShutsDownPromptlyWhenIdle) {
  const auto start = steady_clock::now();
  {
    SpanExporter exporter("web-v1.shop", 4);
    exporter.start();
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_LT(steady_clock::now() - start, 1s);
}

TEST(SpanExporter, SendsWhatIsLeftWhenDestroyed) {
  Receiver receiver;
  {
    SpanExporter exporter("web-v1.shop", 1);
    exporter.set_targets({{ExportTarget::Format::kOtlpJson, receiver.url("/v1/traces"), ""}});
    exporter.start();
    ASSERT_TRUE(exporter.submit(0, span(1)));
  }  // before the first 500 ms interval is over
  const auto requests = receiver.wait_for(1, 5s);
  ASSERT_EQ(requests.size(), 1u);
  auto spans = control::parse_otlp_json(requests[0].body);
  ASSERT_TRUE(spans) << spans.error();
  EXPECT_EQ(spans->size(), 1u);
}

}  // namespace
}  // namespace strait::proxy
