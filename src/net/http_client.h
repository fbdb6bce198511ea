// A small blocking HTTP/1.1 client, for straitctl and the proxy's span exporter (off the request
// path): one request per connection, plain TCP.
// Errors are values; nothing throws out of here.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strait::net {

// An http:// base URL: "http://HOST[:PORT][/PREFIX]" (a bare "HOST:PORT" means http too).
struct Url {
  std::string text;  // as given, for messages
  std::string host;  // without IPv6 brackets
  std::uint16_t port = 80;
  std::string prefix;  // path prefix without a trailing slash ("" or "/x")
};

// Refuses https:// (not supported yet) and anything malformed, with a one-line reason that starts
// with the URL ("http://x:0: bad port '0'").
[[nodiscard]] std::expected<Url, std::string> parse_url(std::string_view text);

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";
  std::string target = "/";  // origin-form; the URL's prefix is prepended
  Headers headers;           // Host, Connection and Content-Length are added
  std::string body;
};

struct Response {
  int status = 0;
  std::string reason;
  Headers headers;
  std::string body;

  // The first header with this name (case-insensitive), or "".
  [[nodiscard]] std::string header(std::string_view name) const;
};

struct TransportError {
  enum class Kind : std::uint8_t { kConnect, kTimeout, kProtocol, kIo };
  Kind kind = Kind::kIo;
  std::string reason;  // lower-case, one line ("connection refused", "timed out after 10s", ...)
};

// Sends one request and reads the whole response (Content-Length, chunked, or until close).
// `timeout` bounds the connect and each wait for the peer.
[[nodiscard]] std::expected<Response, TransportError> send_request(
    const Url& url, const Request& request,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace strait::net
