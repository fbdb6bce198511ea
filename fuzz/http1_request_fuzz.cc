// libFuzzer target for the HTTP/1 parser: the input is parsed as a request head (then, when the
// head announces a chunked body, the rest is decoded as one) and as a response head. Every
// invariant the proxy relies on is checked; a violation aborts so that libFuzzer records a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "http/parser.h"

namespace {

using strait::http::BodyFraming;
using strait::http::ChunkedDecoder;
using strait::http::HeaderField;
using strait::http::ParseError;
using strait::http::ParseResult;
using strait::http::ParserLimits;
using strait::http::ParseStatus;
using strait::http::RequestHead;
using strait::http::ResponseHead;

// True when `inner` is empty or lies inside `outer` (views must point into the caller's buffer).
bool within(std::string_view inner, std::string_view outer) {
  return inner.empty() || (inner.data() >= outer.data() &&
                           inner.data() + inner.size() <= outer.data() + outer.size());
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

void check_fields(const std::vector<HeaderField>& headers, std::string_view head,
                  const ParserLimits& limits) {
  FUZZ_CHECK(headers.size() <= limits.max_header_count);
  for (const HeaderField& field : headers) {
    FUZZ_CHECK(!field.name.empty());
    FUZZ_CHECK(within(field.name, head));
    FUZZ_CHECK(within(field.value, head));
    FUZZ_CHECK(field.name.find_first_of(" \t\r\n:") == std::string_view::npos);
    FUZZ_CHECK(field.value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
    FUZZ_CHECK(field.value.empty() ||
               (!is_ows(field.value.front()) && !is_ows(field.value.back())));
  }
}

void check_error(ParseResult result) {
  FUZZ_CHECK(result.error != ParseError::kNone);
  FUZZ_CHECK(!strait::http::name_of(result.error).empty());
  const int status = strait::http::status_for(result.error);
  FUZZ_CHECK(status == 400 || status == 414 || status == 431 || status == 501 || status == 505 ||
             status == 502);
}

void check_complete_head(std::string_view data, std::size_t head_size, const ParserLimits& limits) {
  FUZZ_CHECK(head_size >= 4);
  FUZZ_CHECK(head_size <= data.size());
  FUZZ_CHECK(head_size <= limits.max_head_size);
  FUZZ_CHECK(data.substr(head_size - 4, 4) == "\r\n\r\n");
}

// Decodes `body` in one pass and again one byte at a time: both must agree.
void check_chunked(std::string_view body) {
  ChunkedDecoder decoder;
  std::string decoded;
  std::size_t pos = 0;
  ChunkedDecoder::Status final_status = ChunkedDecoder::Status::kNeedMore;
  while (true) {
    const std::string_view rest = body.substr(pos);
    const ChunkedDecoder::Step step = decoder.next(rest);
    FUZZ_CHECK(step.consumed <= rest.size());
    if (step.status == ChunkedDecoder::Status::kData) {
      FUZZ_CHECK(!step.data.empty());
      FUZZ_CHECK(within(step.data, rest.substr(0, step.consumed)));
      FUZZ_CHECK(step.data.data() + step.data.size() == rest.data() + step.consumed);
      decoded += step.data;
      pos += step.consumed;
      continue;
    }
    FUZZ_CHECK(step.data.empty());
    if (step.status == ChunkedDecoder::Status::kNeedMore) {
      FUZZ_CHECK(step.consumed == rest.size());
    }
    pos += step.consumed;
    final_status = step.status;
    break;
  }
  FUZZ_CHECK(decoder.done() == (final_status == ChunkedDecoder::Status::kDone));
  if (final_status != ChunkedDecoder::Status::kNeedMore) {
    const ChunkedDecoder::Step again = decoder.next(body);
    FUZZ_CHECK(again.status == final_status && again.consumed == 0);
  }

  constexpr std::size_t kMaxBytewise = 4096;
  if (body.size() > kMaxBytewise) {
    return;
  }
  ChunkedDecoder bytewise;
  std::string bytewise_decoded;
  std::string pending;
  std::size_t bytewise_consumed = 0;
  ChunkedDecoder::Status bytewise_status = ChunkedDecoder::Status::kNeedMore;
  for (std::size_t i = 0; i < body.size() && bytewise_status == ChunkedDecoder::Status::kNeedMore;
       ++i) {
    pending += body[i];
    while (true) {
      const ChunkedDecoder::Step step = bytewise.next(pending);
      FUZZ_CHECK(step.consumed <= pending.size());
      bytewise_decoded += step.data;
      bytewise_consumed += step.consumed;
      pending.erase(0, step.consumed);
      if (step.status != ChunkedDecoder::Status::kData) {
        bytewise_status = step.status;
        break;
      }
    }
  }
  FUZZ_CHECK(bytewise_status == final_status);
  FUZZ_CHECK(bytewise_decoded == decoded);
  FUZZ_CHECK(bytewise_consumed == pos);
}

// Returns the head size on kComplete, else 0.
std::size_t check_request(std::string_view data, const ParserLimits& limits) {
  RequestHead head;
  const ParseResult result = strait::http::parse_request_head(data, limits, head);
  if (result.status == ParseStatus::kError) {
    check_error(result);
    return 0;
  }
  FUZZ_CHECK(result.error == ParseError::kNone);
  if (result.status == ParseStatus::kNeedMore) {
    FUZZ_CHECK(data.size() < limits.max_head_size);
    return 0;
  }
  check_complete_head(data, head.head_size, limits);
  const std::string_view head_bytes = data.substr(0, head.head_size);
  check_fields(head.headers, head_bytes, limits);
  FUZZ_CHECK(!head.method.empty() && within(head.method, head_bytes));
  FUZZ_CHECK(!head.target.empty() && within(head.target, head_bytes));
  FUZZ_CHECK(head.target.size() <= limits.max_request_line);
  FUZZ_CHECK(head.version_minor == 0 || head.version_minor == 1);
  FUZZ_CHECK(head.framing != BodyFraming::kUntilClose);
  FUZZ_CHECK(head.framing == BodyFraming::kContentLength || head.content_length == 0);
  FUZZ_CHECK(head.find("content-length") == nullptr || head.find("transfer-encoding") == nullptr);
  if (head.version_minor == 1) {
    FUZZ_CHECK(head.find("host") != nullptr);
  } else {
    FUZZ_CHECK(head.find("transfer-encoding") == nullptr);
    FUZZ_CHECK(!head.expect_continue && !head.upgrade);
  }
  if (const HeaderField* host = head.find("host"); host != nullptr) {
    FUZZ_CHECK(host->value.find_first_of(" \t,@") == std::string_view::npos);
  }
  if (head.method == "CONNECT") {
    FUZZ_CHECK(head.framing == BodyFraming::kNone);
  }

  // The head alone gives the same answer; any shorter prefix needs more.
  RequestHead exact;
  const ParseResult exact_result = strait::http::parse_request_head(head_bytes, limits, exact);
  FUZZ_CHECK(exact_result.status == ParseStatus::kComplete);
  FUZZ_CHECK(exact.head_size == head.head_size && exact.framing == head.framing &&
             exact.content_length == head.content_length &&
             exact.headers.size() == head.headers.size());
  for (const std::size_t prefix :
       {head.head_size - 1, head.head_size / 2, data.size() % head.head_size}) {
    RequestHead partial;
    const ParseResult partial_result =
        strait::http::parse_request_head(data.substr(0, prefix), limits, partial);
    FUZZ_CHECK(partial_result.status == ParseStatus::kNeedMore);
  }

  if (head.framing == BodyFraming::kChunked) {
    check_chunked(data.substr(head.head_size));
  }
  return head.head_size;
}

std::size_t check_response(std::string_view data, const ParserLimits& limits,
                           std::string_view method) {
  ResponseHead head;
  const ParseResult result = strait::http::parse_response_head(data, limits, method, head);
  if (result.status == ParseStatus::kError) {
    check_error(result);
    return 0;
  }
  FUZZ_CHECK(result.error == ParseError::kNone);
  if (result.status == ParseStatus::kNeedMore) {
    FUZZ_CHECK(data.size() < limits.max_head_size);
    return 0;
  }
  check_complete_head(data, head.head_size, limits);
  const std::string_view head_bytes = data.substr(0, head.head_size);
  check_fields(head.headers, head_bytes, limits);
  FUZZ_CHECK(head.status >= 100 && head.status <= 599);
  FUZZ_CHECK(within(head.reason, head_bytes));
  FUZZ_CHECK(head.version_minor == 0 || head.version_minor == 1);
  FUZZ_CHECK(head.framing == BodyFraming::kContentLength || head.content_length == 0);
  FUZZ_CHECK(head.framing != BodyFraming::kUntilClose || !head.keep_alive);
  if (method == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304) {
    FUZZ_CHECK(head.framing == BodyFraming::kNone);
  }
  ResponseHead partial;
  const ParseResult partial_result = strait::http::parse_response_head(
      data.substr(0, head.head_size - 1), limits, method, partial);
  FUZZ_CHECK(partial_result.status == ParseStatus::kNeedMore);
  if (head.framing == BodyFraming::kChunked) {
    check_chunked(data.substr(head.head_size));
  }
  return head.head_size;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  const ParserLimits defaults;
  ParserLimits tight;
  tight.max_request_line = 64;
  tight.max_head_size = 512;
  tight.max_header_count = 8;

  const std::size_t request_size = check_request(data, defaults);
  const std::size_t tight_request_size = check_request(data, tight);
  // Tighter limits may refuse more, never accept differently.
  FUZZ_CHECK(tight_request_size == 0 || tight_request_size == request_size);

  // Pipelining: whatever follows a complete head is parsed as the next request.
  if (request_size > 0 && request_size < size) {
    check_request(data.substr(request_size), defaults);
  }

  constexpr std::string_view kMethods[] = {"GET", "HEAD", "CONNECT"};
  const std::string_view method = kMethods[size % 3];
  const std::size_t response_size = check_response(data, defaults, method);
  const std::size_t tight_response_size = check_response(data, tight, method);
  FUZZ_CHECK(tight_response_size == 0 || tight_response_size == response_size);
  return 0;
}
