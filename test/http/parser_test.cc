#include "http/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace strait::http {
namespace {

using namespace std::string_literals;

// Results are compared as strings so that failures print readably, e.g. "error:obs_fold".
std::string describe(ParseResult result) {
  switch (result.status) {
    case ParseStatus::kComplete:
      return result.error == ParseError::kNone ? "complete" : "complete_with_error";
    case ParseStatus::kNeedMore:
      return result.error == ParseError::kNone ? "need_more" : "need_more_with_error";
    case ParseStatus::kError:
      return "error:" + std::string(name_of(result.error));
  }
  return "invalid";
}
constexpr const char* kComplete = "complete";
constexpr const char* kNeedMore = "need_more";
std::string error(ParseError e) {
  return describe({ParseStatus::kError, e});
}

std::string parse(std::string_view data, RequestHead& head, const ParserLimits& limits = {}) {
  return describe(parse_request_head(data, limits, head));
}

std::string parse_response(std::string_view data, ResponseHead& head,
                           std::string_view method = "GET") {
  return describe(parse_response_head(data, ParserLimits{}, method, head));
}

TEST(RequestHeadTest, ParsesSimpleGet) {
  const std::string data =
      "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept:  */*  \r\n\r\n";
  RequestHead head;
  ASSERT_EQ(parse(data, head), kComplete);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/index.html?q=1");
  EXPECT_EQ(head.version_minor, 1);
  ASSERT_EQ(head.headers.size(), 2U);
  EXPECT_EQ(head.headers[0].name, "Host");
  EXPECT_EQ(head.headers[0].value, "example.com");
  EXPECT_EQ(head.headers[1].value, "*/*");  // OWS trimmed
  EXPECT_EQ(head.framing, BodyFraming::kNone);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_FALSE(head.expect_continue);
  EXPECT_FALSE(head.upgrade);
  EXPECT_EQ(head.head_size, data.size());
  ASSERT_NE(head.find("ACCEPT"), nullptr);
  EXPECT_EQ(head.find("accept")->value, "*/*");
  EXPECT_EQ(head.find("cookie"), nullptr);
}

TEST(RequestHeadTest, ContentLengthFraming) {
  RequestHead head;
  ASSERT_EQ(parse("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", head),
            kComplete);
  EXPECT_EQ(head.framing, BodyFraming::kContentLength);
  EXPECT_EQ(head.content_length, 5U);
  ASSERT_EQ(parse("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", head), kComplete);
  EXPECT_EQ(head.framing, BodyFraming::kContentLength);
  EXPECT_EQ(head.content_length, 0U);
  ASSERT_EQ(
      parse("POST /a HTTP/1.1\r\nHost: h\r\ncontent-length: 18446744073709551615\r\n\r\n", head),
      kComplete);
  EXPECT_EQ(head.content_length, 18446744073709551615ULL);
}

TEST(RequestHeadTest, IdenticalContentLengthsAreOneValue) {
  RequestHead head;
  ASSERT_EQ(
      parse("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n", head),
      kComplete);
  EXPECT_EQ(head.framing, BodyFraming::kContentLength);
  EXPECT_EQ(head.content_length, 5U);
}

TEST(RequestHeadTest, ChunkedFraming) {
  RequestHead head;
  ASSERT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n", head),
            kComplete);
  EXPECT_EQ(head.framing, BodyFraming::kChunked);
  EXPECT_EQ(head.content_length, 0U);
}

TEST(RequestHeadTest, SkipsLeadingEmptyLinesAndCountsThem) {
  const std::string data = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
  RequestHead head;
  ASSERT_EQ(parse(data, head), kComplete);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.head_size, data.size());
}

TEST(RequestHeadTest, AcceptsEmptyValuesObsTextAndHttp10WithoutHost) {
  RequestHead head;
  ASSERT_EQ(
      parse("GET / HTTP/1.0\r\nX-Empty:\r\nX-Utf8: caf\xc3\xa9\r\nX-Tab:\ta\tb\t\r\n\r\n", head),
      kComplete);
  EXPECT_EQ(head.version_minor, 0);
  EXPECT_EQ(head.find("x-empty")->value, "");
  EXPECT_EQ(head.find("x-utf8")->value, "caf\xc3\xa9");
  EXPECT_EQ(head.find("x-tab")->value, "a\tb");
}

