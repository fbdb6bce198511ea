#include "proxy/connection_telemetry.h"

#include "proxy/router.h"
#include "proxy/worker.h"

namespace strait::proxy {

ConnectionTelemetry::ConnectionTelemetry(Worker& worker, const Snapshot& snapshot,
                                         const DownstreamInfo& info, const PeerMetadata& peer,
                                         const TelemetryTarget& target, std::uint16_t flags) {
  IstioLabels labels = telemetry_labels(snapshot, info, peer, target);
  labels.request_protocol = "tcp";
  char flag_text[64];
  labels.response_flags = format_response_flags(flags, flag_text);
  std::string& text = worker.label_buffer();
  write_istio_labels(labels, false, text);
  series_ = worker.istio_metrics().tcp.find_or_add(text);
  if (series_ != nullptr) series_->opened.add();
}

ConnectionTelemetry::~ConnectionTelemetry() {
  if (series_ != nullptr) series_->closed.add();
}

}  // namespace strait::proxy
