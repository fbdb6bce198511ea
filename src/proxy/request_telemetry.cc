#include "proxy/request_telemetry.h"

#include <charconv>

#include "common/time_text.h"
#include "proxy/access_log_upstream.h"
#include "proxy/access_log_writer.h"
#include "proxy/request_tap.h"
#include "proxy/router.h"
#include "proxy/span_exporter.h"
#include "proxy/worker.h"

namespace strait::proxy {

void RequestTelemetry::begin(const Snapshot& snapshot, std::size_t head_bytes,
                             std::string_view content_type) {
  finish();
  snapshot_ = &snapshot;
  start_ = std::chrono::steady_clock::now();
  target_ = {};
  peer_.assign({});
  grpc_ = content_type.starts_with("application/grpc");
  status_ = 0;
  grpc_status_ = -1;
  flags_ = 0;
  request_bytes_ = head_bytes;
  response_bytes_ = 0;
  outgoing_.reset();
  record_span_ = false;
  upstream_start_ = {};
  upstream_micros_ = -1;
  subset_ = nullptr;
  write_log_ = snapshot.config->access_log.enabled && worker_.access_log() != nullptr;
  tap_ = worker_.tap() != nullptr && worker_.tap()->tapping(start_);
  if (filling_log()) {
    log_ = AccessLogRecord{};
    log_.inbound = info_.kind == ListenerKind::kInbound;
    log_.start_unix_nanos = unix_nanos_now();
    log_.downstream_remote_address.assign(info_.source_ip);
    // The caller: the peer sidecar's verified identity inbound, this workload outbound.
    log_.downstream_peer.assign(log_.inbound ? std::string_view(info_.peer_identity)
                                             : std::string_view(snapshot.self_spiffe_id));
  }
}

void RequestTelemetry::upstream_answered() {
  if (upstream_start_ == std::chrono::steady_clock::time_point{}) return;
  upstream_micros_ = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::steady_clock::now() - upstream_start_)
                         .count();
}

void RequestTelemetry::begin_span(const TraceHeaders& incoming, const SpanRequest& request) {
  if (snapshot_ == nullptr) return;
  const TracingConfig& tracing = snapshot_->config->tracing;
  TraceContext context = parse_trace_context(incoming);
  SpanId parent{};
  if (context.has_ids) {
    parent = context.span_id;
  } else {
    context.trace_id = new_trace_id();
  }
  if (context.sampling == Sampling::kUnset)
    context.sampling =
        sample(tracing.sampling_percent) ? Sampling::kSampled : Sampling::kNotSampled;
  const SpanId span = new_span_id();
  outgoing_.emplace(context, span, parent);
  if (filling_log()) {
    log_.trace_id = context.trace_id;
    log_.method.assign(request.method);
    log_.authority.assign(request.authority);
    log_.path.assign(request.path);
    log_.protocol.assign(request.protocol);
    log_.request_id.assign(request.request_id);
    log_.user_agent.assign(request.user_agent);
  }
  record_span_ = context.sampling == Sampling::kSampled && tracing.report_spans &&
                 worker_.span_exporter() != nullptr;
  if (!record_span_) return;
  span_.trace_id = context.trace_id;
  span_.span_id = span;
  span_.parent_span_id = parent;
  span_.kind = info_.kind == ListenerKind::kInbound ? SpanKind::kServer : SpanKind::kClient;
  span_.start_unix_nanos = unix_nanos_now();
  span_.method.assign(request.method);
  span_.authority.assign(request.authority);
  span_.path.assign(request.path.substr(0, request.path.find('?')));
  span_.protocol.assign(request.protocol);
  span_.request_id.assign(request.request_id);
  span_.user_agent.assign(request.user_agent);
  span_.peer_address.assign(info_.source_ip);
  span_.upstream_cluster.assign({});
  span_.upstream_host.assign({});
}

void RequestTelemetry::set_destination(const Destination& destination) {
  target_.service = destination.service;
  target_.port = destination.port;
  subset_ = destination.subset;
}

void RequestTelemetry::note_grpc_status(std::string_view value) {
  int parsed = 0;
  if (grpc_ && std::from_chars(value.data(), value.data() + value.size(), parsed).ec == std::errc{})
    grpc_status_ = parsed;
}

void RequestTelemetry::finish() {
  if (snapshot_ == nullptr) return;
  IstioLabels labels = telemetry_labels(*snapshot_, info_, peer_.get(), target_);
  labels.request_protocol = grpc_ ? "grpc" : "http";
  labels.response_code = status_;
  if (grpc_) labels.grpc_response_status = grpc_status_;
  char flags[64];
  labels.response_flags = format_response_flags(flags_, flags);
  std::string& text = worker_.label_buffer();
  write_istio_labels(labels, true, text);
  if (HttpSeries* series = worker_.istio_metrics().http.find_or_add(text)) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - start_)
                            .count();
    series->requests.add();
    series->duration.observe(static_cast<std::uint64_t>(micros), 1000.0);
    series->request_bytes.observe(request_bytes_, 1.0);
    series->response_bytes.observe(response_bytes_, 1.0);
  }
  if (record_span_) {
    span_.end_unix_nanos = unix_nanos_now();
    span_.status_code = status_;
    span_.error = status_ == 0 || status_ >= 500;
    span_.response_flags.assign(labels.response_flags);
    if (target_.service != nullptr) {
      span_.upstream_cluster.assign(target_.service->service->fqdn);
      if (target_.endpoint < target_.service->endpoint_names.size())
        span_.upstream_host.assign(target_.service->endpoint_names[target_.endpoint]);
    }
    worker_.span_exporter()->submit(static_cast<std::size_t>(worker_.index()), span_);
    record_span_ = false;
  }
  if (filling_log()) {
    log_.duration_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::steady_clock::now() - start_)
                               .count();
    log_.upstream_micros = upstream_micros_;
    log_.response_code = status_;
    log_.grpc_status = grpc_ ? grpc_status_ : -1;
    log_.bytes_received = request_bytes_;
    log_.bytes_sent = response_bytes_;
    log_.response_flags.assign(labels.response_flags);
    write_access_log_upstream(*snapshot_, target_, subset_, log_.inbound, log_);
    const auto worker = static_cast<std::size_t>(worker_.index());
    if (write_log_) worker_.access_log()->submit(worker, log_);
    if (tap_) worker_.tap()->submit(worker, log_);
    write_log_ = tap_ = false;
  }
  snapshot_ = nullptr;
}

}  // namespace strait::proxy
