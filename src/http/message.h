// HTTP/1 message heads as parsed: views into the connection's read buffer (zero-copy).
// A view stays valid until the buffer it points into is compacted or refilled; callers serialize
// what they forward before reading further.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace strait::http {

struct HeaderField {
  std::string_view name;   // as received (case preserved); compare with iequals()
  std::string_view value;  // leading and trailing OWS removed
};

// How a message body is delimited (RFC 9112 section 6).
enum class BodyFraming : std::uint8_t {
  kNone,           // no body: CONNECT, 1xx/204/304, HEAD responses, requests without CL/TE
  kContentLength,  // exactly content_length bytes
  kChunked,        // Transfer-Encoding: chunked
  kUntilClose,     // responses only: read until the connection closes
};

struct RequestHead {
  std::string_view method;
  std::string_view target;  // request-target as sent: origin, absolute, authority or asterisk form
  int version_minor = 1;    // HTTP/1.<version_minor>
  std::vector<HeaderField> headers;
  BodyFraming framing = BodyFraming::kNone;
  std::uint64_t content_length = 0;
  bool keep_alive = true;        // from version and Connection
  bool expect_continue = false;  // Expect: 100-continue
  bool upgrade = false;          // Connection: upgrade with an Upgrade header
  std::size_t head_size = 0;     // bytes of the head including the final CRLF CRLF

  // First header with this name (case-insensitive), or nullptr.
  [[nodiscard]] const HeaderField* find(std::string_view name) const;
};

struct ResponseHead {
  int version_minor = 1;
  int status = 0;
  std::string_view reason;
  std::vector<HeaderField> headers;
  BodyFraming framing = BodyFraming::kNone;
  std::uint64_t content_length = 0;
  bool keep_alive = true;
  std::size_t head_size = 0;

  [[nodiscard]] const HeaderField* find(std::string_view name) const;
};

// ASCII case-insensitive equality, as header names and tokens need.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b);

// True when the comma-separated list `value` contains `token` (case-insensitive, OWS ignored).
[[nodiscard]] bool list_contains_token(std::string_view value, std::string_view token);

}  // namespace strait::http
