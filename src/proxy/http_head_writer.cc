#include "proxy/http_head_writer.h"

#include <fmt/format.h>

#include <algorithm>

#include "proxy/local_reply.h"
#include "proxy/peer_metadata.h"
#include "proxy/trace_context.h"

namespace strait::proxy {
namespace {

using http::iequals;

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

bool is_hop_by_hop(std::string_view name, const std::vector<http::HeaderField>& headers) {
  static constexpr std::string_view kAlways[] = {
      "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
      "proxy-authenticate", "proxy-authorization"};
  for (auto h : kAlways) {
    if (iequals(name, h)) return true;
  }
  for (const auto& field : headers) {
    if (iequals(field.name, "connection") && http::list_contains_token(field.value, name)) return true;
  }
  return false;
}

void write_request_head(const http::RequestHead& head, const RequestEdits& edits, std::string& out) {
  out.clear();
  out.append(head.method).append(" ").append(edits.path).append(" HTTP/1.1\r\n");
  bool wants_trailers = false;
  for (const auto& field : head.headers) {
    if (iequals(field.name, "te")) wants_trailers = http::list_contains_token(field.value, "trailers");
    if (is_hop_by_hop(field.name, head.headers)) continue;
    if (!edits.authority.empty() && iequals(field.name, "host")) continue;
    if (edits.strip_client_cert && iequals(field.name, "x-forwarded-client-cert")) continue;
    // The proxy's own, never an app's.
    if (iequals(field.name, kStatedPortHeader) || iequals(field.name, kPeerMetadataHeader))
      continue;
    if (iequals(field.name, "expect")) continue;  // answered by the proxy itself
    if (edits.trace != nullptr && is_trace_header(field.name)) continue;
    if (edits.headers.drops(field.name)) continue;
    append_field(out, field.name, field.value);
  }
  if (!edits.authority.empty()) append_field(out, "host", edits.authority);
  if (head.framing == http::BodyFraming::kChunked) append_field(out, "transfer-encoding", "chunked");
  if (wants_trailers) append_field(out, "te", "trailers");
  if (head.upgrade) {
    append_field(out, "connection", "upgrade");
    if (const auto* upgrade = head.find("upgrade")) append_field(out, "upgrade", upgrade->value);
  }
  // The fields the proxy adds, unless the route's edits replace or remove them; then the edits
  // (last, as on the HTTP/2 paths).
  if (!edits.request_id.empty() && !edits.headers.drops("x-request-id"))
    append_field(out, "x-request-id", edits.request_id);
  if (edits.add_forwarded_proto && !edits.headers.drops("x-forwarded-proto"))
    append_field(out, "x-forwarded-proto", "http");
  if (!edits.client_cert.empty()) append_field(out, "x-forwarded-client-cert", edits.client_cert);
  if (edits.stated_port != 0)
    append_field(out, kStatedPortHeader, std::to_string(edits.stated_port));
  if (!edits.peer_metadata.empty()) append_field(out, kPeerMetadataHeader, edits.peer_metadata);
  if (edits.trace != nullptr) {
    for (const auto& field : edits.trace->fields()) append_field(out, field.name, field.value);
  }
  edits.headers.for_each_added([&](const std::string& n, const std::string& v) { append_field(out, n, v); });
  out.append("\r\n");
}

void write_response_head(const http::ResponseHead& head, const ResponseEdits& edits,
                         std::string& out) {
  out.clear();
  out.append("HTTP/1.1 ").append(std::to_string(head.status)).append(" ");
  out.append(head.reason.empty() ? reason_phrase(head.status) : head.reason).append("\r\n");
  for (const auto& field : head.headers) {
    if (is_hop_by_hop(field.name, head.headers)) continue;
    if (edits.headers.drops(field.name)) continue;
    if (edits.fields != nullptr && replaced_by_proxy_fields(field.name, *edits.fields)) continue;
    append_field(out, field.name, field.value);
  }
  edits.headers.for_each_added([&](const std::string& n, const std::string& v) { append_field(out, n, v); });
  if (edits.fields != nullptr) {
    for (const auto& [n, v] : *edits.fields) append_field(out, n, v);
  }
  if (head.framing == http::BodyFraming::kChunked && !edits.dechunk)
    append_field(out, "transfer-encoding", "chunked");
  if (edits.upgrade) {
    append_field(out, "connection", "upgrade");
    if (const auto* upgrade = head.find("upgrade")) append_field(out, "upgrade", upgrade->value);
  } else if (edits.close) {
    append_field(out, "connection", "close");
  } else if (edits.keep_alive_10) {
    append_field(out, "connection", "keep-alive");
  }
  out.append("\r\n");
}

std::string format_request_id(std::uint64_t high, std::uint64_t low) {
  high = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;    // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');  // fits the small-string buffer? no (36 > 15): one allocation
  int position = 0;
  auto put = [&](std::uint64_t value, int digits) {
    for (int i = digits - 1; i >= 0; --i) out[position + i] = kHex[(value >> (4 * (digits - 1 - i))) & 0xf];
    position += digits + 1;  // skip the dash
  };
  put(high >> 32, 8);
  put((high >> 16) & 0xffff, 4);
  put(high & 0xffff, 4);
  put(low >> 48, 4);
  put(low & 0xffffffffffffULL, 12);
  return out;
}

}  // namespace strait::proxy
