#include "proxy/jwt.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <string>

namespace strait::proxy {
namespace {

using nlohmann::json;
using Clock = std::chrono::system_clock;

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (const unsigned char c : bytes) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kAlphabet[(bits >> count) & 0x3f];
    }
  }
  if (count > 0) out += kAlphabet[(bits << (6 - count)) & 0x3f];
  return out;
}

std::string bn_bytes(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(key, name, &bn);
  std::string out(static_cast<std::size_t>(std::max(BN_num_bytes(bn), pad)), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

// A signing key and its JWK, made fresh for the test.
struct Signer {
  EVP_PKEY* key = nullptr;
  bool ec = false;
  std::string kid;
  explicit Signer(bool use_ec, std::string key_id) : ec(use_ec), kid(std::move(key_id)) {
    key = ec ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
             : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", 2048);
  }
  ~Signer() { EVP_PKEY_free(key); }
  json jwk() const {
    if (ec) {
      return {{"kty", "EC"},
              {"crv", "P-256"},
              {"kid", kid},
              {"x", base64url(bn_bytes(key, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
              {"y", base64url(bn_bytes(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
    }
    return {{"kty", "RSA"},
            {"alg", "RS256"},
            {"kid", kid},
            {"n", base64url(bn_bytes(key, OSSL_PKEY_PARAM_RSA_N))},
            {"e", base64url(bn_bytes(key, OSSL_PKEY_PARAM_RSA_E))}};
  }
  std::string sign(const json& payload, std::string alg = "") const {
    if (alg.empty()) alg = ec ? "ES256" : "RS256";
    const std::string signed_part =
        base64url(json{{"alg", alg}, {"kid", kid}, {"typ", "JWT"}}.dump()) + "." +
        base64url(payload.dump());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
    std::size_t length = 0;
    EVP_DigestSign(ctx, nullptr, &length,
                   reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size());
    std::string signature(length, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                   reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size());
    signature.resize(length);
    EVP_MD_CTX_free(ctx);
    if (ec) {  // DER to r || s
      const auto* p = reinterpret_cast<const unsigned char*>(signature.data());
      ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size()));
      std::string raw(64, '\0');
      BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
      BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
      ECDSA_SIG_free(sig);
      signature = raw;
    }
    return signed_part + "." + base64url(signature);
  }
};

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parsed = JwksKeys::parse(json{{"keys", {rsa_.jwk(), ec_.jwk()}}}.dump());
    ASSERT_TRUE(parsed) << parsed.error();
    keys_ = std::move(*parsed);
    requirements_.issuer = "https://issuer.example";
    requirements_.audiences = {"reviews"};
  }
  json claims(std::int64_t exp_offset = 3600) const {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(now_.time_since_epoch()).count();
    return {{"iss", "https://issuer.example"},
            {"sub", "alice"},
            {"aud", "reviews"},
            {"exp", now + exp_offset},
            {"groups", {"admin", "dev"}},
            {"team", "payments"},
            {"azp", "web-app"}};
  }
  Signer rsa_{false, "rsa-1"};
  Signer ec_{true, "ec-1"};
  JwksKeys keys_;
  JwtRequirements requirements_;
  Clock::time_point now_ = Clock::now();
};

TEST_F(JwtTest, Rs256AndEs256TokensVerifyAndCarryTheirClaims) {
  for (const Signer* signer : {&rsa_, &ec_}) {
    auto verified = verify_jwt(signer->sign(claims()), keys_, requirements_, now_);
    ASSERT_TRUE(verified) << verified.error();
    EXPECT_EQ(verified->principal(), "https://issuer.example/alice");
    EXPECT_EQ(verified->audiences, std::vector<std::string>{"reviews"});
    EXPECT_EQ(verified->presenter, "web-app");
    bool groups = false;
    for (const auto& [name, values] : verified->claims) {
      if (name == "groups") {
        groups = true;
        EXPECT_EQ(values, (std::vector<std::string>{"admin", "dev"}));
      }
    }
    EXPECT_TRUE(groups);
  }
}

TEST_F(JwtTest, BadTokensAreRefusedWithAReason) {
  auto refused = [&](const std::string& token) {
    auto v = verify_jwt(token, keys_, requirements_, now_);
    return v ? std::string("accepted") : v.error();
  };
  EXPECT_EQ(refused(rsa_.sign(claims(-3600))), "the token has expired");
  json wrong_issuer = claims();
  wrong_issuer["iss"] = "https://evil.example";
  EXPECT_EQ(refused(rsa_.sign(wrong_issuer)),
            "issuer 'https://evil.example' is not 'https://issuer.example'");
  json other_audience = claims();
  other_audience["aud"] = {"ratings"};
  EXPECT_EQ(refused(ec_.sign(other_audience)), "no accepted audience in the token");
  json not_yet = claims();
  not_yet["nbf"] =
      std::chrono::duration_cast<std::chrono::seconds>(now_.time_since_epoch()).count() + 3600;
  EXPECT_EQ(refused(rsa_.sign(not_yet)), "the token is not valid yet");
  // A payload changed after signing, a signature from a key not in the set, alg none.
  std::string token = rsa_.sign(claims());
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  json forged = claims();
  forged["sub"] = "mallory";
  std::string tampered =
      token.substr(0, first + 1) + base64url(forged.dump()) + token.substr(second);
  EXPECT_EQ(refused(tampered), "the signature does not verify");
  Signer stranger(false, "rsa-1");
  EXPECT_EQ(refused(stranger.sign(claims())), "the signature does not verify");
  EXPECT_EQ(refused(base64url(R"({"alg":"none"})") + "." + base64url(claims().dump()) + "."),
            "alg none is not accepted (RS256, ES256)");
  EXPECT_EQ(refused("a.b"), "not a compact JWS (three base64url parts)");
  EXPECT_EQ(refused("a.b.c.d"), "not a compact JWS (three base64url parts)");
  EXPECT_EQ(refused("***.b.c"), "a part is not base64url");
  // Within the clock skew an expired token still passes; no audiences required: any passes.
  EXPECT_EQ(refused(rsa_.sign(claims(-30))), "accepted");
  requirements_.audiences.clear();
  EXPECT_EQ(refused(ec_.sign(other_audience)), "accepted");
}

TEST(Jwks, OnlyUsableKeysAreKept) {
  EXPECT_FALSE(JwksKeys::parse("not json"));
  EXPECT_FALSE(JwksKeys::parse(R"({"keys": "x"})"));
  auto none = JwksKeys::parse(R"({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), "no usable key: a oct key (only RS256 and ES256 keys are used)");
  auto short_rsa = JwksKeys::parse(R"({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]})");
  ASSERT_FALSE(short_rsa);
  EXPECT_EQ(short_rsa.error(), "no usable key: an RSA key must have at least 2048 bits");
  auto bad_point = JwksKeys::parse(
      R"({"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "y": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]})");
  ASSERT_FALSE(bad_point);
  EXPECT_EQ(bad_point.error(), "no usable key: an EC key that is not a point of P-256");
}

TEST(Base64Url, DecodesWithAndWithoutPadding) {
  EXPECT_EQ(base64url_decode("aGVsbG8"), "hello");
  EXPECT_EQ(base64url_decode("aGVsbG8="), "hello");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff", 2));
  EXPECT_FALSE(base64url_decode("a+b"));
  EXPECT_FALSE(base64url_decode("abcde"));
}

}  // namespace
}  // namespace strait::proxy
