#include "agent/tap_report.h"

#include <algorithm>

#include "proxy/trace_context.h"

namespace strait::agent {

mesh::v1::TapEvent tap_event_from(const proxy::AccessLogRecord& r) {
  mesh::v1::TapEvent e;
  e.set_start_unix_nanos(r.start_unix_nanos);
  e.set_inbound(r.inbound);
  e.set_tcp(r.tcp);
  e.set_method(std::string(r.method.view()));
  e.set_authority(std::string(r.authority.view()));
  e.set_path(std::string(r.path.view()));
  e.set_protocol(std::string(r.protocol.view()));
  e.set_response_code(r.response_code);
  e.set_grpc_status(r.grpc_status);
  e.set_duration_micros(r.duration_micros);
  e.set_response_flags(std::string(r.response_flags.view()));
  e.set_peer(std::string(r.downstream_peer.view()));
  e.set_downstream_address(std::string(r.downstream_remote_address.view()));
  e.set_upstream_cluster(std::string(r.upstream_cluster.view()));
  e.set_upstream_host(std::string(r.upstream_host.view()));
  e.set_request_id(std::string(r.request_id.view()));
  if (!proxy::is_zero(r.trace_id)) e.set_trace_id(proxy::hex_text(r.trace_id));
  e.set_bytes_received(r.bytes_received);
  e.set_bytes_sent(r.bytes_sent);
  return e;
}

mesh::v1::TapBatch tap_batch_from(const std::vector<proxy::AccessLogRecord>& records,
                                  std::uint64_t dropped) {
  mesh::v1::TapBatch batch;
  // The workers' rings are drained one after another: order the batch by start time.
  std::vector<const proxy::AccessLogRecord*> ordered;
  ordered.reserve(records.size());
  for (const auto& r : records) ordered.push_back(&r);
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) {
    return a->start_unix_nanos < b->start_unix_nanos;
  });
  for (const auto* r : ordered) *batch.add_events() = tap_event_from(*r);
  batch.set_dropped(dropped);
  return batch;
}

}  // namespace strait::agent
