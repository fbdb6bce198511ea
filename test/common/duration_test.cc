#include "common/duration.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>

namespace strait {
namespace {

using std::chrono::milliseconds;

// "ok:<ms>" or "error:<message>", so that a failure prints what was parsed.
std::string parse(std::string_view text) {
  const auto d = parse_duration(text);
  if (!d) return "error:" + d.error();
  return "ok:" + std::to_string(d->count());
}

bool fails(std::string_view text) {
  return !parse_duration(text).has_value();
}

TEST(ParseDurationTest, SingleUnits) {
  EXPECT_EQ(parse("30ms"), "ok:30");
  EXPECT_EQ(parse("5s"), "ok:5000");
  EXPECT_EQ(parse("2m"), "ok:120000");
  EXPECT_EQ(parse("1h"), "ok:3600000");
  EXPECT_EQ(parse("0s"), "ok:0");
  EXPECT_EQ(parse("0ms"), "ok:0");
  EXPECT_EQ(parse("7000000ns"), "ok:7");
  EXPECT_EQ(parse("2500us"), "ok:2");
}

TEST(ParseDurationTest, CompoundTerms) {
  EXPECT_EQ(parse("1m30s"), "ok:90000");
  EXPECT_EQ(parse("1h1m1s1ms"), "ok:3661001");
  EXPECT_EQ(parse("1s500ms"), "ok:1500");
  // Terms add up in any order, as in Go's time.ParseDuration.
  EXPECT_EQ(parse("30s1m"), "ok:90000");
}

TEST(ParseDurationTest, Fractions) {
  EXPECT_EQ(parse("1.5s"), "ok:1500");
  EXPECT_EQ(parse("0.5m"), "ok:30000");
  EXPECT_EQ(parse("1.25h"), "ok:4500000");
  EXPECT_EQ(parse(".5s"), "ok:500");
  EXPECT_EQ(parse("2.5ms"), "ok:2");  // rounded down
}

// A decimal that is an exact number of milliseconds must not lose one to binary rounding.
TEST(ParseDurationTest, ExactDecimalsAreNotRoundedDown) {
  EXPECT_EQ(parse("4.35s"), "ok:4350");
  EXPECT_EQ(parse("0.3s"), "ok:300");
  EXPECT_EQ(parse("1.001s"), "ok:1001");
  EXPECT_EQ(parse("2.675s"), "ok:2675");
  EXPECT_EQ(parse("0.07m"), "ok:4200");
  EXPECT_EQ(parse("1.15s"), "ok:1150");
  for (int ms = 0; ms < 10'000; ++ms) {
    const std::string text =
        std::to_string(ms / 1000) + "." + std::to_string(1000 + ms % 1000).substr(1) + "s";
    ASSERT_EQ(parse(text), "ok:" + std::to_string(ms)) << text;
  }
}

TEST(ParseDurationTest, SubMillisecondRoundsDownToZero) {
  EXPECT_EQ(parse("250us"), "ok:0");
  EXPECT_EQ(parse("999us"), "ok:0");
  EXPECT_EQ(parse("1000us"), "ok:1");
  EXPECT_EQ(parse("999999ns"), "ok:0");
}

TEST(ParseDurationTest, EmptyIsAnError) {
  EXPECT_EQ(parse(""), "error:empty duration");
}

TEST(ParseDurationTest, MissingUnit) {
  const auto d = parse_duration("5");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().find("missing unit"), std::string::npos) << d.error();
  EXPECT_NE(d.error().find("'5'"), std::string::npos) << d.error();
  EXPECT_TRUE(fails("1s5"));  // the last term has no unit
}

TEST(ParseDurationTest, UnknownUnit) {
  const auto d = parse_duration("5x");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().find("unknown unit 'x'"), std::string::npos) << d.error();
  EXPECT_TRUE(fails("5sec"));
  EXPECT_TRUE(fails("5d"));
  EXPECT_TRUE(fails("5 s"));
  EXPECT_TRUE(fails("5S"));  // units are lower-case
  EXPECT_TRUE(fails("5s "));
}

TEST(ParseDurationTest, MissingNumber) {
  const auto d = parse_duration("s");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().find("expected a number"), std::string::npos) << d.error();
  EXPECT_TRUE(fails("-5s"));
  EXPECT_TRUE(fails("+5s"));
  EXPECT_TRUE(fails("5s-1s"));
  EXPECT_TRUE(fails(" 5s"));
}

TEST(ParseDurationTest, MalformedNumbers) {
  EXPECT_TRUE(fails("1..5s"));
  EXPECT_TRUE(fails("1.5.5s"));
  EXPECT_TRUE(fails("."));
  EXPECT_TRUE(fails(".s"));
  EXPECT_TRUE(fails("1e3s"));
}

TEST(ParseDurationTest, HugeValuesAreRefused) {
  const auto d = parse_duration("999999999999h");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().find("too large"), std::string::npos) << d.error();
  EXPECT_TRUE(fails(std::string(400, '9') + "s"));  // overflows a double to infinity
  EXPECT_TRUE(fails("1" + std::string(30, '0') + "ms"));
  std::string many_terms;
  for (int i = 0; i < 1000; ++i) many_terms += "999999999999h";
  EXPECT_TRUE(fails(many_terms));
  // The largest accepted magnitude is still exact enough to be positive.
  const auto big = parse_duration("100000000h");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->count(), 360'000'000'000'000);
}

TEST(FormatDurationTest, PicksTheLargestExactUnit) {
  EXPECT_EQ(format_duration(milliseconds(0)), "0ms");
  EXPECT_EQ(format_duration(milliseconds(1)), "1ms");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(5000)), "5s");
  EXPECT_EQ(format_duration(milliseconds(90'000)), "90s");
  EXPECT_EQ(format_duration(milliseconds(60'000)), "1m");
  EXPECT_EQ(format_duration(milliseconds(300'000)), "5m");
  EXPECT_EQ(format_duration(milliseconds(3'600'000)), "1h");
  EXPECT_EQ(format_duration(milliseconds(5'400'000)), "90m");
  EXPECT_EQ(format_duration(milliseconds(86'400'000)), "24h");
}

TEST(FormatDurationTest, RoundTripsThroughParse) {
  for (const long long ms : {0LL, 1LL, 30LL, 999LL, 1000LL, 1001LL, 1500LL, 60'000LL, 61'000LL,
                             90'000LL, 3'600'000LL, 3'601'000LL, 5'400'000LL, 123'456'789LL}) {
    const std::string text = format_duration(milliseconds(ms));
    const auto back = parse_duration(text);
    ASSERT_TRUE(back) << text << ": " << back.error();
    EXPECT_EQ(back->count(), ms) << text;
  }
  for (const std::string_view text : {"30ms", "5s", "1m", "1h", "250ms"}) {
    const auto parsed = parse_duration(text);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(format_duration(*parsed), text);
  }
}

}  // namespace
}  // namespace strait
