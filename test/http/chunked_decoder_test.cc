#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "http/parser.h"

namespace strait::http {
namespace {

using namespace std::string_literals;
using Status = ChunkedDecoder::Status;

const char* status_name(Status status) {
  switch (status) {
    case Status::kNeedMore:
      return "need_more";
    case Status::kData:
      return "data";
    case Status::kDone:
      return "done";
    case Status::kError:
      return "error";
  }
  return "invalid";
}

struct Decoded {
  std::string final_status;  // "done", "error" or "need_more"
  std::string data;
  std::size_t consumed = 0;
};

// Offers the whole input at once, then the unconsumed rest, until the decoder stops.
Decoded decode_all(std::string_view input, std::size_t max_trailer = 16 * 1024) {
  ChunkedDecoder decoder(max_trailer);
  Decoded out;
  while (true) {
    const ChunkedDecoder::Step step = decoder.next(input.substr(out.consumed));
    EXPECT_LE(step.consumed, input.size() - out.consumed);
    out.consumed += step.consumed;
    if (step.status == Status::kData) {
      EXPECT_FALSE(step.data.empty());
      out.data += step.data;
      continue;
    }
    out.final_status = status_name(step.status);
    return out;
  }
}

// Offers one more byte at a time, keeping what the decoder did not consume.
Decoded decode_byte_by_byte(std::string_view input) {
  ChunkedDecoder decoder;
  Decoded out;
  std::string pending;
  for (const char c : input) {
    pending += c;
    while (true) {
      const ChunkedDecoder::Step step = decoder.next(pending);
      out.consumed += step.consumed;
      out.data += step.data;  // before erase(): the span views `pending`
      pending.erase(0, step.consumed);
      if (step.status == Status::kData) {
        continue;
      }
      out.final_status = status_name(step.status);
      if (step.status != Status::kNeedMore) {
        return out;
      }
      break;
    }
  }
  return out;
}

TEST(ChunkedDecoderTest, EmptyInputNeedsMore) {
  ChunkedDecoder decoder;
  const ChunkedDecoder::Step step = decoder.next("");
  EXPECT_EQ(step.status, Status::kNeedMore);
  EXPECT_EQ(step.consumed, 0U);
  EXPECT_FALSE(decoder.done());
}

TEST(ChunkedDecoderTest, OneDataSpanPerCall) {
  const std::string body = "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
  ChunkedDecoder decoder;
  std::string_view rest = body;

  ChunkedDecoder::Step step = decoder.next(rest);
  ASSERT_EQ(step.status, Status::kData);
  EXPECT_EQ(step.data, "abc");
  EXPECT_EQ(step.consumed, 6U);  // "3\r\nabc"
  rest.remove_prefix(step.consumed);

  step = decoder.next(rest);
  ASSERT_EQ(step.status, Status::kData);
  EXPECT_EQ(step.data, "defg");
  EXPECT_EQ(step.consumed, 9U);  // "\r\n4\r\ndefg"
  rest.remove_prefix(step.consumed);

  step = decoder.next(rest);
  ASSERT_EQ(step.status, Status::kDone);
  EXPECT_EQ(step.consumed, rest.size());
  EXPECT_TRUE(decoder.done());

  step = decoder.next("more");
  EXPECT_EQ(step.status, Status::kDone);
  EXPECT_EQ(step.consumed, 0U);
}

TEST(ChunkedDecoderTest, ChunkSplitAcrossReads) {
  ChunkedDecoder decoder;
  ChunkedDecoder::Step step = decoder.next("a\r\n0123");
  ASSERT_EQ(step.status, Status::kData);
  EXPECT_EQ(step.data, "0123");
  EXPECT_EQ(step.consumed, 7U);
  step = decoder.next("");
  EXPECT_EQ(step.status, Status::kNeedMore);
  step = decoder.next("456789\r");
  ASSERT_EQ(step.status, Status::kData);
  EXPECT_EQ(step.data, "456789");
  EXPECT_EQ(step.consumed, 6U);
  step = decoder.next("\r");
  EXPECT_EQ(step.status, Status::kNeedMore);
  EXPECT_EQ(step.consumed, 1U);
  step = decoder.next("\n0\r\n\r\n");
  EXPECT_EQ(step.status, Status::kDone);
  EXPECT_EQ(step.consumed, 6U);
}

TEST(ChunkedDecoderTest, StopsAtTheEndOfTheBody) {
  const std::string body = "1\r\nx\r\n0\r\n\r\n";
  const Decoded decoded = decode_all(body + "GET / HTTP/1.1\r\n");
  EXPECT_EQ(decoded.final_status, "done");
  EXPECT_EQ(decoded.data, "x");
  EXPECT_EQ(decoded.consumed, body.size());
}

struct ValidCase {
  const char* name;
  std::string body;
  std::string data;
};

void PrintTo(const ValidCase& c, std::ostream* os) {
  *os << c.name;
}

class ChunkedValidTest : public testing::TestWithParam<ValidCase> {};

TEST_P(ChunkedValidTest, DecodesWholeAndByteByByte) {
  const Decoded whole = decode_all(GetParam().body);
  EXPECT_EQ(whole.final_status, "done");
  EXPECT_EQ(whole.data, GetParam().data);
  EXPECT_EQ(whole.consumed, GetParam().body.size());
  const Decoded bytes = decode_byte_by_byte(GetParam().body);
  EXPECT_EQ(bytes.final_status, "done");
  EXPECT_EQ(bytes.data, GetParam().data);
  EXPECT_EQ(bytes.consumed, GetParam().body.size());
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, ChunkedValidTest,
    testing::Values(
        ValidCase{"Empty", "0\r\n\r\n", ""},
        ValidCase{"TwoChunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"},
        ValidCase{"HexDigits", "a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n",
                  "0123456789abcdefghij"},
        ValidCase{"LeadingZeros", "0000000000000003\r\nabc\r\n000\r\n\r\n", "abc"},
        ValidCase{"BinaryData", "4\r\n\r\n\0\n\r\n0\r\n\r\n"s, "\r\n\0\n"s},
        ValidCase{"Extensions",
                  "3;name\r\nabc\r\n3;a=b;c=\"quoted \\\" ; value\"\r\ndef\r\n0;last=1\r\n\r\n",
                  "abcdef"},
        ValidCase{"Trailers",
                  "2\r\nok\r\n0\r\nExpires: never\r\nX-Checksum:\tabc def \r\nX-E:\r\n\r\n", "ok"}),
    [](const testing::TestParamInfo<ValidCase>& info) { return std::string(info.param.name); });

struct InvalidCase {
  const char* name;
  std::string body;
};

void PrintTo(const InvalidCase& c, std::ostream* os) {
  *os << c.name;
}

class ChunkedInvalidTest : public testing::TestWithParam<InvalidCase> {};

TEST_P(ChunkedInvalidTest, IsRejected) {
  const Decoded whole = decode_all(GetParam().body);
  EXPECT_EQ(whole.final_status, "error");
  EXPECT_LT(whole.consumed, GetParam().body.size());
  EXPECT_EQ(decode_byte_by_byte(GetParam().body).final_status, "error");
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, ChunkedInvalidTest,
    testing::Values(
        // Chunk size.
        InvalidCase{"SizeNotHex", "g\r\n"}, InvalidCase{"SizeEmpty", "\r\nabc\r\n0\r\n\r\n"},
        InvalidCase{"SizeWithHexPrefix", "0x10\r\n0123456789abcdef\r\n0\r\n\r\n"},
        InvalidCase{"SizeNegative", "-1\r\nx\r\n0\r\n\r\n"},
        InvalidCase{"SizePlusSign", "+1\r\nx\r\n0\r\n\r\n"},
        InvalidCase{"SizeOverflow", "10000000000000000\r\nx\r\n"},
        InvalidCase{"SizeTooManyDigits", "00000000000000001\r\nx\r\n0\r\n\r\n"},
        InvalidCase{"SizeLeadingSpace", " 1\r\nx\r\n0\r\n\r\n"},
        InvalidCase{"SizeTrailingSpace", "1 \r\nx\r\n0\r\n\r\n"},
        InvalidCase{"SizeBareLf", "1\nx\r\n0\r\n\r\n"},
        InvalidCase{"SizeCrWithoutLf", "1\rx\r\n0\r\n\r\n"},
        // Chunk data not followed by CRLF.
        InvalidCase{"DataLongerThanSize", "3\r\nhello\r\n0\r\n\r\n"},
        InvalidCase{"DataFollowedByLf", "5\r\nhello\n0\r\n\r\n"},
        InvalidCase{"DataFollowedByCrOnly", "5\r\nhello\r0\r\n\r\n"},
        InvalidCase{"DataFollowedByLfCr", "5\r\nhello\n\r0\r\n\r\n"},
        // Chunk extensions.
        InvalidCase{"ExtensionSpaceBeforeSemicolon", "1 ;a\r\nx\r\n0\r\n\r\n"},
        InvalidCase{"ExtensionSpaceAfterSemicolon", "1; a\r\nx\r\n0\r\n\r\n"},
        InvalidCase{"ExtensionSpaceAroundEquals", "1;a = b\r\nx\r\n0\r\n\r\n"},
        InvalidCase{"ExtensionEmptyName", "1;=b\r\nx\r\n0\r\n\r\n"},
        InvalidCase{"ExtensionEmpty", "1;\r\nx\r\n0\r\n\r\n"},
        InvalidCase{"ExtensionEmptyValue", "1;a=\r\nx\r\n0\r\n\r\n"},
        InvalidCase{"ExtensionBadNameChar", "1;a@b\r\nx\r\n0\r\n\r\n"},
        InvalidCase{"ExtensionTextAfterQuote", "1;a=\"b\"c\r\nx\r\n0\r\n\r\n"},
        InvalidCase{"ExtensionCtlInQuote", "1;a=\"b\x01\"\r\nx\r\n0\r\n\r\n"},
        InvalidCase{"ExtensionUnterminatedQuote", "1;a=\"b\r\nx\r\n0\r\n\r\n"},
        InvalidCase{"ExtensionBareLf", "1;a=b\nx\r\n0\r\n\r\n"},
        InvalidCase{"ExtensionTooLong", "1;a=" + std::string(5000, 'b') + "\r\nx\r\n0\r\n\r\n"},
        // Trailer section.
        InvalidCase{"TrailerObsFold", "0\r\nX: a\r\n b\r\n\r\n"},
        InvalidCase{"TrailerSpaceBeforeColon", "0\r\nX : a\r\n\r\n"},
        InvalidCase{"TrailerEmptyName", "0\r\n: a\r\n\r\n"},
        InvalidCase{"TrailerNoColon", "0\r\nX\r\n\r\n"},
        InvalidCase{"TrailerNulInValue", "0\r\nX: a\0b\r\n\r\n"s},
        InvalidCase{"TrailerCrInValue", "0\r\nX: a\rb\r\n\r\n"},
        InvalidCase{"TrailerBareLf", "0\r\nX: a\n\r\n"}, InvalidCase{"FinalBareLf", "0\r\n\n"},
        InvalidCase{"FinalCrWithoutLf", "0\r\n\rX"}),
    [](const testing::TestParamInfo<InvalidCase>& info) { return std::string(info.param.name); });

TEST(ChunkedDecoderTest, ErrorIsSticky) {
  ChunkedDecoder decoder;
  ChunkedDecoder::Step step = decoder.next("12z\r\n");
  EXPECT_EQ(step.status, Status::kError);
  EXPECT_EQ(step.consumed, 2U);  // stops before the offending byte
  step = decoder.next("0\r\n\r\n");
  EXPECT_EQ(step.status, Status::kError);
  EXPECT_EQ(step.consumed, 0U);
  EXPECT_FALSE(decoder.done());
}

TEST(ChunkedDecoderTest, MaximalChunkSizeIsAccepted) {
  ChunkedDecoder decoder;
  const ChunkedDecoder::Step step = decoder.next("FFFFFFFFFFFFFFFF\r\nabc");
  ASSERT_EQ(step.status, Status::kData);
  EXPECT_EQ(step.data, "abc");
}

TEST(ChunkedDecoderTest, IncompleteBodyNeedsMore) {
  for (const char* body : {"5\r\nhel", "5\r\nhello\r\n", "0\r\n", "0\r\nX: y\r\n", "0\r\n\r"}) {
    const Decoded decoded = decode_all(body);
    EXPECT_EQ(decoded.final_status, "need_more") << body;
    EXPECT_EQ(decoded.consumed, std::string_view(body).size()) << body;
  }
}

TEST(ChunkedDecoderTest, TrailerSizeIsBounded) {
  const std::string fields = "X-A: 12345\r\nX-B: 6\r\n";  // the final CRLF does not count
  const std::string body = "0\r\n" + fields + "\r\n";
  EXPECT_EQ(decode_all(body, fields.size()).final_status, "done");
  EXPECT_EQ(decode_all(body, fields.size() - 1).final_status, "error");
  EXPECT_EQ(decode_all("0\r\n\r\n", 0).final_status, "done");
  EXPECT_EQ(decode_all("0\r\nX: y\r\n\r\n", 0).final_status, "error");
}

TEST(ChunkedDecoderTest, ForwardedBytesReproduceTheBody) {
  const std::string body =
      "4;x=y\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: v\r\n\r\n";
  ChunkedDecoder decoder;
  std::string forwarded;
  std::string data;
  std::string_view rest = body;
  while (!decoder.done()) {
    const ChunkedDecoder::Step step = decoder.next(rest);
    ASSERT_NE(step.status, Status::kError);
    ASSERT_NE(step.status, Status::kNeedMore);
    forwarded += rest.substr(0, step.consumed);
    data += step.data;
    rest.remove_prefix(step.consumed);
  }
  EXPECT_EQ(forwarded, body);
  EXPECT_EQ(data, "Wikipedia in\r\n\r\nchunks.");
}

}  // namespace
TEST(ChunkedDecoderCaptureTest, TrailerLinesAreCapturedWithoutTheClosingLine) {
  ChunkedDecoder decoder;
  std::string trailers;
  decoder.capture_trailers(&trailers);
  std::string_view input = "3\r\nabc\r\n0\r\nGrpc-Status: 0\r\nX-A:  b \r\n\r\n";
  while (!decoder.done()) {
    const auto step = decoder.next(input);
    ASSERT_NE(step.status, ChunkedDecoder::Status::kError);
    input.remove_prefix(step.consumed);
  }
  EXPECT_EQ(trailers, "Grpc-Status: 0\r\nX-A:  b \r\n");
}

}  // namespace strait::http
