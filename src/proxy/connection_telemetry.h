// What an opaque TCP connection (a TCP port, a CONNECT tunnel) reports: the istio_tcp_* metrics
// (istio_metrics.h). Its series is found once, when the connection's peer and destination are
// known; bytes are counted into it as they move, so a long connection shows its traffic while it
// lasts; the close is counted when this object goes, and then, when the workload's access log is
// on, the connection's access log entry is queued to the writer.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "proxy/access_log_record.h"
#include "proxy/istio_metrics.h"
#include "proxy/peer_metadata.h"
#include "proxy/telemetry_labels.h"

namespace strait::proxy {

class Worker;
struct DownstreamInfo;

class ConnectionTelemetry {
 public:
  // Opens the connection's series. `peer` is the caller's metadata (inbound over mTLS).
  ConnectionTelemetry(Worker& worker, const Snapshot& snapshot, const DownstreamInfo& info,
                      const PeerMetadata& peer, const TelemetryTarget& target, std::uint16_t flags);
  ConnectionTelemetry(const ConnectionTelemetry&) = delete;
  ConnectionTelemetry& operator=(const ConnectionTelemetry&) = delete;
  ~ConnectionTelemetry();

  // Where bytes sent to the downstream peer and received from it are counted (null: the worker's
  // table was full).
  [[nodiscard]] Counter* sent() { return series_ != nullptr ? &series_->sent : nullptr; }
  [[nodiscard]] Counter* received() { return series_ != nullptr ? &series_->received : nullptr; }
  // The connection's totals, once its bytes stopped moving (for its access log entry).
  void set_bytes(std::uint64_t received, std::uint64_t sent) {
    log_.bytes_received = received;
    log_.bytes_sent = sent;
  }

 private:
  TcpSeries* series_ = nullptr;
  Worker& worker_;
  bool write_log_ = false;  // the access log is on
  bool tap_ = false;        // straitd taps the proxy (either: log_ is filled)
  std::chrono::steady_clock::time_point start_;
  AccessLogRecord log_{};
};

}  // namespace strait::proxy
