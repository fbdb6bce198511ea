#include "http/parser.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "http/syntax.h"

namespace strait::http {
namespace {

using syntax::all_of_class;
using syntax::has_class;
using syntax::is_digit;
using syntax::is_ows;
using syntax::trim_ows;
using enum syntax::CharClass;

// Calls fn(element) for each OWS-trimmed element of a comma-separated list (empty ones included)
// until fn returns false.
template <typename Fn>
void for_each_list_element(std::string_view list, Fn&& fn) {
  while (true) {
    const std::size_t comma = list.find(',');
    if (!fn(trim_ows(list.substr(0, comma))) || comma == std::string_view::npos) {
      return;
    }
    list.remove_prefix(comma + 1);
  }
}

constexpr ParseResult fail(ParseError error) {
  return {ParseStatus::kError, error};
}
constexpr ParseResult kNeedMoreResult{ParseStatus::kNeedMore, ParseError::kNone};

// Where the lines of a (possibly incomplete) head are. Only line endings are checked here.
struct HeadLayout {
  std::size_t start = 0;           // first byte of the start line, after skipped empty lines
  std::size_t start_line_end = 0;  // the CR ending the start line, when start_line_complete
  bool start_line_complete = false;
  std::size_t start_line_prefix = 0;  // bytes of the start line seen so far (CR excluded)
  std::size_t field_lines = 0;        // complete field lines seen
  std::size_t end = 0;                // one past the LF of the empty line, when complete
  bool complete = false;
};

// Finds the lines of the head within the first max_head_size bytes with one memchr per line, so a
// caller re-parsing on every read stays cheap. Rejects bare LF and too many field lines early.
ParseError scan_head(std::string_view data, bool skip_empty_lines, const ParserLimits& limits,
                     HeadLayout& layout) {
  const char* base = data.data();
  const std::size_t window_end = std::min(data.size(), limits.max_head_size);
  std::size_t pos = 0;
  if (skip_empty_lines) {
    while (pos + 2 <= window_end && base[pos] == '\r' && base[pos + 1] == '\n') {
      pos += 2;
    }
  }
  layout.start = pos;
  std::size_t line_start = pos;
  while (line_start < window_end) {
    const void* found = std::memchr(base + line_start, '\n', window_end - line_start);
    if (found == nullptr) {
      break;
    }
    const auto lf = static_cast<std::size_t>(static_cast<const char*>(found) - base);
    if (lf == line_start || base[lf - 1] != '\r') {
      return ParseError::kBareLf;
    }
    if (!layout.start_line_complete) {
      layout.start_line_complete = true;
      layout.start_line_end = lf - 1;
    } else if (lf == line_start + 1) {
      layout.complete = true;
      layout.end = lf + 1;
      return ParseError::kNone;
    } else if (++layout.field_lines > limits.max_header_count) {
      return ParseError::kTooManyHeaders;
    }
    line_start = lf + 1;
  }
  if (!layout.start_line_complete) {
    layout.start_line_prefix = window_end - pos;
    if (layout.start_line_prefix > 0 && base[window_end - 1] == '\r') {
      --layout.start_line_prefix;  // the CR may end the line
    }
  }
  return ParseError::kNone;
}

// What the field lines say about framing, routing and the connection.
struct FieldFacts {
  int host_count = 0;
  bool host_valid = true;  // uri-host [":" port]: no whitespace, userinfo or list
  bool has_content_length = false;
  std::uint64_t content_length = 0;
  bool has_transfer_encoding = false;
  int chunked_count = 0;
  bool last_coding_is_chunked = false;
  bool has_other_coding = false;
  bool has_empty_coding = false;
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool connection_upgrade = false;
  bool has_upgrade = false;
  bool expect_continue = false;
};

// Content-Length = 1*DIGIT; repeated fields and list elements must all carry the same value.
ParseError add_content_length(std::string_view value, FieldFacts& facts) {
  ParseError error = ParseError::kNone;
  for_each_list_element(value, [&](std::string_view element) {
    std::uint64_t length = 0;
    bool valid = !element.empty();
    for (const char c : element) {
      const auto digit = static_cast<std::uint64_t>(c - '0');
      if (!is_digit(c) || length > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
        valid = false;
        break;
      }
      length = length * 10 + digit;
    }
    if (!valid || (facts.has_content_length && facts.content_length != length)) {
      error = ParseError::kBadContentLength;
      return false;
    }
    facts.has_content_length = true;
    facts.content_length = length;
    return true;
  });
  return error;
}

void add_transfer_encoding(std::string_view value, FieldFacts& facts) {
  facts.has_transfer_encoding = true;
  for_each_list_element(value, [&](std::string_view coding) {
    if (coding.empty()) {
      facts.has_empty_coding = true;  // ignored by RFC 9110 5.6.1 recipients; refused in requests
    } else if (iequals(coding, "chunked")) {
      ++facts.chunked_count;
      facts.last_coding_is_chunked = true;
    } else {
      facts.has_other_coding = true;
      facts.last_coding_is_chunked = false;
    }
    return true;
  });
}

void add_connection(std::string_view value, FieldFacts& facts) {
  for_each_list_element(value, [&](std::string_view option) {
    facts.connection_close = facts.connection_close || iequals(option, "close");
    facts.connection_keep_alive = facts.connection_keep_alive || iequals(option, "keep-alive");
    facts.connection_upgrade = facts.connection_upgrade || iequals(option, "upgrade");
    return true;
  });
}

ParseError note_field(const HeaderField& field, FieldFacts& facts) {
  switch (field.name.size()) {
    case 4:
      if (iequals(field.name, "host")) {
        ++facts.host_count;
        facts.host_valid = facts.host_valid && all_of_class(field.value, kHostChar);
      }
      break;
    case 6:
      if (iequals(field.name, "expect") && iequals(field.value, "100-continue")) {
        facts.expect_continue = true;
      }
      break;
    case 7:
      // An h2c upgrade is not honoured (the request goes on as HTTP/1.1 and the Upgrade field
      // is dropped as hop-by-hop), as Envoy does: the upgraded connection would carry requests
      // that no route or policy saw.
      if (iequals(field.name, "upgrade") && !list_contains_token(field.value, "h2c")) {
        facts.has_upgrade = true;
      }
      break;
    case 10:
      if (iequals(field.name, "connection")) {
        add_connection(field.value, facts);
      }
      break;
    case 14:
      if (iequals(field.name, "content-length")) {
        return add_content_length(field.value, facts);
      }
      break;
    case 17:
      if (iequals(field.name, "transfer-encoding")) {
        add_transfer_encoding(field.value, facts);
      }
      break;
    default:
      break;
  }
  return ParseError::kNone;
}

// Parses the field lines in [begin, layout.end - 2): each is known to end with CRLF.
ParseError parse_fields(std::string_view data, std::size_t begin, const HeadLayout& layout,
                        std::vector<HeaderField>& headers, FieldFacts& facts) {
  headers.clear();
  headers.reserve(layout.field_lines);
  const std::size_t fields_end = layout.end - 2;
  std::size_t pos = begin;
  while (pos < fields_end) {
    const auto* lf =
        static_cast<const char*>(std::memchr(data.data() + pos, '\n', fields_end - pos));
    const auto cr = static_cast<std::size_t>(lf - data.data()) - 1;
    const std::string_view line = data.substr(pos, cr - pos);
    pos = cr + 2;
    if (is_ows(line.front())) {
      return ParseError::kObsFold;  // also whitespace between the start line and the first field
    }
    std::size_t colon = 0;
    while (colon < line.size() && has_class(line[colon], kTchar)) {
      ++colon;
    }
    if (colon == 0 || colon == line.size() || line[colon] != ':') {
      return ParseError::kBadHeaderName;
    }
    const std::string_view raw_value = line.substr(colon + 1);
    if (!all_of_class(raw_value, kFieldChar)) {
      return ParseError::kBadHeaderValue;
    }
    const HeaderField& field =
        headers.emplace_back(HeaderField{line.substr(0, colon), trim_ows(raw_value)});
    if (const ParseError error = note_field(field, facts); error != ParseError::kNone) {
      return error;
    }
  }
  return ParseError::kNone;
}

bool keep_alive_for(int version_minor, const FieldFacts& facts) {
  if (facts.connection_close) {
    return false;
  }
  return version_minor >= 1 || facts.connection_keep_alive;
}

struct RequestLine {
  std::string_view method;
  std::string_view target;
  int version_minor = 1;
};

ParseError parse_http_version(std::string_view version, int& minor) {
  const bool well_formed = version.size() == 8 && version.starts_with("HTTP/") &&
                           is_digit(version[5]) && version[6] == '.' && is_digit(version[7]);
  if (!well_formed) {
    return version.find(' ') != std::string_view::npos ? ParseError::kBadRequestLine
                                                       : ParseError::kBadVersion;
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return ParseError::kUnsupportedVersion;
  }
  minor = version[7] - '0';
  return ParseError::kNone;
}

// request-line = method SP request-target SP HTTP-version (RFC 9112 3), single spaces only.
ParseError parse_request_line(std::string_view line, RequestLine& out) {
  std::size_t i = 0;
  while (i < line.size() && has_class(line[i], kTchar)) {
    ++i;
  }
  if (i == 0 || i == line.size() || line[i] != ' ') {
    return ParseError::kBadRequestLine;
  }
  out.method = line.substr(0, i);
  const std::size_t target_begin = ++i;
  while (i < line.size() && has_class(line[i], kTargetChar)) {
    ++i;
  }
  if (i == target_begin || i == line.size() || line[i] != ' ') {
    return ParseError::kBadRequestLine;
  }
  out.target = line.substr(target_begin, i - target_begin);
  return parse_http_version(line.substr(i + 1), out.version_minor);
}

// status-line = HTTP-version SP 3DIGIT SP [reason-phrase]; the SP before an empty reason may be
// missing (common, and harmless).
ParseError parse_status_line(std::string_view line, ResponseHead& out) {
  if (line.size() < 12 || !line.starts_with("HTTP/1.") || (line[7] != '0' && line[7] != '1') ||
      line[8] != ' ' || line[9] < '1' || line[9] > '5' || !is_digit(line[10]) ||
      !is_digit(line[11])) {
    return ParseError::kBadStatusLine;
  }
  std::string_view reason;
  if (line.size() > 12) {
    if (line[12] != ' ') {
      return ParseError::kBadStatusLine;
    }
    reason = line.substr(13);
    if (!all_of_class(reason, kFieldChar)) {
      return ParseError::kBadStatusLine;
    }
  }
  out.version_minor = line[7] - '0';
  out.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  out.reason = reason;
  return ParseError::kNone;
}

// Request framing (RFC 9112 6.1 and 6.3): anything a downstream server could read differently
// is refused.
ParseError request_framing(const RequestLine& line, const FieldFacts& facts, RequestHead& out) {
  out.framing = BodyFraming::kNone;
  out.content_length = 0;
  if (facts.has_transfer_encoding) {
    if (facts.has_content_length) {
      return ParseError::kContentLengthWithTransferEncoding;
    }
    if (line.version_minor == 0) {
      return ParseError::kTransferEncodingInHttp10;
    }
    if (facts.has_empty_coding || !facts.last_coding_is_chunked || facts.chunked_count > 1) {
      return ParseError::kTransferEncodingNotChunkedLast;
    }
    if (facts.has_other_coding) {
      return ParseError::kUnsupportedTransferEncoding;
    }
    out.framing = BodyFraming::kChunked;
  } else if (facts.has_content_length) {
    out.framing = BodyFraming::kContentLength;
    out.content_length = facts.content_length;
  }
  if (line.method == "CONNECT") {
    out.framing = BodyFraming::kNone;  // the bytes after the head belong to the tunnel
    out.content_length = 0;
  }
  return ParseError::kNone;
}

}  // namespace

int status_for(ParseError error) {
  switch (error) {
    case ParseError::kNone:
      return 0;  // not an error
    case ParseError::kRequestLineTooLong:
      return 414;
    case ParseError::kHeadTooLarge:
    case ParseError::kTooManyHeaders:
      return 431;
    case ParseError::kUnsupportedTransferEncoding:
      return 501;
    case ParseError::kUnsupportedVersion:
      return 505;
    case ParseError::kBadStatusLine:
      return 502;
    case ParseError::kBadRequestLine:
    case ParseError::kBadVersion:
    case ParseError::kBadHeaderName:
    case ParseError::kBadHeaderValue:
    case ParseError::kObsFold:
    case ParseError::kBareLf:
    case ParseError::kMissingHost:
    case ParseError::kDuplicateHost:
    case ParseError::kBadContentLength:
    case ParseError::kContentLengthWithTransferEncoding:
    case ParseError::kTransferEncodingNotChunkedLast:
    case ParseError::kTransferEncodingInHttp10:
      return 400;
  }
  return 400;
}

std::string_view name_of(ParseError error) {
  switch (error) {
    case ParseError::kNone:
      return "none";
    case ParseError::kBadRequestLine:
      return "bad_request_line";
    case ParseError::kBadVersion:
      return "bad_version";
    case ParseError::kUnsupportedVersion:
      return "unsupported_version";
    case ParseError::kRequestLineTooLong:
      return "request_line_too_long";
    case ParseError::kHeadTooLarge:
      return "head_too_large";
    case ParseError::kTooManyHeaders:
      return "too_many_headers";
    case ParseError::kBadHeaderName:
      return "bad_header_name";
    case ParseError::kBadHeaderValue:
      return "bad_header_value";
    case ParseError::kObsFold:
      return "obs_fold";
    case ParseError::kBareLf:
      return "bare_lf";
    case ParseError::kMissingHost:
      return "missing_host";
    case ParseError::kDuplicateHost:
      return "duplicate_host";
    case ParseError::kBadContentLength:
      return "bad_content_length";
    case ParseError::kContentLengthWithTransferEncoding:
      return "content_length_with_transfer_encoding";
    case ParseError::kTransferEncodingNotChunkedLast:
      return "transfer_encoding_not_chunked_last";
    case ParseError::kUnsupportedTransferEncoding:
      return "unsupported_transfer_encoding";
    case ParseError::kTransferEncodingInHttp10:
      return "transfer_encoding_in_http10";
    case ParseError::kBadStatusLine:
      return "bad_status_line";
  }
  return "unknown";
}

// `out` is meaningful only on kComplete (on kNeedMore a request head is left untouched).
ParseResult parse_request_head(std::string_view data, const ParserLimits& limits,
                               RequestHead& out) {
  HeadLayout layout;
  if (const ParseError error = scan_head(data, /*skip_empty_lines=*/true, limits, layout);
      error != ParseError::kNone) {
    return fail(error);
  }
  const std::size_t line_length =
      layout.start_line_complete ? layout.start_line_end - layout.start : layout.start_line_prefix;
  if (line_length > limits.max_request_line) {
    return fail(ParseError::kRequestLineTooLong);
  }
  RequestLine line;
  if (layout.start_line_complete) {
    const std::string_view text = data.substr(layout.start, line_length);
    if (const ParseError error = parse_request_line(text, line); error != ParseError::kNone) {
      return fail(error);
    }
  }
  if (!layout.complete) {
    return data.size() >= limits.max_head_size ? fail(ParseError::kHeadTooLarge) : kNeedMoreResult;
  }

  FieldFacts facts;
  if (const ParseError error =
          parse_fields(data, layout.start_line_end + 2, layout, out.headers, facts);
      error != ParseError::kNone) {
    return fail(error);
  }
  if (const ParseError error = request_framing(line, facts, out); error != ParseError::kNone) {
    return fail(error);
  }
  if (facts.host_count > 1) {
    return fail(ParseError::kDuplicateHost);
  }
  if (facts.host_count == 0 && line.version_minor == 1) {
    return fail(ParseError::kMissingHost);
  }
  if (!facts.host_valid) {
    return fail(ParseError::kBadHeaderValue);  // RFC 9112 3.2: an invalid Host is refused
  }
  const bool http11 = line.version_minor == 1;
  out.method = line.method;
  out.target = line.target;
  out.version_minor = line.version_minor;
  out.keep_alive = keep_alive_for(line.version_minor, facts);
  // HTTP/1.0 requests: Expect and Upgrade are ignored (RFC 9110 10.1.1 and 7.8).
  out.expect_continue = http11 && facts.expect_continue;
  out.upgrade = http11 && facts.connection_upgrade && facts.has_upgrade;
  out.head_size = layout.end;
  return {ParseStatus::kComplete, ParseError::kNone};
}

ParseResult parse_response_head(std::string_view data, const ParserLimits& limits,
                                std::string_view request_method, ResponseHead& out) {
  HeadLayout layout;
  if (const ParseError error = scan_head(data, /*skip_empty_lines=*/false, limits, layout);
      error != ParseError::kNone) {
    return fail(error);
  }
  if (layout.start_line_complete) {
    const std::string_view text = data.substr(layout.start, layout.start_line_end - layout.start);
    if (const ParseError error = parse_status_line(text, out); error != ParseError::kNone) {
      return fail(error);
    }
  }
  if (!layout.complete) {
    return data.size() >= limits.max_head_size ? fail(ParseError::kHeadTooLarge) : kNeedMoreResult;
  }

  FieldFacts facts;
  if (const ParseError error =
          parse_fields(data, layout.start_line_end + 2, layout, out.headers, facts);
      error != ParseError::kNone) {
    return fail(error);
  }
  if (facts.has_transfer_encoding && facts.has_content_length) {
    return fail(ParseError::kContentLengthWithTransferEncoding);
  }
  if (facts.has_transfer_encoding && out.version_minor == 0) {
    return fail(ParseError::kTransferEncodingInHttp10);
  }
  const int status = out.status;
  const bool no_content = request_method == "HEAD" || status < 200 || status == 204 ||
                          status == 304 || (request_method == "CONNECT" && status < 300);
  out.content_length = 0;
  if (no_content) {
    out.framing = BodyFraming::kNone;
  } else if (facts.has_transfer_encoding) {
    // RFC 9112 6.3: a response whose final coding is not chunked is delimited by close.
    out.framing = facts.last_coding_is_chunked ? BodyFraming::kChunked : BodyFraming::kUntilClose;
  } else if (facts.has_content_length) {
    out.framing = BodyFraming::kContentLength;
    out.content_length = facts.content_length;
  } else {
    out.framing = BodyFraming::kUntilClose;
  }
  out.keep_alive =
      out.framing != BodyFraming::kUntilClose && keep_alive_for(out.version_minor, facts);
  out.head_size = layout.end;
  return {ParseStatus::kComplete, ParseError::kNone};
}

namespace {
// Chunk extensions are rare and meaningless to the proxy; an unbounded one would let a client keep
// the decoder busy without sending data.
constexpr std::size_t kMaxExtensionSize = std::size_t{4} * 1024;  // per chunk-size line
constexpr int kMaxSizeDigits = 16;                                // 64 bits
}  // namespace

bool ChunkedDecoder::advance(char c) {
  switch (state_) {
    case State::kSize:
      if (has_class(c, kHexDigit)) {
        if (size_digits_ == kMaxSizeDigits) {
          return false;
        }
        ++size_digits_;
        const int nibble = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
        remaining_ = (remaining_ << 4U) | static_cast<std::uint64_t>(nibble);
        return true;
      }
      if (size_digits_ == 0) {
        return false;
      }
      if (c == ';') {
        state_ = State::kExtStart;
        return true;
      }
      state_ = State::kSizeLf;
      return c == '\r';
    case State::kExtStart:
    case State::kExtName:
    case State::kExtValueStart:
    case State::kExtToken:
    case State::kExtQuoted:
    case State::kExtQuotedPair:
    case State::kExtQuotedEnd:
      return ++extension_bytes_ <= kMaxExtensionSize && advance_extension(c);
    case State::kSizeLf:
      state_ = remaining_ == 0 ? State::kTrailerLineStart : State::kData;
      return c == '\n';
    case State::kData:
      return false;  // next() copies data spans itself
    case State::kDataCr:
      state_ = State::kDataLf;
      return c == '\r';
    case State::kDataLf:
      state_ = State::kSize;
      size_digits_ = 0;
      extension_bytes_ = 0;
      return c == '\n';
    case State::kTrailerLineStart:
    case State::kTrailerName:
    case State::kTrailerValue:
    case State::kTrailerLf:
    case State::kFinalLf:
      if (!advance_trailer(c)) {
        return false;
      }
      if (state_ == State::kFinalLf || state_ == State::kDone) return true;
      // The field lines count against the limit, the CRLF closing the section does not.
      if (trailer_capture_ != nullptr) trailer_capture_->push_back(c);
      return ++trailer_bytes_ <= max_trailer_;
    case State::kDone:
    case State::kError:
      return false;
  }
  return false;
}

// chunk-ext = *( ";" token [ "=" ( token / quoted-string ) ] ), without the optional whitespace
// RFC 9112 7.1.1 tolerates.
bool ChunkedDecoder::advance_extension(char c) {
  const bool ends_element = c == ';' || c == '\r';
  const State after_element = c == ';' ? State::kExtStart : State::kSizeLf;
  switch (state_) {
    case State::kExtStart:
      state_ = State::kExtName;
      return has_class(c, kTchar);
    case State::kExtName:
      if (c == '=') {
        state_ = State::kExtValueStart;
        return true;
      }
      if (ends_element) {
        state_ = after_element;
        return true;
      }
      return has_class(c, kTchar);
    case State::kExtValueStart:
      if (c == '"') {
        state_ = State::kExtQuoted;
        return true;
      }
      state_ = State::kExtToken;
      return has_class(c, kTchar);
    case State::kExtToken:
    case State::kExtQuotedEnd:
      if (ends_element) {
        state_ = after_element;
        return true;
      }
      return state_ == State::kExtToken && has_class(c, kTchar);
    case State::kExtQuoted:
      if (c == '"') {
        state_ = State::kExtQuotedEnd;
        return true;
      }
      if (c == '\\') {
        state_ = State::kExtQuotedPair;
        return true;
      }
      return has_class(c, kQdText);
    case State::kExtQuotedPair:
      state_ = State::kExtQuoted;
      return has_class(c, kFieldChar);
    default:
      return false;
  }
}

// trailer-section = *( field-line CRLF ), then the CRLF ending the message.
bool ChunkedDecoder::advance_trailer(char c) {
  switch (state_) {
    case State::kTrailerLineStart:
      if (c == '\r') {
        state_ = State::kFinalLf;
        return true;
      }
      state_ = State::kTrailerName;
      return has_class(c, kTchar);  // refuses obs-fold and empty names
    case State::kTrailerName:
      if (c == ':') {
        state_ = State::kTrailerValue;
        return true;
      }
      return has_class(c, kTchar);
    case State::kTrailerValue:
      if (c == '\r') {
        state_ = State::kTrailerLf;
        return true;
      }
      return has_class(c, kFieldChar);
    case State::kTrailerLf:
      state_ = State::kTrailerLineStart;
      return c == '\n';
    case State::kFinalLf:
      state_ = State::kDone;
      return c == '\n';
    default:
      return false;
  }
}

// consumed counts framing and data bytes; on kError it stops before the offending byte.
ChunkedDecoder::Step ChunkedDecoder::next(std::string_view input) {
  if (state_ == State::kDone) {
    return {Status::kDone, 0, {}};
  }
  if (state_ == State::kError) {
    return {Status::kError, 0, {}};
  }
  std::size_t pos = 0;
  while (pos < input.size()) {
    if (state_ == State::kData) {
      const std::size_t length =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - pos));
      remaining_ -= length;
      if (remaining_ == 0) {
        state_ = State::kDataCr;
      }
      return {Status::kData, pos + length, input.substr(pos, length)};
    }
    if (!advance(input[pos])) {
      state_ = State::kError;
      return {Status::kError, pos, {}};
    }
    ++pos;
    if (state_ == State::kDone) {
      return {Status::kDone, pos, {}};
    }
  }
  return {Status::kNeedMore, pos, {}};
}

}  // namespace strait::http
