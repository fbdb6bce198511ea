#include "proxy/config.h"

namespace strait::proxy {

std::string_view name_of(Protocol protocol) {
  switch (protocol) {
    case Protocol::kHttp: return "http";
    case Protocol::kHttp2: return "http2";
    case Protocol::kGrpc: return "grpc";
    case Protocol::kTcp: return "tcp";
    case Protocol::kTls: return "tls";
  }
  return "tcp";
}

bool is_http(Protocol protocol) {
  return protocol == Protocol::kHttp || protocol == Protocol::kHttp2 || protocol == Protocol::kGrpc;
}

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string WorkloadIdentity::spiffe_id() const {
  return "spiffe://" + trust_domain + "/ns/" + ns + "/sa/" + service_account;
}

}  // namespace strait::proxy
