// Strict, incremental HTTP/1.1 head parser (RFC 9110 / RFC 9112) and chunked-body decoder.
//
// The parser is the proxy's first line of defence against request smuggling: anything ambiguous
// is an error, never a guess. It is incremental in the sense that callers hand it whatever bytes
// they have; it answers kNeedMore until a whole head is present. It never allocates except for the
// header vector, and returns views into the caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.h"

namespace strait::http {

struct ParserLimits {
  std::size_t max_request_line = 8 * 1024;    // longer: 414 URI Too Long
  std::size_t max_head_size = 60 * 1024;      // whole head; longer: 431
  std::size_t max_header_count = 100;         // more: 431
};

enum class ParseStatus : std::uint8_t { kComplete, kNeedMore, kError };

// Why a head was refused. Each maps to the status code a server answers with (status_for()).
enum class ParseError : std::uint8_t {
  kNone,
  kBadRequestLine,         // 400
  kBadVersion,             // 400: malformed HTTP-version
  kUnsupportedVersion,     // 505
  kRequestLineTooLong,     // 414
  kHeadTooLarge,           // 431
  kTooManyHeaders,         // 431
  kBadHeaderName,          // 400: empty, non-token, whitespace before colon
  kBadHeaderValue,         // 400: CR, LF, NUL or other CTL in a value
  kObsFold,                // 400: line folding is refused (RFC 9112 5.2)
  kBareLf,                 // 400: a line ended by LF without CR
  kMissingHost,            // 400: HTTP/1.1 request without Host
  kDuplicateHost,          // 400
  kBadContentLength,       // 400: not digits, overflow, or differing values
  kContentLengthWithTransferEncoding,  // 400: both present (smuggling shape)
  kTransferEncodingNotChunkedLast,     // 400: request TE whose final coding is not chunked
  kUnsupportedTransferEncoding,        // 501: a coding other than chunked
  kTransferEncodingInHttp10,           // 400
  kBadStatusLine,          // responses: malformed status line (the proxy answers 502)
};

// The status code a server answers a request-head error with (400, 414, 431, 501, 505).
[[nodiscard]] int status_for(ParseError error);
// A short snake_case name for logs, stats and x-strait-reason (e.g. "obs_fold").
[[nodiscard]] std::string_view name_of(ParseError error);

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  ParseError error = ParseError::kNone;
};

// Parses a request head from the start of `data`. Leading empty lines (CRLF) before the request line
// are skipped (RFC 9112 2.2) and counted in head_size. On kComplete, `out` is filled and
// out.head_size says where the body starts. On kNeedMore the caller appends bytes and calls again
// (after checking that data.size() has not exceeded limits.max_head_size: the parser reports
// kHeadTooLarge / kRequestLineTooLong itself once the limit is passed without a complete head).
[[nodiscard]] ParseResult parse_request_head(std::string_view data, const ParserLimits& limits,
                                             RequestHead& out);

// Parses a response head. `request_method` decides the framing (HEAD and CONNECT-2xx have no body).
[[nodiscard]] ParseResult parse_response_head(std::string_view data, const ParserLimits& limits,
                                              std::string_view request_method, ResponseHead& out);

// Incremental decoder of a chunked body (RFC 9112 7.1), trailers included. Chunk extensions are
// validated and skipped; trailer fields are validated like header fields.
class ChunkedDecoder {
 public:
  enum class Status : std::uint8_t {
    kNeedMore,  // consumed everything offered and needs more input
    kData,      // `data` holds body bytes (a view into the input)
    kDone,      // the last chunk and the trailer section have been consumed
    kError,     // malformed: bad hex, overflow, missing CRLF, bad extension or trailer
  };
  struct Step {
    Status status = Status::kNeedMore;
    std::size_t consumed = 0;  // input bytes used by this step (framing and data)
    std::string_view data;     // with kData
  };

  explicit ChunkedDecoder(std::size_t max_trailer_size = 16 * 1024) : max_trailer_(max_trailer_size) {}

  // Decodes from the start of `input`. Call repeatedly with the unconsumed rest; each call returns at
  // most one data span. A caller forwarding the body verbatim writes input[0, consumed) per step.
  [[nodiscard]] Step next(std::string_view input);

  [[nodiscard]] bool done() const { return state_ == State::kDone; }

  // When set, the trailer field lines (each "name: value\r\n", validated) are appended to `out` as
  // they are decoded, for a recipient that needs them as fields (HTTP/2 trailers).
  void capture_trailers(std::string* out) { trailer_capture_ = out; }

 private:
  // One state per position in the grammar; the decoder advances one framing byte at a time.
  enum class State : std::uint8_t {
    kSize,           // chunk-size hex digits
    kExtStart,       // after ';': the first character of an extension name
    kExtName,        // inside an extension name
    kExtValueStart,  // after '=': a token or a quoted-string follows
    kExtToken,       // inside a token extension value
    kExtQuoted,      // inside a quoted-string extension value
    kExtQuotedPair,  // after a backslash inside a quoted-string
    kExtQuotedEnd,   // after the closing DQUOTE
    kSizeLf,         // CR of the chunk-size line seen, LF expected
    kData,           // remaining_ bytes of chunk data follow
    kDataCr,         // CR expected after chunk data
    kDataLf,         // LF expected after chunk data
    kTrailerLineStart,
    kTrailerName,
    kTrailerValue,
    kTrailerLf,
    kFinalLf,  // CR of the empty line closing the trailer section seen, LF expected
    kDone,
    kError,
  };
  // Each consumes one framing byte and answers false when it is malformed.
  [[nodiscard]] bool advance(char c);
  [[nodiscard]] bool advance_extension(char c);
  [[nodiscard]] bool advance_trailer(char c);

  State state_ = State::kSize;
  std::uint64_t remaining_ = 0;  // bytes left in the current chunk (the chunk size while in kSize)
  int size_digits_ = 0;
  std::size_t extension_bytes_ = 0;  // of the current chunk line, bounded
  std::size_t trailer_bytes_ = 0;
  std::size_t max_trailer_;
  std::string* trailer_capture_ = nullptr;
};

}  // namespace strait::http
