#include "proxy/http_head_writer.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <string_view>

#include "http/parser.h"

namespace strait::proxy {
namespace {

// Parses `raw` (which must outlive the returned head) as a complete request head.
http::RequestHead request(const std::string& raw) {
  http::RequestHead head;
  const http::ParseResult result = http::parse_request_head(raw, http::ParserLimits{}, head);
  EXPECT_EQ(result.status, http::ParseStatus::kComplete) << raw;
  return head;
}

http::ResponseHead response(const std::string& raw, std::string_view method = "GET") {
  http::ResponseHead head;
  const http::ParseResult result =
      http::parse_response_head(raw, http::ParserLimits{}, method, head);
  EXPECT_EQ(result.status, http::ParseStatus::kComplete) << raw;
  return head;
}

std::string write(const std::string& raw, const RequestEdits& edits) {
  std::string out = "stale bytes are replaced";
  write_request_head(request(raw), edits, out);
  return out;
}

std::string write_default(const std::string& raw, std::string_view path = "/") {
  RequestEdits edits;
  edits.path = path;
  return write(raw, edits);
}

std::string write_response(const std::string& raw, const ResponseEdits& edits = {},
                           std::string_view method = "GET") {
  std::string out = "stale bytes are replaced";
  write_response_head(response(raw, method), edits, out);
  return out;
}

TEST(WriteRequestHeadTest, ForwardsEndToEndFieldsInOrder) {
  EXPECT_EQ(
      write_default("GET /a?b=c HTTP/1.1\r\nHost: reviews\r\nAccept: */*\r\n"
                    "X-Custom:  spaced value \r\n\r\n",
                    "/a?b=c"),
      "GET /a?b=c HTTP/1.1\r\nHost: reviews\r\nAccept: */*\r\nX-Custom: spaced value\r\n\r\n");
}

TEST(WriteRequestHeadTest, TheStatedPortIsTheProxysOwn) {
  // An application's (or a plaintext caller's) x-strait-port never passes; the proxy adds its own.
  EXPECT_EQ(write_default("GET / HTTP/1.1\r\nHost: reviews\r\nX-Strait-Port: 7777\r\n\r\n"),
            "GET / HTTP/1.1\r\nHost: reviews\r\n\r\n");
  RequestEdits edits;
  edits.path = "/";
  edits.stated_port = 9090;
  EXPECT_EQ(write("GET / HTTP/1.1\r\nHost: reviews\r\nx-strait-port: 7777\r\n\r\n", edits),
            "GET / HTTP/1.1\r\nHost: reviews\r\nx-strait-port: 9090\r\n\r\n");
}

TEST(WriteRequestHeadTest, AlwaysSendsHttp11) {
  EXPECT_EQ(write_default("GET / HTTP/1.0\r\nHost: reviews\r\n\r\n"),
            "GET / HTTP/1.1\r\nHost: reviews\r\n\r\n");
}

TEST(WriteRequestHeadTest, DropsHopByHopFields) {
  EXPECT_EQ(write_default("GET / HTTP/1.1\r\n"
                          "Host: reviews\r\n"
                          "Connection: keep-alive\r\n"
                          "Keep-Alive: timeout=5\r\n"
                          "Proxy-Connection: keep-alive\r\n"
                          "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
                          "Proxy-Authenticate: Basic\r\n"
                          "Upgrade: h2c\r\n"
                          "TE: gzip\r\n"
                          "Accept: text/html\r\n"
                          "\r\n"),
            "GET / HTTP/1.1\r\nHost: reviews\r\nAccept: text/html\r\n\r\n");
}

TEST(WriteRequestHeadTest, HopByHopNamesAreCaseInsensitive) {
  EXPECT_EQ(write_default("GET / HTTP/1.1\r\nhost: reviews\r\nCONNECTION: close\r\n"
                          "keep-ALIVE: 1\r\nPROXY-connection: close\r\nte: GZIP\r\n\r\n"),
            "GET / HTTP/1.1\r\nhost: reviews\r\n\r\n");
}

TEST(WriteRequestHeadTest, DropsFieldsNamedInConnection) {
  EXPECT_EQ(write_default("GET / HTTP/1.1\r\nHost: reviews\r\n"
                          "Connection: keep-alive, X-Hop-One ,x-hop-two\r\n"
                          "X-Hop-One: 1\r\nX-HOP-TWO: 2\r\nX-Hop-Three: 3\r\n\r\n"),
            "GET / HTTP/1.1\r\nHost: reviews\r\nX-Hop-Three: 3\r\n\r\n");
}

// Connection is a list: several Connection fields name hop-by-hop fields together (RFC 9110 5.3).
TEST(WriteRequestHeadTest, DropsFieldsNamedInEveryConnectionField) {
  EXPECT_EQ(write_default("GET / HTTP/1.1\r\nHost: reviews\r\n"
                          "Connection: keep-alive\r\nConnection: X-Secret\r\n"
                          "X-Secret: internal\r\nAccept: */*\r\n\r\n"),
            "GET / HTTP/1.1\r\nHost: reviews\r\nAccept: */*\r\n\r\n");
}

TEST(WriteRequestHeadTest, KeepsTeTrailersOnly) {
  EXPECT_EQ(write_default("GET / HTTP/1.1\r\nHost: reviews\r\nTE: trailers, deflate;q=0.5\r\n\r\n"),
            "GET / HTTP/1.1\r\nHost: reviews\r\nte: trailers\r\n\r\n");
  EXPECT_EQ(write_default("GET / HTTP/1.1\r\nHost: reviews\r\nTE: Trailers\r\n\r\n"),
            "GET / HTTP/1.1\r\nHost: reviews\r\nte: trailers\r\n\r\n");
  EXPECT_EQ(write_default("GET / HTTP/1.1\r\nHost: reviews\r\nTE: deflate\r\n\r\n"),
            "GET / HTTP/1.1\r\nHost: reviews\r\n\r\n");
}

TEST(WriteRequestHeadTest, ReAddsChunkedFraming) {
  EXPECT_EQ(write_default("POST /upload HTTP/1.1\r\nHost: reviews\r\n"
                          "Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n",
                          "/upload"),
            "POST /upload HTTP/1.1\r\nHost: reviews\r\nContent-Type: text/plain\r\n"
            "transfer-encoding: chunked\r\n\r\n");
  // Content-Length is end-to-end framing and is forwarded as is.
  EXPECT_EQ(write_default("POST /u HTTP/1.1\r\nHost: reviews\r\nContent-Length: 5\r\n\r\n", "/u"),
            "POST /u HTTP/1.1\r\nHost: reviews\r\nContent-Length: 5\r\n\r\n");
}

TEST(WriteRequestHeadTest, KeepsUpgradeWhenUpgrading) {
  EXPECT_EQ(write_default("GET /ws HTTP/1.1\r\nHost: reviews\r\nConnection: Upgrade\r\n"
                          "Upgrade: websocket\r\nSec-WebSocket-Key: abc==\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n",
                          "/ws"),
            "GET /ws HTTP/1.1\r\nHost: reviews\r\nSec-WebSocket-Key: abc==\r\n"
            "Sec-WebSocket-Version: 13\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n");
}

TEST(WriteRequestHeadTest, AbsoluteFormAuthorityReplacesHost) {
  RequestEdits edits;
  edits.path = "/x?y=1";
  edits.authority = "ratings:9080";
  EXPECT_EQ(
      write("GET http://ratings:9080/x?y=1 HTTP/1.1\r\nHost: other\r\nAccept: */*\r\n\r\n", edits),
      "GET /x?y=1 HTTP/1.1\r\nAccept: */*\r\nhost: ratings:9080\r\n\r\n");
  // An HTTP/1.0 absolute-form request may come without Host: one is added.
  EXPECT_EQ(write("GET http://ratings/ HTTP/1.0\r\n\r\n",
                  RequestEdits{.path = "/", .authority = "ratings"}),
            "GET / HTTP/1.1\r\nhost: ratings\r\n\r\n");
}

TEST(WriteRequestHeadTest, AddsRequestIdAndForwardedProto) {
  RequestEdits edits;
  edits.path = "/";
  edits.request_id = "6f1c2d3e-0000-4000-8000-000000000001";
  edits.add_forwarded_proto = true;
  EXPECT_EQ(
      write("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n", edits),
      "GET / HTTP/1.1\r\nHost: reviews\r\n"
      "x-request-id: 6f1c2d3e-0000-4000-8000-000000000001\r\nx-forwarded-proto: http\r\n\r\n");
  // Without the edits, the request's own values pass through untouched.
  EXPECT_EQ(
      write_default("GET / HTTP/1.1\r\nHost: reviews\r\nX-Request-Id: mine\r\n"
                    "X-Forwarded-Proto: https\r\n\r\n"),
      "GET / HTTP/1.1\r\nHost: reviews\r\nX-Request-Id: mine\r\nX-Forwarded-Proto: https\r\n\r\n");
}

TEST(WriteRequestHeadTest, ReplacesIncomingClientCert) {
  constexpr std::string_view kXfcc =
      "By=spiffe://cluster.local/ns/prod/sa/reviews;URI=spiffe://cluster.local/ns/prod/sa/web";
  RequestEdits edits;
  edits.path = "/";
  edits.client_cert = kXfcc;
  EXPECT_EQ(write("GET / HTTP/1.1\r\nHost: reviews\r\n"
                  "X-Forwarded-Client-Cert: By=forged;URI=spiffe://evil/ns/x/sa/y\r\n"
                  "x-forwarded-client-cert: second forgery\r\n\r\n",
                  edits),
            "GET / HTTP/1.1\r\nHost: reviews\r\nx-forwarded-client-cert: " + std::string(kXfcc) +
                "\r\n\r\n");
  // Stripped even when the proxy adds none (outbound).
  EXPECT_EQ(
      write_default("GET / HTTP/1.1\r\nHost: reviews\r\nX-Forwarded-Client-Cert: forged\r\n\r\n"),
      "GET / HTTP/1.1\r\nHost: reviews\r\n\r\n");
  // Kept only when the caller explicitly trusts it.
  RequestEdits trusting;
  trusting.path = "/";
  trusting.strip_client_cert = false;
  EXPECT_EQ(
      write("GET / HTTP/1.1\r\nHost: reviews\r\nX-Forwarded-Client-Cert: kept\r\n\r\n", trusting),
      "GET / HTTP/1.1\r\nHost: reviews\r\nX-Forwarded-Client-Cert: kept\r\n\r\n");
}

TEST(WriteRequestHeadTest, StripsExpect) {
  EXPECT_EQ(write_default("PUT /f HTTP/1.1\r\nHost: reviews\r\nExpect: 100-continue\r\n"
                          "Content-Length: 3\r\n\r\n",
                          "/f"),
            "PUT /f HTTP/1.1\r\nHost: reviews\r\nContent-Length: 3\r\n\r\n");
}

TEST(WriteRequestHeadTest, WritesEditsInAFixedOrder) {
  RequestEdits edits;
  edits.path = "/p";
  edits.authority = "svc";
  edits.request_id = "id";
  edits.add_forwarded_proto = true;
  edits.client_cert = "By=x";
  EXPECT_EQ(write("POST http://svc/p HTTP/1.1\r\nHost: svc\r\nTE: trailers\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n",
                  edits),
            "POST /p HTTP/1.1\r\nhost: svc\r\ntransfer-encoding: chunked\r\nte: trailers\r\n"
            "x-request-id: id\r\nx-forwarded-proto: http\r\nx-forwarded-client-cert: By=x\r\n\r\n");
}

TEST(WriteResponseHeadTest, ForwardsEndToEndFields) {
  EXPECT_EQ(write_response("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                           "Content-Length: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
            "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n");
}

TEST(WriteResponseHeadTest, FieldsTheProxySetsReplaceTheUpstreams) {
  const std::vector<std::pair<std::string, std::string>> cors{{"access-control-allow-origin", "https://shop.example"}};
  ResponseEdits edits;
  edits.fields = &cors;
  const std::string out = write_response(
      "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\n", edits);
  EXPECT_EQ(out.find("Access-Control-Allow-Origin: *"), std::string::npos) << out;
  EXPECT_NE(out.find("access-control-allow-origin: https://shop.example\r\n"), std::string::npos) << out;
}

TEST(WriteResponseHeadTest, DropsHopByHopFields) {
  EXPECT_EQ(write_response("HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\n"
                           "Keep-Alive: timeout=5\r\nX-Hop: 1\r\nProxy-Authenticate: Basic\r\n"
                           "Upgrade: h2c\r\nContent-Length: 0\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(write_response("HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: X-Hop\r\n"
                           "X-Hop: 1\r\nContent-Length: 0\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}

TEST(WriteResponseHeadTest, ChunkedIsReAddedUnlessDechunked) {
  const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n";
  EXPECT_EQ(write_response(chunked),
            "HTTP/1.1 200 OK\r\nX-A: 1\r\ntransfer-encoding: chunked\r\n\r\n");
  EXPECT_EQ(write_response(chunked, {.dechunk = true}), "HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n");
}

TEST(WriteResponseHeadTest, ConnectionEdits) {
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(write_response(ok, {.close = true}),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nconnection: close\r\n\r\n");
  EXPECT_EQ(write_response(ok, {.keep_alive_10 = true}),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nconnection: keep-alive\r\n\r\n");
  // Closing wins over keep-alive.
  EXPECT_EQ(write_response(ok, {.close = true, .keep_alive_10 = true}),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nconnection: close\r\n\r\n");
  // An upstream's own "Connection: close" is not forwarded: the downstream connection is ours.
  EXPECT_EQ(write_response("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}

TEST(WriteResponseHeadTest, UpgradeKeepsConnectionAndUpgrade) {
  const std::string switching =
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  EXPECT_EQ(
      write_response(switching, {.close = true, .upgrade = true}),
      "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
      "connection: upgrade\r\nupgrade: websocket\r\n\r\n");
  // Without the upgrade edit (the proxy refused it), neither field goes through.
  EXPECT_EQ(write_response(switching),
            "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: "
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
}

TEST(WriteResponseHeadTest, StatusLine) {
  EXPECT_EQ(write_response("HTTP/1.0 404 Nope\r\nContent-Length: 0\r\n\r\n"),
            "HTTP/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n");
  // An empty reason phrase is filled in.
  EXPECT_EQ(write_response("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n"),
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(write_response("HTTP/1.1 204 \r\n\r\n"), "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(FormatRequestIdTest, IsAVersion4Uuid) {
  const std::regex uuid_v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  EXPECT_EQ(format_request_id(0, 0), "00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(format_request_id(~0ULL, ~0ULL), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  EXPECT_EQ(format_request_id(0x0123456789abcdefULL, 0xfedcba9876543210ULL),
            "01234567-89ab-4def-bedc-ba9876543210");
  std::set<std::string> seen;
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;  // a fixed xorshift sequence: deterministic
  for (int i = 0; i < 1000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const std::uint64_t high = x;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const std::string id = format_request_id(high, x);
    ASSERT_TRUE(std::regex_match(id, uuid_v4)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000U);  // 122 random bits survive: distinct inputs stay distinct
}

}  // namespace
}  // namespace strait::proxy

namespace strait::proxy {
namespace {

TEST(WriteResponseHeadFieldsTest, ProxyFieldsReplaceTheUpstreamsButSetCookieGoesBeside) {
  const std::string raw =
      "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nSet-Cookie: app=1\r\nContent-Length: "
      "0\r\n\r\n";
  const auto head = response(raw);
  const std::vector<std::pair<std::string, std::string>> fields{
      {"access-control-allow-origin", "https://shop.example"},
      {"set-cookie", "sticky=abc; Max-Age=60"}};
  ResponseEdits edits;
  edits.fields = &fields;
  std::string out;
  write_response_head(head, edits, out);
  EXPECT_EQ(out.find("Access-Control-Allow-Origin: *"), std::string::npos) << out;
  EXPECT_NE(out.find("access-control-allow-origin: https://shop.example\r\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("Set-Cookie: app=1\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("set-cookie: sticky=abc; Max-Age=60\r\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace strait::proxy
