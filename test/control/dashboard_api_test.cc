// The dashboard's side of straitd's API, without sockets: its files at /, the one-time sign-in
// link, the session cookie (which may read and nothing else), and what / says without a build.
#include "control/dashboard_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "control/config_api.h"

namespace strait::control {
namespace {

using nlohmann::json;

constexpr std::string_view kAuth = "Bearer 0123456789abcdef0123456789abcdef";

std::string header(const ApiResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return {};
}

class DashboardApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("strait-dashboard-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "site" / "assets");
    std::ofstream(dir_ / "site" / "index.html") << "<!doctype html><title>strait</title>";
    std::ofstream(dir_ / "site" / "assets" / "index-abc123.js") << "console.log(1)";
    store_ = std::move(*store::ResourceStore::open((dir_ / "store.db").string()));
    api_ = std::make_unique<ConfigApi>(*store_, "0123456789abcdef0123456789abcdef");
  }
  void TearDown() override {
    api_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  ApiResponse call(std::string_view method, std::string_view target, std::string_view auth = {},
                   std::string_view cookie = {}, std::string_view fetch_site = {}) {
    return api_->handle(ApiRequest{method, target, auth, {}, {}, {}, cookie, fetch_site});
  }
  // Signs in as a browser would: a code made with the admin token, then /login; the cookie.
  std::string sign_in() {
    const auto code = call("POST", "/api/v1/dashboard/login", kAuth);
    EXPECT_EQ(code.status, 200) << code.body;
    const auto login = call("GET", json::parse(code.body)["path"].get<std::string>());
    EXPECT_EQ(login.status, 303) << login.body;
    const std::string set = header(login, "Set-Cookie");
    return set.substr(0, set.find(';'));
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::ResourceStore> store_;
  std::unique_ptr<ConfigApi> api_;
};

TEST_F(DashboardApiTest, ServesItsFilesWithoutACredentialAndWithAStrictPolicy) {
  auto loaded = api_->dashboard().load((dir_ / "site").string());
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ(api_->dashboard().files(), 2u);
  const auto page = call("GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(page.body, "<!doctype html><title>strait</title>");
  EXPECT_NE(header(page, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_NE(header(page, "Content-Security-Policy").find("frame-ancestors 'none'"),
            std::string::npos);
  EXPECT_EQ(header(page, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(header(page, "X-Frame-Options"), "DENY");
  EXPECT_EQ(header(page, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(page, "Cache-Control"), "no-cache");
  const auto script = call("GET", "/assets/index-abc123.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(header(script, "Cache-Control").find("immutable"), std::string::npos);
  // Only the files found at start exist: no path reaches the file system.
  EXPECT_EQ(call("GET", "/assets/../index.html").status, 404);
  EXPECT_EQ(call("GET", "/store.db").status, 404);
  EXPECT_EQ(call("POST", "/").status, 405);
}

TEST_F(DashboardApiTest, WithoutABuildTheRootSaysWhy) {
  auto missing = api_->dashboard().load((dir_ / "nothing").string());
  ASSERT_FALSE(missing);
  const auto page = call("GET", "/");
  EXPECT_EQ(page.status, 404);
  EXPECT_NE(page.body.find("holds no index.html"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("--target dashboard"), std::string::npos) << page.body;
}

TEST_F(DashboardApiTest, ASignInLinkWorksOnceAndItsSessionMayOnlyRead) {
  // The API refuses a browser without a session.
  EXPECT_EQ(call("GET", "/api/v1/version").status, 401);
  // Only the admin token makes sign-in codes.
  EXPECT_EQ(call("POST", "/api/v1/dashboard/login").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/dashboard/login", kAuth).status, 405);
  const auto code = call("POST", "/api/v1/dashboard/login", kAuth);
  ASSERT_EQ(code.status, 200) << code.body;
  const json answer = json::parse(code.body);
  EXPECT_EQ(answer["expiresInSeconds"], 600);
  const std::string path = answer["path"];
  ASSERT_EQ(path, "/login?code=" + answer["code"].get<std::string>());

  const auto login = call("GET", path);
  ASSERT_EQ(login.status, 303) << login.body;
  EXPECT_EQ(header(login, "Location"), "/");
  const std::string set = header(login, "Set-Cookie");
  EXPECT_TRUE(set.starts_with("strait_session=")) << set;
  EXPECT_NE(set.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set.find("SameSite=Strict"), std::string::npos);
  const std::string cookie = "theme=dark; " + set.substr(0, set.find(';'));

  // Spent: the same link again is refused, and says what to do.
  const auto again = call("GET", path);
  EXPECT_EQ(again.status, 401);
  EXPECT_NE(again.body.find("straitctl dashboard"), std::string::npos);
  EXPECT_EQ(call("GET", "/login?code=00000000000000000000000000000000").status, 401);
  EXPECT_EQ(call("GET", "/login").status, 401);

  // The session reads...
  EXPECT_EQ(call("GET", "/api/v1/version", {}, cookie).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/resources", {}, cookie).status, 200);
  // ...and changes nothing, nor makes more sign-in codes.
  const auto apply = call("POST", "/api/v1/apply", {}, cookie);
  EXPECT_EQ(apply.status, 403);
  EXPECT_NE(apply.body.find("only read"), std::string::npos) << apply.body;
  EXPECT_EQ(call("DELETE", "/api/v1/resources/VirtualService/default/x", {}, cookie).status, 403);
  EXPECT_EQ(call("POST", "/api/v1/dashboard/login", {}, cookie).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/version", {}, "strait_session=forged").status, 401);

  // Signing out ends it.
  const auto out = call("GET", "/logout", {}, cookie);
  EXPECT_EQ(out.status, 303);
  EXPECT_NE(header(out, "Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(call("GET", "/api/v1/version", {}, cookie).status, 401);
}

TEST_F(DashboardApiTest, ASessionWorksFromTheDashboardsOwnPageOnlyAndCannotTap) {
  const std::string cookie = sign_in();
  EXPECT_EQ(call("GET", "/api/v1/version", {}, cookie, "same-origin").status, 200);
  // A page on another port of the same host is "same-site": it gets the cookie, not the API.
  EXPECT_EQ(call("GET", "/api/v1/version", {}, cookie, "same-site").status, 403);
  EXPECT_EQ(call("GET", "/api/v1/version", {}, cookie, "cross-site").status, 403);
  EXPECT_EQ(call("GET", "/api/v1/version", {}, cookie, "none").status, 403);
  // Taps show every request's path and query: admin only.
  EXPECT_EQ(call("GET", "/api/v1/proxies/a.demo/tap", {}, cookie, "same-origin").status, 403);
  // Signing in or out is for the page's own links, or one a person opened.
  const auto code = json::parse(call("POST", "/api/v1/dashboard/login", kAuth).body);
  EXPECT_EQ(call("GET", code["path"].get<std::string>(), {}, {}, "cross-site").status, 403);
  EXPECT_EQ(call("GET", code["path"].get<std::string>(), {}, {}, "none").status, 303);
  EXPECT_EQ(call("GET", "/logout", {}, cookie, "same-site").status, 403);
  EXPECT_EQ(call("GET", "/api/v1/version", {}, cookie).status, 200);
}

TEST_F(DashboardApiTest, SessionsAreIndependent) {
  const std::string first = sign_in();
  const std::string second = sign_in();
  EXPECT_NE(first, second);
  call("GET", "/logout", {}, first);
  EXPECT_EQ(call("GET", "/api/v1/version", {}, first).status, 401);
  EXPECT_EQ(call("GET", "/api/v1/version", {}, second).status, 200);
}

}  // namespace
}  // namespace strait::control
