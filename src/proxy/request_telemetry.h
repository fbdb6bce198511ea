// What one HTTP request reports when it ends: a series of the istio_* metrics
// (istio_metrics.h), from the sidecar's side of the call; when its trace is sampled, this hop's
// span (a server span inbound, a client span outbound), queued to the span exporter; and, when the
// workload's access log is on, its access log entry, queued to the access log writer (and, while
// straitd taps the proxy, the same entry to the request tap, request_tap.h). A
// session keeps one and reuses it request after request: begin() when a request head arrives, the
// setters as the request goes, finish() once its response is out (or it failed). Recording costs no
// lock and, once the worker's series exist, no allocation: the labels are written into the worker's
// reused buffer.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "proxy/access_log_record.h"
#include "proxy/local_reply.h"
#include "proxy/peer_metadata.h"
#include "proxy/span_record.h"
#include "proxy/telemetry_labels.h"
#include "proxy/trace_context.h"

namespace strait::proxy {

class Worker;
struct DownstreamInfo;
struct Destination;
struct EndpointSubset;

class RequestTelemetry {
 public:
  RequestTelemetry(Worker& worker, const DownstreamInfo& info) : worker_(worker), info_(info) {}
  RequestTelemetry(const RequestTelemetry&) = delete;
  RequestTelemetry& operator=(const RequestTelemetry&) = delete;
  ~RequestTelemetry() { finish(); }

  // A request whose head took `head_bytes`; `snapshot` must outlive finish(). `content_type` says
  // whether it is gRPC.
  void begin(const Snapshot& snapshot, std::size_t head_bytes, std::string_view content_type);
  [[nodiscard]] bool active() const { return snapshot_ != nullptr; }

  // Inbound over mTLS: the caller's kPeerMetadataHeader (copied).
  void set_peer(std::string_view metadata) { peer_.assign(metadata); }
  void set_destination(const Destination& destination);
  void set_endpoint(std::size_t index) { target_.endpoint = index; }
  void set_status(int status) { status_ = status; }
  void set_grpc_status(int status) { grpc_status_ = status; }
  // The status and flag of a response the proxy made itself.
  void local_reply(int status, LocalReason reason) {
    status_ = status;
    flags_ |= response_flag_for(reason);
  }
  void add_flag(std::uint16_t flag) { flags_ |= flag; }
  void add_request_bytes(std::uint64_t n) { request_bytes_ += n; }
  void add_response_bytes(std::uint64_t n) { response_bytes_ += n; }
  // The grpc-status of a response head or trailers, when the request is gRPC.
  void note_grpc_status(std::string_view value);

  // Tracing: continues the request's trace context (or starts a trace) with this hop's span,
  // sampled as an incoming decision says, else by the workload's sampling percentage. After
  // begin(); the request's fields are copied into the span when it is sampled, and into the
  // access log entry when the log is on.
  struct SpanRequest {
    std::string_view method, authority, path, protocol, request_id, user_agent;
  };
  void begin_span(const TraceHeaders& incoming, const SpanRequest& request);
  // The trace headers to send on (null before begin_span): they replace the incoming ones.
  [[nodiscard]] const OutgoingTraceHeaders* outgoing_trace() const {
    return outgoing_ ? &*outgoing_ : nullptr;
  }
  // The request id the proxy generated (the request came without one).
  void set_request_id(std::string_view id) {
    if (record_span_) span_.request_id.assign(id);
    if (filling_log()) log_.request_id.assign(id);
  }
  // An attempt's request went to the upstream; its response head arrived. The access log's
  // upstream_service_time is the last attempt's; without an access log no clock is read.
  void upstream_started() {
    if (filling_log()) upstream_start_ = std::chrono::steady_clock::now();
  }
  void upstream_answered();

  // Records the request (nothing when none began) and makes the telemetry ready for the next.
  void finish();

 private:
  Worker& worker_;
  const DownstreamInfo& info_;
  const Snapshot* snapshot_ = nullptr;
  std::chrono::steady_clock::time_point start_;
  TelemetryTarget target_;
  PeerMetadataCopy peer_;
  bool grpc_ = false;
  int status_ = 0;
  int grpc_status_ = -1;
  std::uint16_t flags_ = 0;
  std::uint64_t request_bytes_ = 0;
  std::uint64_t response_bytes_ = 0;
  std::optional<OutgoingTraceHeaders> outgoing_;
  bool record_span_ = false;
  SpanRecord span_{};
  std::chrono::steady_clock::time_point upstream_start_{};
  std::int64_t upstream_micros_ = -1;
  const EndpointSubset* subset_ = nullptr;
  // log_ is filled for the access log, the tap, or both.
  [[nodiscard]] bool filling_log() const { return write_log_ || tap_; }
  bool write_log_ = false;  // the workload's access log is on
  bool tap_ = false;        // straitd taps the proxy
  AccessLogRecord log_{};
};

// Finishes a session's request telemetry when a request's handling ends, whichever way it ends.
class TelemetryScope {
 public:
  explicit TelemetryScope(RequestTelemetry& telemetry) : telemetry_(telemetry) {}
  TelemetryScope(const TelemetryScope&) = delete;
  TelemetryScope& operator=(const TelemetryScope&) = delete;
  ~TelemetryScope() { telemetry_.finish(); }

 private:
  RequestTelemetry& telemetry_;
};

}  // namespace strait::proxy
