#include "proxy/trace_context.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace strait::proxy {
namespace {

constexpr std::string_view kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kSpan = "00f067aa0ba902b7";

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& bytes) {
  std::string out(2 * N, '0');
  write_hex(bytes, out.data());
  return out;
}

TraceContext parse(TraceHeaders headers) {
  return parse_trace_context(headers);
}

TEST(TraceContext, W3cTraceparentAndTracestate) {
  const auto c = parse({.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                        .tracestate = "congo=t61rcWkgMzE"});
  ASSERT_TRUE(c.has_ids);
  EXPECT_EQ(c.format, TraceFormat::kW3c);
  EXPECT_EQ(hex(c.trace_id), kTrace);
  EXPECT_EQ(hex(c.span_id), kSpan);
  EXPECT_EQ(c.sampling, Sampling::kSampled);
  EXPECT_EQ(std::string_view(c.tracestate.data(), c.tracestate_size), "congo=t61rcWkgMzE");
  EXPECT_EQ(
      parse({.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}).sampling,
      Sampling::kNotSampled);
  // A future version may carry more after the flags.
  EXPECT_TRUE(
      parse({.traceparent = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"})
          .has_ids);
}

TEST(TraceContext, InvalidTraceparentsAreNoContext) {
  for (std::string_view bad : {
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",     // short flags
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero span
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // version 00 with more
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "",
       }) {
    EXPECT_FALSE(parse({.traceparent = bad}).has_ids) << bad;
  }
  // An overlong tracestate is dropped, the context kept.
  const std::string long_state(600, 'a');
  const auto c = parse({.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                        .tracestate = long_state});
  EXPECT_TRUE(c.has_ids);
  EXPECT_EQ(c.tracestate_size, 0);
}

TEST(TraceContext, B3SingleAndMulti) {
  auto c = parse({.b3 = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1-0102030405060708"});
  ASSERT_TRUE(c.has_ids);
  EXPECT_EQ(c.format, TraceFormat::kB3Single);
  EXPECT_EQ(c.sampling, Sampling::kSampled);
  // A 64-bit trace id is the low half.
  c = parse({.b3 = "a3ce929d0e0e4736-00f067aa0ba902b7"});
  ASSERT_TRUE(c.has_ids);
  EXPECT_EQ(hex(c.trace_id), "0000000000000000a3ce929d0e0e4736");
  EXPECT_EQ(c.sampling, Sampling::kUnset);
  EXPECT_EQ(parse({.b3 = "0"}).sampling, Sampling::kNotSampled);
  EXPECT_FALSE(parse({.b3 = "0"}).has_ids);
  EXPECT_EQ(parse({.b3 = "d"}).sampling, Sampling::kSampled);
  EXPECT_FALSE(parse({.b3 = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-x"}).has_ids);
  EXPECT_FALSE(parse({.b3 = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1-01-02"}).has_ids);

  c = parse({.x_b3_traceid = kTrace, .x_b3_spanid = kSpan, .x_b3_sampled = "0"});
  ASSERT_TRUE(c.has_ids);
  EXPECT_EQ(c.format, TraceFormat::kB3Multi);
  EXPECT_EQ(c.sampling, Sampling::kNotSampled);
  EXPECT_EQ(parse({.x_b3_traceid = kTrace, .x_b3_spanid = kSpan, .x_b3_flags = "1"}).sampling,
            Sampling::kSampled);
  EXPECT_FALSE(parse({.x_b3_traceid = kTrace}).has_ids);
  EXPECT_EQ(parse({.x_b3_sampled = "1"}).sampling, Sampling::kSampled);
  // W3C first.
  EXPECT_EQ(parse({.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                   .x_b3_traceid = kTrace,
                   .x_b3_spanid = kSpan})
                .format,
            TraceFormat::kW3c);
}

TEST(TraceContext, HeaderNamesInAnyCase) {
  TraceHeaders h;
  EXPECT_TRUE(note_trace_header(h, "TraceParent", "x"));
  EXPECT_TRUE(note_trace_header(h, "X-B3-SpanId", "y"));
  EXPECT_FALSE(note_trace_header(h, "x-request-id", "z"));
  EXPECT_EQ(h.traceparent, "x");
  EXPECT_EQ(h.x_b3_spanid, "y");
  EXPECT_TRUE(is_trace_header("B3"));
  EXPECT_FALSE(is_trace_header("b4"));
}

TEST(TraceContext, OutgoingHeadersCarryTheNewSpan) {
  auto c = parse({.b3 = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"});
  const SpanId span{1, 2, 3, 4, 5, 6, 7, 8};
  const OutgoingTraceHeaders out(c, span, c.span_id);
  std::map<std::string, std::string> fields;
  for (const auto& f : out.fields()) fields[std::string(f.name)] = std::string(f.value);
  EXPECT_EQ(fields["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-0102030405060708-01");
  EXPECT_EQ(fields["x-b3-traceid"], kTrace);
  EXPECT_EQ(fields["x-b3-spanid"], "0102030405060708");
  EXPECT_EQ(fields["x-b3-parentspanid"], kSpan);
  EXPECT_EQ(fields["x-b3-sampled"], "1");
  EXPECT_EQ(fields["b3"], "4bf92f3577b34da6a3ce929d0e0e4736-0102030405060708-1-00f067aa0ba902b7");
  EXPECT_EQ(fields.count("tracestate"), 0u);
  // What it wrote parses back to the same trace.
  const auto again = parse({.traceparent = fields["traceparent"]});
  EXPECT_EQ(again.trace_id, c.trace_id);
  EXPECT_EQ(again.span_id, span);
}

TEST(TraceContext, RandomIdsAndSampling) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(hex(new_trace_id()) + hex(new_span_id()));
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_TRUE(sample(100));
  EXPECT_FALSE(sample(0));
  int hits = 0;
  for (int i = 0; i < 10000; ++i) hits += sample(10) ? 1 : 0;
  EXPECT_GT(hits, 700);
  EXPECT_LT(hits, 1300);
}

constexpr std::string_view kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// The fields as (name, value) text, in order.
std::vector<std::pair<std::string, std::string>> texts(const OutgoingTraceHeaders& out) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& f : out.fields()) fields.emplace_back(f.name, f.value);
  return fields;
}

TEST(TraceContext, MoreInvalidTraceparents) {
  for (std::string_view bad : {
           "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",    // trace id 31 digits
           "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",  // trace id 33 digits
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",    // span id 15 digits
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b77-01",  // span id 17 digits
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",  // flags 3 digits
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // a trailing dash
           "00--4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // an extra dash
           "00-4bf92f3577b34da6a3ce929d0e0e4736--00f067aa0ba902b7-01",  // an extra dash
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",   // upper-case span
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",   // upper-case flags
           "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // upper-case version
           "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // not hex
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",   // not hex
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",   // not hex
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  // future: no '-' after
           " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // leading space
           "00-4bf92f3577b34da6a3ce929d0e0e4736",
       }) {
    const auto c = parse({.traceparent = bad});
    EXPECT_FALSE(c.has_ids) << bad;
    EXPECT_EQ(c.format, TraceFormat::kNone) << bad;
    EXPECT_EQ(c.sampling, Sampling::kUnset) << bad;  // no decision from a broken header
  }
  // A future version: the known fields are read; unknown flag bits are ignored.
  auto c = parse({.traceparent = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03"});
  ASSERT_TRUE(c.has_ids);
  EXPECT_EQ(c.sampling, Sampling::kSampled);
  c = parse({.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02"});
  ASSERT_TRUE(c.has_ids);
  EXPECT_EQ(c.sampling, Sampling::kNotSampled);
}

TEST(TraceContext, TracestateUpToItsLimitPassesThrough) {
  const std::string state(512, 'k');
  auto c = parse({.traceparent = kTraceparent, .tracestate = state});
  ASSERT_TRUE(c.has_ids);
  EXPECT_EQ(std::string_view(c.tracestate.data(), c.tracestate_size), state);
  const OutgoingTraceHeaders out(c, new_span_id(), c.span_id);
  const auto fields = texts(out);
  ASSERT_GE(fields.size(), 2u);
  EXPECT_EQ(fields[1].first, "tracestate");
  EXPECT_EQ(fields[1].second, state);
  // One byte more: dropped.
  c = parse({.traceparent = kTraceparent, .tracestate = state + "k"});
  EXPECT_TRUE(c.has_ids);
  EXPECT_EQ(c.tracestate_size, 0);
  // Without a valid traceparent there is no tracestate either (B3 carries none).
  c = parse({.tracestate = "a=b", .b3 = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"});
  EXPECT_TRUE(c.has_ids);
  EXPECT_EQ(c.tracestate_size, 0);
}

TEST(TraceContext, InvalidB3SingleHeaders) {
  for (std::string_view bad : {
           "4bf92f3577b34da6a3ce929d0e0e4736",                      // no span
           "4bf92f3577b34da6a3ce929d0e0e4736-",                     // empty span
           "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-",    // empty sampled
           "4bf92f3577b34da6a3ce929d0e0e4736--00f067aa0ba902b7",    // an extra dash
           "-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",    // a leading dash
           "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1-",  // empty parent
           "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1-0000000000000000",  // zero parent
           "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-true",  // words are multi only
           "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // sampled is one char
           "4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7",         // 30-digit trace
           "4bf92f3577b34da6a3-00f067aa0ba902b7",                     // 18-digit trace
           "4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7",       // upper case
           "00000000000000000000000000000000-00f067aa0ba902b7",       // zero trace
           "0000000000000000-00f067aa0ba902b7",                       // zero 64-bit trace
           "4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000",       // zero span
           "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902",         // short span
       }) {
    const auto c = parse({.b3 = bad});
    EXPECT_FALSE(c.has_ids) << bad;
    EXPECT_EQ(c.sampling, Sampling::kUnset) << bad;
  }
  EXPECT_EQ(parse({.b3 = "1"}).sampling, Sampling::kSampled);
  EXPECT_EQ(parse({.b3 = "x"}).sampling, Sampling::kUnset);
  // Debug in the full form is sampled too.
  EXPECT_EQ(parse({.b3 = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-d"}).sampling,
            Sampling::kSampled);
}

TEST(TraceContext, B3MultiHeaders) {
  auto c = parse({.x_b3_traceid = "a3ce929d0e0e4736",
                  .x_b3_spanid = kSpan,
                  .x_b3_parentspanid = "0102030405060708",
                  .x_b3_sampled = "true"});
  ASSERT_TRUE(c.has_ids);
  EXPECT_EQ(hex(c.trace_id), "0000000000000000a3ce929d0e0e4736");
  EXPECT_EQ(c.sampling, Sampling::kSampled);
  EXPECT_EQ(parse({.x_b3_traceid = kTrace, .x_b3_spanid = kSpan, .x_b3_sampled = "false"}).sampling,
            Sampling::kNotSampled);
  EXPECT_EQ(parse({.x_b3_traceid = kTrace, .x_b3_spanid = kSpan}).sampling, Sampling::kUnset);
  // Debug wins over a "not sampled".
  EXPECT_EQ(
      parse({.x_b3_traceid = kTrace, .x_b3_spanid = kSpan, .x_b3_sampled = "0", .x_b3_flags = "1"})
          .sampling,
      Sampling::kSampled);
  for (const TraceHeaders& bad : {
           TraceHeaders{.x_b3_spanid = kSpan},
           TraceHeaders{.x_b3_traceid = kTrace, .x_b3_spanid = "00f067aa0ba902b"},
           TraceHeaders{.x_b3_traceid = "4BF92F3577B34DA6A3CE929D0E0E4736", .x_b3_spanid = kSpan},
           TraceHeaders{.x_b3_traceid = kTrace, .x_b3_spanid = "0000000000000000"},
           TraceHeaders{.x_b3_traceid = kTrace, .x_b3_spanid = kSpan, .x_b3_parentspanid = "12"},
       }) {
    EXPECT_FALSE(parse(bad).has_ids) << bad.x_b3_traceid << " " << bad.x_b3_spanid;
  }
  // Broken ids, but the sampling decision alone is kept.
  c = parse({.x_b3_traceid = "zz", .x_b3_spanid = kSpan, .x_b3_sampled = "1"});
  EXPECT_FALSE(c.has_ids);
  EXPECT_EQ(c.sampling, Sampling::kSampled);
}

TEST(TraceContext, Precedence) {
  const std::string_view other_trace = "0af7651916cd43dd8448eb211c80319c";
  // traceparent over b3 over x-b3-*.
  auto c = parse({.traceparent = kTraceparent,
                  .b3 = "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",
                  .x_b3_traceid = other_trace,
                  .x_b3_spanid = "b7ad6b7169203331"});
  EXPECT_EQ(c.format, TraceFormat::kW3c);
  EXPECT_EQ(hex(c.trace_id), kTrace);
  c = parse({.b3 = "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",
             .x_b3_traceid = kTrace,
             .x_b3_spanid = kSpan,
             .x_b3_sampled = "1"});
  EXPECT_EQ(c.format, TraceFormat::kB3Single);
  EXPECT_EQ(hex(c.trace_id), other_trace);
  EXPECT_EQ(c.sampling, Sampling::kNotSampled);
  // An invalid traceparent falls through to B3.
  c = parse({.traceparent = "00-zz", .b3 = "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331"});
  EXPECT_EQ(c.format, TraceFormat::kB3Single);
  c = parse({.traceparent = "00-zz", .x_b3_traceid = kTrace, .x_b3_spanid = kSpan});
  EXPECT_EQ(c.format, TraceFormat::kB3Multi);
  // A bare b3 decision with multi ids: the ids from x-b3-*, and b3 "0" is not theirs to override.
  c = parse({.b3 = "0", .x_b3_traceid = kTrace, .x_b3_spanid = kSpan, .x_b3_sampled = "1"});
  EXPECT_EQ(c.format, TraceFormat::kB3Multi);
  EXPECT_EQ(c.sampling, Sampling::kSampled);
  // Nothing at all.
  c = parse({});
  EXPECT_FALSE(c.has_ids);
  EXPECT_EQ(c.format, TraceFormat::kNone);
  EXPECT_EQ(c.sampling, Sampling::kUnset);
}

TEST(TraceContext, OutgoingHeadersExactText) {
  // W3C in, not sampled, a root (no parent): no b3 single header, no x-b3-parentspanid.
  auto c = parse({.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
                  .tracestate = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"});
  const SpanId span{0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18};
  const OutgoingTraceHeaders w3c(c, span, SpanId{});
  EXPECT_EQ(texts(w3c),
            (std::vector<std::pair<std::string, std::string>>{
                {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-a1b2c3d4e5f60718-00"},
                {"tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"},
                {"x-b3-traceid", "4bf92f3577b34da6a3ce929d0e0e4736"},
                {"x-b3-spanid", "a1b2c3d4e5f60718"},
                {"x-b3-sampled", "0"},
            }));
  // B3 single in, sampled, with a parent: every form, the 64-bit trace id written in 32 digits.
  c = parse({.b3 = "a3ce929d0e0e4736-00f067aa0ba902b7-1"});
  const OutgoingTraceHeaders b3(c, span, c.span_id);
  EXPECT_EQ(texts(b3),
            (std::vector<std::pair<std::string, std::string>>{
                {"traceparent", "00-0000000000000000a3ce929d0e0e4736-a1b2c3d4e5f60718-01"},
                {"x-b3-traceid", "0000000000000000a3ce929d0e0e4736"},
                {"x-b3-spanid", "a1b2c3d4e5f60718"},
                {"x-b3-parentspanid", "00f067aa0ba902b7"},
                {"x-b3-sampled", "1"},
                {"b3", "0000000000000000a3ce929d0e0e4736-a1b2c3d4e5f60718-1-00f067aa0ba902b7"},
            }));
  // B3 single without a parent: "{trace}-{span}-{sampled}"; an unset decision goes on as 0.
  c = parse({.b3 = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"});
  const OutgoingTraceHeaders root(c, span, SpanId{});
  const auto fields = texts(root);
  ASSERT_EQ(fields.size(), 5u);
  EXPECT_EQ(fields[3], (std::pair<std::string, std::string>{"x-b3-sampled", "0"}));
  EXPECT_EQ(fields[4], (std::pair<std::string, std::string>{
                           "b3", "4bf92f3577b34da6a3ce929d0e0e4736-a1b2c3d4e5f60718-0"}));
  // Every name is one the proxy recognizes (and so replaces) when it comes in.
  for (const auto& f : b3.fields()) EXPECT_TRUE(is_trace_header(f.name)) << f.name;
}

TEST(TraceContext, NewIdsAreNonZeroAndDifferPerThread) {
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(is_zero(new_trace_id()));
    EXPECT_FALSE(is_zero(new_span_id()));
  }
  // Two threads do not share a sequence (each seeds its own generator from the OS).
  std::string a, b;
  std::thread([&] { a = hex(new_trace_id()); }).join();
  std::thread([&] { b = hex(new_trace_id()); }).join();
  EXPECT_NE(a, b);
  // The bits are spread: every hex digit shows up in a few ids.
  std::set<char> digits;
  for (int i = 0; i < 20; ++i)
    for (char d : hex(new_trace_id())) digits.insert(d);
  EXPECT_EQ(digits.size(), 16u);
  char out[4];
  write_hex(std::array<std::uint8_t, 2>{0x0f, 0xa0}, out);
  EXPECT_EQ(std::string_view(out, 4), "0fa0");
  EXPECT_FALSE(sample(-5));
  EXPECT_TRUE(sample(250));
}

}  // namespace
}  // namespace strait::proxy
