#include "proxy/access_log_json.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <string_view>

namespace strait::proxy {
namespace {

// JSON string contents: quotes, backslashes and control characters escaped; other bytes as they
// are (the record's text is cut at UTF-8 boundaries).
void append_escaped(std::string_view text, std::string& out) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte < 0x20 || byte == 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", byte);
    } else {
      out.push_back(c);
    }
  }
}

void text_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(",\"").append(name).append("\":");
  if (value.empty()) {
    out.append("null");
    return;
  }
  out.push_back('"');
  append_escaped(value, out);
  out.push_back('"');
}

void number_field(std::string& out, std::string_view name, std::int64_t value) {
  fmt::format_to(std::back_inserter(out), ",\"{}\":{}", name, value);
}

void null_field(std::string& out, std::string_view name) {
  out.append(",\"").append(name).append("\":null");
}

void start_time(std::string& out, std::int64_t unix_nanos) {
  const std::time_t seconds = static_cast<std::time_t>(unix_nanos / 1'000'000'000);
  const auto millis = (unix_nanos / 1'000'000) % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  fmt::format_to(
      std::back_inserter(out), "{{\"start_time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\"",
      utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
}

}  // namespace

void append_access_log_json(const AccessLogRecord& r, std::string& out) {
  start_time(out, r.start_unix_nanos);
  text_field(out, "kind", r.tcp ? "tcp" : "http");
  text_field(out, "direction", r.inbound ? "inbound" : "outbound");
  text_field(out, "method", r.method.view());
  text_field(out, "authority", r.authority.view());
  text_field(out, "path", r.path.view());
  text_field(out, "protocol", r.protocol.view());
  if (r.tcp)
    null_field(out, "response_code");
  else
    number_field(out, "response_code", r.response_code);
  text_field(out, "response_flags", r.response_flags.empty() ? "-" : r.response_flags.view());
  if (r.grpc_status >= 0)
    number_field(out, "grpc_status", r.grpc_status);
  else
    null_field(out, "grpc_status");
  number_field(out, "bytes_received", static_cast<std::int64_t>(r.bytes_received));
  number_field(out, "bytes_sent", static_cast<std::int64_t>(r.bytes_sent));
  number_field(out, "duration", r.duration_micros / 1000);
  if (r.upstream_micros >= 0)
    number_field(out, "upstream_service_time", r.upstream_micros / 1000);
  else
    null_field(out, "upstream_service_time");
  text_field(out, "upstream_host", r.upstream_host.view());
  text_field(out, "upstream_cluster", r.upstream_cluster.view());
  text_field(out, "downstream_remote_address", r.downstream_remote_address.view());
  text_field(out, "downstream_peer_principal", r.downstream_peer.view());
  text_field(out, "request_id", r.request_id.view());
  if (!is_zero(r.trace_id)) {
    char hex[32];
    write_hex(r.trace_id, hex);
    text_field(out, "trace_id", {hex, sizeof hex});
  } else {
    null_field(out, "trace_id");
  }
  text_field(out, "user_agent", r.user_agent.view());
  out.append("}\n");
}

}  // namespace strait::proxy
