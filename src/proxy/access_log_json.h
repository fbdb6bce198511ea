// An access log entry as one line of JSON, with the field names of Istio's JSON access log
// (start_time, method, path, protocol, response_code, response_flags, bytes_received, bytes_sent,
// duration, upstream_service_time, user_agent, request_id, authority, upstream_host,
// upstream_cluster, downstream_remote_address) plus trace_id, downstream_peer_principal (the
// caller's SPIFFE ID), grpc_status, direction and kind. Absent values are null; durations are in
// milliseconds, as Envoy's; start_time is RFC 3339 UTC with milliseconds.
#pragma once

#include <string>

#include "proxy/access_log_record.h"

namespace strait::proxy {

// Appends the entry and a newline to `out`. Allocation-free once `out` has the capacity.
void append_access_log_json(const AccessLogRecord& record, std::string& out);

}  // namespace strait::proxy