TEST(RequestHeadTest, AcceptsHostForms) {
  for (const char* host :
       {"example.com", "example.com:8080", "[::1]:443", "10.0.0.1", "", "xn--caf-dma.example"}) {
    RequestHead head;
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n", head), kComplete)
        << host;
  }
}

TEST(RequestHeadTest, RequestTargetForms) {
  RequestHead head;
  ASSERT_EQ(
      parse("GET http://example.com:8080/a?b=c HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", head),
      kComplete);
  EXPECT_EQ(head.target, "http://example.com:8080/a?b=c");
  ASSERT_EQ(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", head), kComplete);
  EXPECT_EQ(head.target, "*");
  ASSERT_EQ(parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", head),
            kComplete);
  EXPECT_EQ(head.method, "CONNECT");
  EXPECT_EQ(head.target, "example.com:443");
  EXPECT_EQ(head.framing, BodyFraming::kNone);
}

TEST(RequestHeadTest, ConnectHasNoBodyWhateverTheHeadersSay) {
  RequestHead head;
  ASSERT_EQ(parse("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\nContent-Length: 10\r\n\r\n", head),
            kComplete);
  EXPECT_EQ(head.framing, BodyFraming::kNone);
  EXPECT_EQ(head.content_length, 0U);
  ASSERT_EQ(
      parse("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\nTransfer-Encoding: chunked\r\n\r\n", head),
      kComplete);
  EXPECT_EQ(head.framing, BodyFraming::kNone);
  EXPECT_EQ(parse("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\nContent-Length: 1\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n",
                  head),
            error(ParseError::kContentLengthWithTransferEncoding));
}

// One case per malformed or ambiguous shape; smuggling shapes first.
struct ErrorCase {
  const char* name;
  std::string head;
  ParseError error;
};

std::string with_fields(const std::string& fields) {
  return "POST /upload HTTP/1.1\r\nHost: example.com\r\n" + fields + "\r\n";
}

void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class RequestHeadErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(RequestHeadErrorTest, IsRejected) {
  RequestHead head;
  EXPECT_EQ(parse(GetParam().head, head), error(GetParam().error));
}

const ErrorCase kErrorCases[] = {
    // Request smuggling: conflicting or unparsable framing.
    {"ContentLengthAndTransferEncoding",
     with_fields("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
     ParseError::kContentLengthWithTransferEncoding},
    {"TransferEncodingAndContentLength",
     with_fields("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"),
     ParseError::kContentLengthWithTransferEncoding},
    {"DifferingContentLengths", with_fields("Content-Length: 5\r\nContent-Length: 6\r\n"),
     ParseError::kBadContentLength},
    {"DifferingContentLengthList", with_fields("Content-Length: 5, 6\r\n"),
     ParseError::kBadContentLength},
    {"ContentLengthEmptyListElement", with_fields("Content-Length: 5,,5\r\n"),
     ParseError::kBadContentLength},
    {"ContentLengthLetters", with_fields("Content-Length: 5a\r\n"), ParseError::kBadContentLength},
    {"ContentLengthHex", with_fields("Content-Length: 0x5\r\n"), ParseError::kBadContentLength},
    {"ContentLengthPlusSign", with_fields("Content-Length: +5\r\n"), ParseError::kBadContentLength},
    {"ContentLengthNegative", with_fields("Content-Length: -1\r\n"), ParseError::kBadContentLength},
    {"ContentLengthSpaceInside", with_fields("Content-Length: 1 2\r\n"),
     ParseError::kBadContentLength},
    {"ContentLengthEmpty", with_fields("Content-Length: \r\n"), ParseError::kBadContentLength},
    {"ContentLengthOverflow", with_fields("Content-Length: 18446744073709551616\r\n"),
     ParseError::kBadContentLength},
    {"TransferEncodingChunkedThenGzip", with_fields("Transfer-Encoding: chunked, gzip\r\n"),
     ParseError::kTransferEncodingNotChunkedLast},
    {"TransferEncodingGzipOnly", with_fields("Transfer-Encoding: gzip\r\n"),
     ParseError::kTransferEncodingNotChunkedLast},
    {"TransferEncodingChunkedNotLastAcrossLines",
     with_fields("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"),
     ParseError::kTransferEncodingNotChunkedLast},
    {"TransferEncodingChunkedTwice", with_fields("Transfer-Encoding: chunked, chunked\r\n"),
     ParseError::kTransferEncodingNotChunkedLast},
    {"TransferEncodingEmptyElement", with_fields("Transfer-Encoding: chunked,\r\n"),
     ParseError::kTransferEncodingNotChunkedLast},
    {"TransferEncodingEmpty", with_fields("Transfer-Encoding:\r\n"),
     ParseError::kTransferEncodingNotChunkedLast},
    {"TransferEncodingLookalike", with_fields("Transfer-Encoding: xchunked\r\n"),
     ParseError::kTransferEncodingNotChunkedLast},
    {"TransferEncodingUnknownCoding", with_fields("Transfer-Encoding: gzip, chunked\r\n"),
     ParseError::kUnsupportedTransferEncoding},
    {"TransferEncodingUnknownCodingAcrossLines",
     with_fields("Transfer-Encoding: foo\r\nTransfer-Encoding: chunked\r\n"),
     ParseError::kUnsupportedTransferEncoding},
    {"TransferEncodingInHttp10", "POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
     ParseError::kTransferEncodingInHttp10},
    {"ObsFold", with_fields("X-Folded: a\r\n b\r\n"), ParseError::kObsFold},
    {"ObsFoldTab", with_fields("X-Folded: a\r\n\tb\r\n"), ParseError::kObsFold},
    {"WhitespaceBeforeFirstField", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", ParseError::kObsFold},
    {"CrInName", with_fields("X-Ab\rc: d\r\n"), ParseError::kBadHeaderName},
    {"CrInValue", with_fields("X-Abc: d\re\r\n"), ParseError::kBadHeaderValue},
    {"CrAtEndOfValue", with_fields("X-Abc: d\r\r\n"), ParseError::kBadHeaderValue},
    {"BareLfInValue", with_fields("X-Abc: d\ne\r\n"), ParseError::kBareLf},
    {"BareLfLineEndings", "GET / HTTP/1.1\nHost: h\n\n", ParseError::kBareLf},
    {"BareLfEndOfHead", "GET / HTTP/1.1\r\nHost: h\r\n\n", ParseError::kBareLf},
    {"BareLfBeforeRequestLine", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::kBareLf},
    {"NulInName", with_fields("X-A\0b: c\r\n"s), ParseError::kBadHeaderName},
    {"NulInValue", with_fields("X-Ab: c\0d\r\n"s), ParseError::kBadHeaderValue},
    {"CtlInValue",
     with_fields("X-Ab: c\x01"
                 "d\r\n"),
     ParseError::kBadHeaderValue},
    {"DelInValue", with_fields("X-Ab: c\x7f\r\n"), ParseError::kBadHeaderValue},
    {"SpaceBeforeColon", with_fields("Content-Length : 5\r\n"), ParseError::kBadHeaderName},
    {"TabBeforeColon", with_fields("Transfer-Encoding\t: chunked\r\n"), ParseError::kBadHeaderName},
    {"EmptyName", with_fields(": value\r\n"), ParseError::kBadHeaderName},
    {"NoColon", with_fields("X-No-Colon\r\n"), ParseError::kBadHeaderName},
    {"NonTokenName", with_fields("X(a): b\r\n"), ParseError::kBadHeaderName},
    // Request line.
    {"DoubleSpace", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::kBadRequestLine},
    {"TabSeparator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::kBadRequestLine},
    {"EmptyMethod", " / HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::kBadRequestLine},
    {"NoVersion", "GET /\r\nHost: h\r\n\r\n", ParseError::kBadRequestLine},
    {"SpaceInTarget", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::kBadRequestLine},
    {"TrailingSpace", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", ParseError::kBadRequestLine},
    {"CrInTarget", "GET /\r HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::kBadRequestLine},
    {"NonAsciiTarget", "GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::kBadRequestLine},
    {"LowercaseVersion", "GET / http/1.1\r\nHost: h\r\n\r\n", ParseError::kBadVersion},
    {"VersionWithoutMinor", "GET / HTTP/1\r\nHost: h\r\n\r\n", ParseError::kBadVersion},
    {"VersionTwoDigitMinor", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", ParseError::kBadVersion},
    {"EmptyVersion", "GET / \r\nHost: h\r\n\r\n", ParseError::kBadVersion},
    {"Http2", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", ParseError::kUnsupportedVersion},
    {"Http12", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", ParseError::kUnsupportedVersion},
    {"Http09", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", ParseError::kUnsupportedVersion},
    // Host.
    {"MissingHost", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", ParseError::kMissingHost},
    {"DuplicateHost", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", ParseError::kDuplicateHost},
    {"HostWithSpace", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", ParseError::kBadHeaderValue},
    {"HostList", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", ParseError::kBadHeaderValue},
    {"HostWithUserinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", ParseError::kBadHeaderValue},
    {"DuplicateHostHttp10", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
     ParseError::kDuplicateHost},
};

INSTANTIATE_TEST_SUITE_P(Shapes, RequestHeadErrorTest, testing::ValuesIn(kErrorCases),
                         [](const testing::TestParamInfo<ErrorCase>& info) {
                           return std::string(info.param.name);
                         });

// Feeding any proper prefix answers kNeedMore; the whole head gives the one-shot result.
TEST(RequestHeadTest, IncrementalByteByByte) {
  const std::string inputs[] = {
      "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
      "\r\n\r\nPOST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n",
      "GET http://a/ HTTP/1.0\r\n\r\n",
  };
  for (const std::string& input : inputs) {
    for (std::size_t n = 0; n < input.size(); ++n) {
      RequestHead partial;
      ASSERT_EQ(parse(std::string_view(input).substr(0, n), partial), kNeedMore) << n << input;
    }
    RequestHead whole;
    ASSERT_EQ(parse(input, whole), kComplete);
    EXPECT_EQ(whole.head_size, input.size());
  }
}

TEST(RequestHeadTest, IncrementalErrorsNeverComplete) {
  for (const ErrorCase& c : kErrorCases) {
    const std::string_view input = c.head;
    for (std::size_t n = 0; n <= input.size(); ++n) {
      RequestHead head;
      const ParseResult result = parse_request_head(input.substr(0, n), ParserLimits{}, head);
      ASSERT_NE(result.status, ParseStatus::kComplete) << c.name << " at " << n;
      if (result.status == ParseStatus::kError) {
        EXPECT_EQ(result.error, c.error) << c.name << " at " << n;
        break;
      }
    }
  }
}

TEST(RequestHeadTest, ReportsBadRequestLineBeforeTheHeadCompletes) {
  RequestHead head;
  EXPECT_EQ(parse("\x16\x03\x01\x02\x00\x01\r\n"s, head), error(ParseError::kBadRequestLine));
}

TEST(RequestHeadTest, PipelinedHeadsAreFoundByHeadSize) {
  const std::string first = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n";
  const std::string second = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string data = first + "abc" + second;
  RequestHead head;
  ASSERT_EQ(parse(data, head), kComplete);
  EXPECT_EQ(head.target, "/a");
  ASSERT_EQ(head.head_size, first.size());
  const std::string_view rest = std::string_view(data).substr(head.head_size + head.content_length);
  ASSERT_EQ(parse(rest, head), kComplete);
  EXPECT_EQ(head.target, "/b");
  EXPECT_EQ(head.head_size, second.size());
}

TEST(RequestHeadTest, RequestLineLimit) {
  ParserLimits limits;
  limits.max_request_line = 20;
  RequestHead head;
  const std::string at_limit = "GET /234567 HTTP/1.1";  // 20 bytes
  EXPECT_EQ(parse(at_limit + "\r\nHost: h\r\n\r\n", head, limits), kComplete);
  EXPECT_EQ(parse(at_limit + "\r", head, limits), kNeedMore);
  EXPECT_EQ(parse("GET /2345678 HTTP/1.1\r\nHost: h\r\n\r\n", head, limits),
            error(ParseError::kRequestLineTooLong));
  // Reported before the line is complete.
  EXPECT_EQ(parse("GET /" + std::string(30, 'a'), head, limits),
            error(ParseError::kRequestLineTooLong));
  EXPECT_EQ(status_for(ParseError::kRequestLineTooLong), 414);
}

TEST(RequestHeadTest, HeadSizeLimit) {
  ParserLimits limits;
  limits.max_head_size = 64;
  RequestHead head;
  const std::string prefix = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
  const std::string exact = prefix + std::string(64 - prefix.size() - 4, 'v') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), 64U);
  EXPECT_EQ(parse(exact, head, limits), kComplete);
  EXPECT_EQ(parse(exact.substr(0, 63), head, limits), kNeedMore);
  const std::string too_big = prefix + std::string(64 - prefix.size() - 3, 'v') + "\r\n\r\n";
  EXPECT_EQ(parse(too_big, head, limits), error(ParseError::kHeadTooLarge));
  EXPECT_EQ(parse(too_big.substr(0, 64), head, limits), error(ParseError::kHeadTooLarge));
  EXPECT_EQ(parse(std::string(100, 'G'), head, limits), error(ParseError::kHeadTooLarge));
  std::string empty_lines;
  for (int i = 0; i < 40; ++i) {
    empty_lines += "\r\n";
  }
  EXPECT_EQ(parse(empty_lines, head, limits), error(ParseError::kHeadTooLarge));
  EXPECT_EQ(status_for(ParseError::kHeadTooLarge), 431);
}

TEST(RequestHeadTest, HeaderCountLimit) {
  ParserLimits limits;
  limits.max_header_count = 3;
  RequestHead head;
  const std::string three = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n";
  EXPECT_EQ(parse(three + "\r\n", head, limits), kComplete);
  EXPECT_EQ(head.headers.size(), 3U);
  EXPECT_EQ(parse(three + "C: 3\r\n\r\n", head, limits), error(ParseError::kTooManyHeaders));
  // Reported before the head is complete.
  EXPECT_EQ(parse(three + "C: 3\r\n", head, limits), error(ParseError::kTooManyHeaders));
  EXPECT_EQ(status_for(ParseError::kTooManyHeaders), 431);
}

struct ConnectionCase {
  const char* name;
  std::string head;
  bool keep_alive;
  bool expect_continue;
  bool upgrade;
};

void PrintTo(const ConnectionCase& c, std::ostream* os) {
  *os << c.name;
}

class ConnectionSemanticsTest : public testing::TestWithParam<ConnectionCase> {};

TEST_P(ConnectionSemanticsTest, Derived) {
  RequestHead head;
  ASSERT_EQ(parse(GetParam().head, head), kComplete);
  EXPECT_EQ(head.keep_alive, GetParam().keep_alive);
  EXPECT_EQ(head.expect_continue, GetParam().expect_continue);
  EXPECT_EQ(head.upgrade, GetParam().upgrade);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, ConnectionSemanticsTest,
    testing::Values(
        ConnectionCase{"Http11Default", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", true, false, false},
        ConnectionCase{"Http11Close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
                       false, false, false},
        ConnectionCase{"Http11CloseInList",
                       "GET / HTTP/1.1\r\nHost: h\r\nConnection: foo\r\nConnection: Keep-Alive, "
                       "CLOSE\r\n\r\n",
                       false, false, false},
        ConnectionCase{"Http10Default", "GET / HTTP/1.0\r\n\r\n", false, false, false},
        ConnectionCase{"Http10KeepAlive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true,
                       false, false},
        ConnectionCase{"Http10KeepAliveAndClose",
                       "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false, false,
                       false},
        ConnectionCase{"ExpectContinue",
                       "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: "
                       "1\r\n\r\n",
                       true, true, false},
        ConnectionCase{"ExpectOther", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue-x\r\n\r\n",
                       true, false, false},
        ConnectionCase{"ExpectIgnoredInHttp10", "PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
                       false, false, false},
        ConnectionCase{"Upgrade",
                       "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: "
                       "websocket\r\n\r\n",
                       true, false, true},
        ConnectionCase{"UpgradeHeaderWithoutConnectionOption",
                       "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", true, false,
                       false},
        ConnectionCase{"ConnectionUpgradeWithoutUpgradeHeader",
                       "GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n", true, false,
                       false},
        ConnectionCase{
            "H2cUpgradeIsNotHonoured",
            "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: "
            "h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n",
            true, false, false},
        ConnectionCase{"UpgradeIgnoredInHttp10",
                       "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", false,
                       false, false}),
    [](const testing::TestParamInfo<ConnectionCase>& info) {
      return std::string(info.param.name);
    });

TEST(ResponseHeadTest, ParsesStatusLine) {
  const std::string data = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc";
  ResponseHead head;
  ASSERT_EQ(parse_response(data, head), kComplete);
  EXPECT_EQ(head.version_minor, 1);
  EXPECT_EQ(head.status, 404);
  EXPECT_EQ(head.reason, "Not Found");
  EXPECT_EQ(head.framing, BodyFraming::kContentLength);
  EXPECT_EQ(head.content_length, 3U);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_EQ(head.head_size, data.size() - 3);
  ASSERT_NE(head.find("content-length"), nullptr);

  ASSERT_EQ(parse_response("HTTP/1.0 200 \r\nContent-Length: 0\r\n\r\n", head), kComplete);
  EXPECT_EQ(head.reason, "");
  EXPECT_EQ(head.version_minor, 0);
  EXPECT_FALSE(head.keep_alive);
  ASSERT_EQ(parse_response("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", head), kComplete);
  EXPECT_EQ(head.reason, "");
}

TEST(ResponseHeadTest, IncrementalByteByByte) {
  const std::string data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t n = 0; n < data.size(); ++n) {
    ResponseHead head;
    ASSERT_EQ(parse_response(std::string_view(data).substr(0, n), head), kNeedMore) << n;
  }
  ResponseHead head;
  ASSERT_EQ(parse_response(data, head), kComplete);
  EXPECT_EQ(head.framing, BodyFraming::kChunked);
}

struct FramingCase {
  const char* name;
  std::string method;
  std::string head;
  BodyFraming framing;
  bool keep_alive;
};

void PrintTo(const FramingCase& c, std::ostream* os) {
  *os << c.name;
}

class ResponseFramingTest : public testing::TestWithParam<FramingCase> {};

TEST_P(ResponseFramingTest, Derived) {
  ResponseHead head;
  ASSERT_EQ(parse_response(GetParam().head, head, GetParam().method), kComplete);
  EXPECT_EQ(head.framing, GetParam().framing);
  EXPECT_EQ(head.keep_alive, GetParam().keep_alive);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, ResponseFramingTest,
    testing::Values(
        FramingCase{"HeadRequest", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
                    BodyFraming::kNone, true},
        FramingCase{"NoContent", "GET", "HTTP/1.1 204 No Content\r\n\r\n", BodyFraming::kNone,
                    true},
        FramingCase{"NotModified", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
                    BodyFraming::kNone, true},
        FramingCase{"Continue", "PUT", "HTTP/1.1 100 Continue\r\n\r\n", BodyFraming::kNone, true},
        FramingCase{"SwitchingProtocols", "GET",
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                    "upgrade\r\n\r\n",
                    BodyFraming::kNone, true},
        FramingCase{"Connect2xx", "CONNECT", "HTTP/1.1 200 Connection Established\r\n\r\n",
                    BodyFraming::kNone, true},
        FramingCase{"ConnectRefused", "CONNECT", "HTTP/1.1 407 Auth\r\nContent-Length: 2\r\n\r\n",
                    BodyFraming::kContentLength, true},
        FramingCase{"Chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                    BodyFraming::kChunked, true},
        FramingCase{"GzipThenChunked", "GET",
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                    BodyFraming::kChunked, true},
        FramingCase{"ChunkedNotLast", "GET",
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                    BodyFraming::kUntilClose, false},
        FramingCase{"CloseDelimited", "GET", "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n",
                    BodyFraming::kUntilClose, false},
        FramingCase{"Http10KeepAlive", "GET",
                    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
                    BodyFraming::kContentLength, true},
        FramingCase{"Http11Close", "GET",
                    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
                    BodyFraming::kContentLength, false}),
    [](const testing::TestParamInfo<FramingCase>& info) { return std::string(info.param.name); });

class ResponseHeadErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ResponseHeadErrorTest, IsRejected) {
  ResponseHead head;
  EXPECT_EQ(parse_response(GetParam().head, head), error(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ResponseHeadErrorTest,
    testing::Values(
        ErrorCase{"StatusTooSmall", "HTTP/1.1 099 X\r\n\r\n", ParseError::kBadStatusLine},
        ErrorCase{"StatusTooLarge", "HTTP/1.1 600 X\r\n\r\n", ParseError::kBadStatusLine},
        ErrorCase{"StatusFourDigits", "HTTP/1.1 2000 X\r\n\r\n", ParseError::kBadStatusLine},
        ErrorCase{"StatusTwoDigits", "HTTP/1.1 20 X\r\n\r\n", ParseError::kBadStatusLine},
        ErrorCase{"Http2", "HTTP/2 200 OK\r\n\r\n", ParseError::kBadStatusLine},
        ErrorCase{"DoubleSpace", "HTTP/1.1  200 OK\r\n\r\n", ParseError::kBadStatusLine},
        ErrorCase{"LowercaseVersion", "http/1.1 200 OK\r\n\r\n", ParseError::kBadStatusLine},
        ErrorCase{"CtlInReason", "HTTP/1.1 200 O\x01K\r\n\r\n", ParseError::kBadStatusLine},
        ErrorCase{"LeadingEmptyLine", "\r\nHTTP/1.1 200 OK\r\n\r\n", ParseError::kBadStatusLine},
        ErrorCase{"ContentLengthAndTransferEncoding",
                  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
                  ParseError::kContentLengthWithTransferEncoding},
        ErrorCase{"DifferingContentLengths",
                  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
                  ParseError::kBadContentLength},
        ErrorCase{"TransferEncodingInHttp10",
                  "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                  ParseError::kTransferEncodingInHttp10},
        ErrorCase{"ObsFold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", ParseError::kObsFold},
        ErrorCase{"BareLf", "HTTP/1.1 200 OK\nX: a\r\n\r\n", ParseError::kBareLf}),
    [](const testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

TEST(ParseErrorTest, StatusForEveryError) {
  const std::pair<ParseError, int> expected[] = {
      {ParseError::kBadRequestLine, 400},
      {ParseError::kBadVersion, 400},
      {ParseError::kUnsupportedVersion, 505},
      {ParseError::kRequestLineTooLong, 414},
      {ParseError::kHeadTooLarge, 431},
      {ParseError::kTooManyHeaders, 431},
      {ParseError::kBadHeaderName, 400},
      {ParseError::kBadHeaderValue, 400},
      {ParseError::kObsFold, 400},
      {ParseError::kBareLf, 400},
      {ParseError::kMissingHost, 400},
      {ParseError::kDuplicateHost, 400},
      {ParseError::kBadContentLength, 400},
      {ParseError::kContentLengthWithTransferEncoding, 400},
      {ParseError::kTransferEncodingNotChunkedLast, 400},
      {ParseError::kUnsupportedTransferEncoding, 501},
      {ParseError::kTransferEncodingInHttp10, 400},
      {ParseError::kBadStatusLine, 502},
  };
  for (const auto& [error, status] : expected) {
    EXPECT_EQ(status_for(error), status) << name_of(error);
  }
}

TEST(ParseErrorTest, NamesAreDistinctSnakeCase) {
  EXPECT_EQ(name_of(ParseError::kObsFold), "obs_fold");
  EXPECT_EQ(name_of(ParseError::kContentLengthWithTransferEncoding),
            "content_length_with_transfer_encoding");
  std::vector<std::string_view> names;
  for (int e = 0; e <= static_cast<int>(ParseError::kBadStatusLine); ++e) {
    const std::string_view name = name_of(static_cast<ParseError>(e));
    ASSERT_FALSE(name.empty());
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"),
              std::string_view::npos)
        << name;
    for (const std::string_view seen : names) {
      EXPECT_NE(seen, name);
    }
    names.push_back(name);
  }
}

TEST(MessageTest, IequalsAndListTokens) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_FALSE(iequals("Content-Length", "content-lengt"));
  EXPECT_FALSE(iequals("a", "b"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_TRUE(list_contains_token("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(list_contains_token(" close ", "close"));
  EXPECT_TRUE(list_contains_token("a,\tclose\t,b", "CLOSE"));
  EXPECT_FALSE(list_contains_token("closed, xclose", "close"));
  EXPECT_FALSE(list_contains_token("", "close"));
}

}  // namespace
}  // namespace strait::http
