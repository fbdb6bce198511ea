// JSON Web Tokens as RequestAuthentication checks them: a compact JWS signed RS256 or ES256 with
// a key of an inline JSON Web Key Set (RFC 7515, 7517, 7518, 7519), its issuer, audiences and
// validity times. The keys are parsed once per pushed view; verifying a token is OpenSSL's
// signature check plus one JSON parse of the token's header and payload.
#pragma once

#include <chrono>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;

namespace strait::proxy {

// The keys of a JWKS that can verify RS256 (RSA, at least 2048 bits) or ES256 (EC P-256).
class JwksKeys {
 public:
  struct Key {
    std::string kid;  // "" : none
    bool ec = false;  // ES256 key (else RS256)
    std::shared_ptr<EVP_PKEY> key;
  };
  // Keys of another kind or curve are skipped; a set with no usable key, or that is not a JWKS,
  // is an error naming why.
  [[nodiscard]] static std::expected<JwksKeys, std::string> parse(std::string_view jwks_json);
  [[nodiscard]] const std::vector<Key>& keys() const { return keys_; }

 private:
  std::vector<Key> keys_;
};

// What a verified token says: Istio's request principal is "<iss>/<sub>".
struct VerifiedJwt {
  std::string issuer;
  std::string subject;
  std::vector<std::string> audiences;
  std::string presenter;  // azp
  // Top-level claims whose value is a string or a list of strings (what
  // request.auth.claims[NAME] matches), a string claim as a list of one.
  std::vector<std::pair<std::string, std::vector<std::string>>> claims;
  [[nodiscard]] std::string principal() const { return issuer + "/" + subject; }
};

struct JwtRequirements {
  std::string issuer;
  std::vector<std::string> audiences;   // empty: the token's audience is not checked (Istio)
  std::chrono::seconds clock_skew{60};  // allowed on exp and nbf
};

// Verifies a compact JWS; the error says why a token is refused (the caller answers 401).
[[nodiscard]] std::expected<VerifiedJwt, std::string> verify_jwt(
    std::string_view token, const JwksKeys& keys, const JwtRequirements& requirements,
    std::chrono::system_clock::time_point now);

// base64url (RFC 4648 section 5; padding tolerated); an error on a byte outside its alphabet.
[[nodiscard]] std::expected<std::string, std::string> base64url_decode(std::string_view text);

}  // namespace strait::proxy
