#include "control/dashboard_sessions.h"

#include <gtest/gtest.h>

namespace strait::control {
namespace {

using Clock = DashboardSessions::Clock;

TEST(DashboardSessionsTest, ACodeBuysOneSessionBeforeItExpires) {
  DashboardSessions sessions;
  const auto t0 = Clock::now();
  auto code = sessions.issue_code(t0);
  ASSERT_TRUE(code);
  EXPECT_EQ(code->size(), 32u);
  auto session = sessions.redeem(*code, t0 + std::chrono::minutes(9));
  ASSERT_TRUE(session);
  EXPECT_EQ(session->size(), 64u);
  EXPECT_TRUE(sessions.valid(*session, t0 + std::chrono::hours(11)));
  EXPECT_FALSE(sessions.valid(*session, t0 + std::chrono::hours(13)));
  EXPECT_FALSE(sessions.redeem(*code, t0));  // spent

  auto late = sessions.issue_code(t0);
  ASSERT_TRUE(late);
  EXPECT_FALSE(sessions.redeem(*late, t0 + DashboardSessions::kCodeLifetime));
  EXPECT_FALSE(sessions.redeem(*late, t0));  // a failed late try spends it too
  EXPECT_FALSE(sessions.valid("", t0));
  EXPECT_FALSE(sessions.valid(*code, t0));  // a code is not a session
}

TEST(DashboardSessionsTest, TheOldestSessionGoesFirstBeyondTheCap) {
  DashboardSessions sessions;
  const auto t0 = Clock::now();
  std::vector<std::string> ids;
  for (std::size_t i = 0; i <= DashboardSessions::kMaxSessions; ++i) {
    const auto now = t0 + std::chrono::seconds(i);
    auto session = sessions.redeem(*sessions.issue_code(now), now);
    ASSERT_TRUE(session);
    ids.push_back(*session);
  }
  const auto now = t0 + std::chrono::minutes(5);
  EXPECT_FALSE(sessions.valid(ids.front(), now));
  EXPECT_TRUE(sessions.valid(ids[1], now));
  EXPECT_TRUE(sessions.valid(ids.back(), now));
  EXPECT_EQ(sessions.sessions(now), DashboardSessions::kMaxSessions);
  sessions.end(ids.back());
  EXPECT_FALSE(sessions.valid(ids.back(), now));
}

TEST(DashboardSessionsTest, CookieValueFindsItsNameOnly) {
  EXPECT_EQ(cookie_value("strait_session=abc", "strait_session"), "abc");
  EXPECT_EQ(cookie_value("a=1; strait_session=abc; b=2", "strait_session"), "abc");
  EXPECT_EQ(cookie_value("a=1;strait_session=abc", "strait_session"), "abc");
  EXPECT_EQ(cookie_value("xstrait_session=abc", "strait_session"), "");
  EXPECT_EQ(cookie_value("strait_session", "strait_session"), "");
  EXPECT_EQ(cookie_value("", "strait_session"), "");
  EXPECT_EQ(cookie_value("strait_session=", "strait_session"), "");
}

}  // namespace
}  // namespace strait::control
