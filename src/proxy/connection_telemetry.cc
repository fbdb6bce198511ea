#include "proxy/connection_telemetry.h"

#include "common/time_text.h"
#include "proxy/access_log_upstream.h"
#include "proxy/access_log_writer.h"
#include "proxy/request_tap.h"
#include "proxy/router.h"
#include "proxy/worker.h"

namespace strait::proxy {

ConnectionTelemetry::ConnectionTelemetry(Worker& worker, const Snapshot& snapshot,
                                         const DownstreamInfo& info, const PeerMetadata& peer,
                                         const TelemetryTarget& target, std::uint16_t flags)
    : worker_(worker),
      write_log_(snapshot.config->access_log.enabled && worker.access_log() != nullptr),
      start_(std::chrono::steady_clock::now()) {
  tap_ = worker.tap() != nullptr && worker.tap()->tapping(start_);
  IstioLabels labels = telemetry_labels(snapshot, info, peer, target);
  labels.request_protocol = "tcp";
  char flag_text[64];
  labels.response_flags = format_response_flags(flags, flag_text);
  std::string& text = worker.label_buffer();
  write_istio_labels(labels, false, text);
  series_ = worker.istio_metrics().tcp.find_or_add(text);
  if (series_ != nullptr) series_->opened.add();
  if (!write_log_ && !tap_) return;
  log_.tcp = true;
  log_.inbound = info.kind == ListenerKind::kInbound;
  log_.start_unix_nanos = unix_nanos_now();
  log_.response_flags.assign(labels.response_flags);
  log_.downstream_remote_address.assign(info.source_ip);
  log_.downstream_peer.assign(log_.inbound ? std::string_view(info.peer_identity)
                                           : std::string_view(snapshot.self_spiffe_id));
  write_access_log_upstream(snapshot, target, nullptr, log_.inbound, log_);
}

ConnectionTelemetry::~ConnectionTelemetry() {
  if (series_ != nullptr) series_->closed.add();
  if (!write_log_ && !tap_) return;
  log_.duration_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - start_)
                             .count();
  const auto index = static_cast<std::size_t>(worker_.index());
  if (write_log_) worker_.access_log()->submit(index, log_);
  if (tap_) worker_.tap()->submit(index, log_);
}

}  // namespace strait::proxy
