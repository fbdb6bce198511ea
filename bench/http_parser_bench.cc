// Micro-benchmarks of the HTTP/1.1 head parser and the chunked-body decoder (src/http/parser.h).
// Run: build/bin/http_parser_bench --benchmark_min_time=0.2

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "http/message.h"
#include "http/parser.h"

namespace {

using strait::http::ChunkedDecoder;
using strait::http::ParserLimits;
using strait::http::ParseStatus;
using strait::http::RequestHead;

// A typical browser GET (405 bytes): nine header fields, cookies, an Accept list.
constexpr std::string_view kBrowserGet =
    "GET /productpage?user=jason&page=2 HTTP/1.1\r\n"
    "Host: bookinfo.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://bookinfo.example.com/\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=5f2b8c1e9a; theme=dark\r\n"
    "\r\n";

// A small API POST with a Content-Length body (the body itself is not part of the head).
constexpr std::string_view kSmallPost =
    "POST /api/v1/ratings HTTP/1.1\r\n"
    "Host: ratings:9080\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 27\r\n"
    "\r\n";

void parse_head(benchmark::State& state, std::string_view head) {
  const ParserLimits limits;
  RequestHead out;
  for (auto _ : state) {
    const auto result = strait::http::parse_request_head(head, limits, out);
    if (result.status != ParseStatus::kComplete) {
      state.SkipWithError("head did not parse");
      break;
    }
    benchmark::DoNotOptimize(out.head_size);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * head.size()));
  state.counters["head_bytes"] = static_cast<double>(head.size());
}

void BM_ParseRequestHead_BrowserGet(benchmark::State& state) { parse_head(state, kBrowserGet); }
BENCHMARK(BM_ParseRequestHead_BrowserGet);

void BM_ParseRequestHead_SmallPost(benchmark::State& state) { parse_head(state, kSmallPost); }
BENCHMARK(BM_ParseRequestHead_SmallPost);

// A 64 KiB body framed as 16 chunks of 4 KiB each, the last chunk and an empty trailer section.
std::string chunked_body(std::size_t total, std::size_t chunk) {
  std::string out;
  const std::string data(chunk, 'x');
  char size_line[32];
  for (std::size_t sent = 0; sent < total; sent += chunk) {
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk);
    out.append(size_line, static_cast<std::size_t>(n));
    out += data;
    out += "\r\n";
  }
  out += "0\r\n\r\n";
  return out;
}

void BM_ChunkedDecoder_64KiB_4KiBChunks(benchmark::State& state) {
  constexpr std::size_t kTotal = 64 * 1024;
  const std::string wire = chunked_body(kTotal, 4 * 1024);
  for (auto _ : state) {
    ChunkedDecoder decoder;
    std::string_view rest = wire;
    std::size_t body = 0;
    while (true) {
      const auto step = decoder.next(rest);
      rest.remove_prefix(step.consumed);
      if (step.status == ChunkedDecoder::Status::kData) {
        body += step.data.size();
        benchmark::DoNotOptimize(step.data.data());
      } else if (step.status == ChunkedDecoder::Status::kDone) {
        break;
      } else {
        state.SkipWithError(step.status == ChunkedDecoder::Status::kError ? "decoder error"
                                                                           : "decoder wants more");
        return;
      }
    }
    if (body != kTotal) {
      state.SkipWithError("decoded body has the wrong size");
      return;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
}
BENCHMARK(BM_ChunkedDecoder_64KiB_4KiBChunks);

}  // namespace

BENCHMARK_MAIN();
