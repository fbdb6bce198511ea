// Join tokens: created once, redeemed for their identity only, refused when tampered, expired or
// revoked, and never stored in the clear.
#include "store/join_tokens.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace strait::store {
namespace {

class JoinTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("strait-tokens-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    std::filesystem::remove(path_);
    store_ = std::move(*JoinTokenStore::open(path_.string()));
  }
  void TearDown() override {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }
  std::filesystem::path path_;
  std::unique_ptr<JoinTokenStore> store_;
};

TEST_F(JoinTokenTest, RedeemsForTheIdentityItWasMadeFor) {
  auto token = store_->create("shop", "web", std::chrono::hours(1));
  ASSERT_TRUE(token) << token.error();
  EXPECT_TRUE(token->starts_with("strait-join."));
  auto redeemed = store_->redeem(*token);
  ASSERT_TRUE(redeemed) << redeemed.error();
  EXPECT_EQ(redeemed->ns, "shop");
  EXPECT_EQ(redeemed->service_account, "web");
  EXPECT_EQ(redeemed->uses, 1);
  EXPECT_EQ(store_->redeem(*token)->uses, 2);
  EXPECT_EQ(store_->list()->front().uses, 2);
}

TEST_F(JoinTokenTest, TamperedMalformedExpiredAndRevokedTokensAreRefused) {
  auto token = *store_->create("shop", "web", std::chrono::hours(1));
  std::string tampered = token;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_FALSE(store_->redeem(tampered));
  EXPECT_FALSE(store_->redeem("strait-join.nope"));
  EXPECT_FALSE(store_->redeem("Bearer " + token));
  const std::string id = token.substr(12, 16);
  ASSERT_TRUE(*store_->revoke(id));
  auto revoked = store_->redeem(token);
  ASSERT_FALSE(revoked);
  EXPECT_NE(revoked.error().find("unknown or revoked"), std::string::npos);
  EXPECT_FALSE(*store_->revoke(id));

  auto short_lived = *store_->create("shop", "web", std::chrono::seconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto expired = store_->redeem(short_lived);
  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().find("has expired"), std::string::npos);
}

TEST_F(JoinTokenTest, TheSecretIsNotStored) {
  auto token = *store_->create("shop", "web", std::chrono::hours(1));
  store_.reset();  // flush
  std::string bytes;
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(path_.string() + suffix, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    bytes += text.str();
  }
  const std::string secret = token.substr(token.rfind('.') + 1);
  EXPECT_EQ(bytes.find(secret), std::string::npos);
  EXPECT_NE(bytes.find(token.substr(12, 16)), std::string::npos);  // the id is
  store_ = std::move(*JoinTokenStore::open(path_.string()));
  EXPECT_TRUE(store_->redeem(token));
}

}  // namespace
}  // namespace strait::store
