#include "proxy/local_reply.h"

#include <fmt/format.h>

namespace strait::proxy {

std::string_view name_of(LocalReason reason) {
  switch (reason) {
    case LocalReason::kMalformedRequest: return "malformed_request";
    case LocalReason::kHeaderTimeout: return "request_header_timeout";
    case LocalReason::kNoRoute: return "no_route";
    case LocalReason::kNoHealthyUpstream: return "no_healthy_upstream";
    case LocalReason::kUpstreamConnectFailed: return "upstream_connect_failed";
    case LocalReason::kUpstreamConnectTimeout: return "upstream_connect_timeout";
    case LocalReason::kUpstreamTlsFailed: return "upstream_tls_handshake_failed";
    case LocalReason::kUpstreamIdentityMismatch: return "upstream_identity_mismatch";
    case LocalReason::kUpstreamResetBeforeResponse: return "upstream_reset_before_response";
    case LocalReason::kUpstreamProtocolError: return "upstream_protocol_error";
    case LocalReason::kUpstreamTimeout: return "upstream_timeout";
    case LocalReason::kUpstreamResponseTimeout: return "upstream_response_timeout";
    case LocalReason::kMethodNotAllowed: return "method_not_allowed";
    case LocalReason::kUnknownInboundPort: return "unknown_inbound_port";
    case LocalReason::kDirectResponse: return "direct_response";
    case LocalReason::kRedirect: return "redirect";
    case LocalReason::kFaultAbort: return "fault_abort";
    case LocalReason::kUpstreamOverflow: return "upstream_overflow";
    case LocalReason::kCorsPreflight: return "cors_preflight";
    case LocalReason::kRateLimited:
      return "rate_limited";
    case LocalReason::kRbacDenied:
      return "rbac_denied";
    case LocalReason::kJwtInvalid:
      return "jwt_invalid";
    case LocalReason::kMtlsRequired:
      return "mtls_required";
    case LocalReason::kCount: break;
  }
  return "unknown";
}

std::string_view reason_phrase(int status) {
  switch (status) {
    // RFC 9110 section 15, plus the registered codes applications commonly send.
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string build_local_reply(int status, std::string_view reason_name, std::string_view detail,
                              bool close_connection) {
  std::string body(reason_name);
  if (!detail.empty()) body.append(": ").append(detail);
  body.push_back('\n');
  return fmt::format(
      "HTTP/1.1 {} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nx-strait-reason: "
      "{}\r\n{}\r\n{}",
      status, reason_phrase(status), body.size(), reason_name,
      close_connection ? "connection: close\r\n" : "", body);
}

std::string build_local_reply(int status, LocalReason reason, std::string_view detail,
                              bool close_connection) {
  return build_local_reply(status, name_of(reason), detail, close_connection);
}

std::string build_local_response(const LocalResponse& response, bool close_connection, bool head_request) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\nx-strait-reason: {}\r\n", response.status,
                                reason_phrase(response.status), name_of(response.reason));
  if (!response.location.empty() && !response.edits.drops("location"))
    out += fmt::format("location: {}\r\n", response.location);
  if (response.grpc_status >= 0) {
    out += fmt::format("content-type: application/grpc\r\ngrpc-status: {}\r\ngrpc-message: {}\r\n",
                       response.grpc_status, name_of(response.reason));
  } else if (!response.body.empty() && !response.edits.drops("content-type")) {
    out += fmt::format("content-type: {}\r\n", response.content_type);
  }
  response.edits.for_each_added([&](const std::string& n, const std::string& v) { out += n + ": " + v + "\r\n"; });
  for (const auto& [n, v] : response.fields) out += n + ": " + v + "\r\n";
  const bool no_length = response.status == 204 || response.status == 304;
  if (!no_length) out += fmt::format("content-length: {}\r\n", response.body.size());
  out += fmt::format("{}\r\n", close_connection ? "connection: close\r\n" : "");
  if (response_has_body(response.status, head_request)) out += response.body;
  return out;
}

}  // namespace strait::proxy
