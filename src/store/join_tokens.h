// Join tokens: how a new proxy proves which identity it may have. An operator creates one for a
// namespace and service account (`straitctl token create`); the proxy presents it, with its CSR, to
// obtain its first certificate. Only a SHA-256 of each token's secret is stored, so a copy of the
// database does not reveal usable tokens. A token can be used until it expires or is revoked.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;

namespace strait::store {

struct JoinToken {
  std::string id;  // public part, 16 hex digits
  std::string ns;
  std::string service_account;
  std::int64_t expires_at = 0;  // Unix seconds
  std::string created_at;
  std::int64_t uses = 0;
};

class JoinTokenStore {
 public:
  static std::expected<std::unique_ptr<JoinTokenStore>, std::string> open(const std::string& path);
  ~JoinTokenStore();
  JoinTokenStore(const JoinTokenStore&) = delete;
  JoinTokenStore& operator=(const JoinTokenStore&) = delete;

  // Creates a token; returns it whole ("strait-join.<id>.<secret>"): it is shown once, never stored.
  [[nodiscard]] std::expected<std::string, std::string> create(const std::string& ns,
                                                               const std::string& service_account,
                                                               std::chrono::seconds ttl);
  // The identity a token grants, counting the use; an error saying why otherwise (malformed,
  // unknown or revoked, expired). Constant time in the secret.
  [[nodiscard]] std::expected<JoinToken, std::string> redeem(const std::string& token);
  [[nodiscard]] std::expected<std::vector<JoinToken>, std::string> list();
  // False when no such token.
  [[nodiscard]] std::expected<bool, std::string> revoke(const std::string& id);

 private:
  explicit JoinTokenStore(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace strait::store
