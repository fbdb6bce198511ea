// One access log entry, as a worker fills it at the end of a request or a TCP connection:
// fixed-size and trivially copyable, so that it is queued for the writer thread without allocating
// (access_log_writer.h). Its fields are Envoy's and Istio's (access_log_json.h names them).
#pragma once

#include <cstdint>

#include "proxy/fixed_text.h"
#include "proxy/trace_context.h"

namespace strait::proxy {

struct AccessLogRecord {
  bool tcp = false;      // an opaque TCP connection or tunnel (else one HTTP request)
  bool inbound = false;  // the server sidecar's side of the call (else the client's)
  std::int64_t start_unix_nanos = 0;
  std::int64_t duration_micros = 0;
  std::int64_t upstream_micros = -1;  // request sent upstream to response head; -1: none came
  int response_code = 0;              // 0: no response (and TCP)
  int grpc_status = -1;               // -1: not gRPC, or none
  std::uint64_t bytes_received = 0;   // from the downstream peer
  std::uint64_t bytes_sent = 0;       // to the downstream peer
  TraceId trace_id{};                 // zero: none
  FixedText<16> method;
  FixedText<8> protocol;  // HTTP/1.0, HTTP/1.1, HTTP/2 (empty for TCP)
  FixedText<128> authority;
  FixedText<256> path;  // as requested, with its query
  FixedText<64> response_flags;
  FixedText<200> upstream_cluster;  // Istio's "outbound|9080|v1|reviews.prod.svc.cluster.local"
  FixedText<64> upstream_host;      // host:port
  FixedText<64> downstream_remote_address;
  FixedText<160> downstream_peer;  // the caller's SPIFFE ID
  FixedText<64> request_id;
  FixedText<128> user_agent;
};

}  // namespace strait::proxy
