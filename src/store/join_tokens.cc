#include "store/join_tokens.h"

#include <openssl/crypto.h>

#include <array>

#include "common/random.h"
#include "common/sha256.h"
#include "common/time_text.h"
#include "store/sqlite.h"

namespace strait::store {
namespace {

constexpr std::string_view kPrefix = "strait-join.";

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

JoinToken read_token(const Statement& s) {
  return JoinToken{s.text(0), s.text(1), s.text(2), s.integer(3), s.text(4), s.integer(5)};
}

}  // namespace

std::expected<std::unique_ptr<JoinTokenStore>, std::string> JoinTokenStore::open(const std::string& path) {
  auto db = open_database(path, {"CREATE TABLE IF NOT EXISTS join_tokens (id TEXT PRIMARY KEY, secret_hash BLOB NOT NULL,"
                                 " namespace TEXT NOT NULL, service_account TEXT NOT NULL, expires_at INTEGER NOT NULL,"
                                 " created_at TEXT NOT NULL, uses INTEGER NOT NULL DEFAULT 0)"});
  if (!db) return std::unexpected("join tokens: " + db.error());
  return std::unique_ptr<JoinTokenStore>(new JoinTokenStore(*db));
}

JoinTokenStore::~JoinTokenStore() { sqlite3_close(db_); }

std::expected<std::string, std::string> JoinTokenStore::create(const std::string& ns,
                                                              const std::string& service_account,
                                                              std::chrono::seconds ttl) {
  auto id = random_hex(8);
  auto secret = random_hex(32);
  if (!id || !secret) return std::unexpected("join token: no randomness available");
  Statement s(db_,
              "INSERT INTO join_tokens (id, secret_hash, namespace, service_account, expires_at, created_at)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  s.bind(1, *id);
  s.bind_blob(2, sha256(*secret));
  s.bind(3, ns);
  s.bind(4, service_account);
  s.bind(5, now_seconds() + ttl.count());
  s.bind(6, utc_iso8601_from_unix(now_seconds()));
  if (s.step() != SQLITE_DONE) return std::unexpected(std::string("join token: ") + sqlite3_errmsg(db_));
  return std::string(kPrefix) + *id + "." + *secret;
}

std::expected<JoinToken, std::string> JoinTokenStore::redeem(const std::string& token) {
  std::string_view rest(token);
  if (!rest.starts_with(kPrefix)) return std::unexpected("not a strait join token");
  rest.remove_prefix(kPrefix.size());
  const auto dot = rest.find('.');
  if (dot != 16 || rest.size() != 16 + 1 + 64) return std::unexpected("malformed join token");
  const std::string id(rest.substr(0, dot));
  const std::string presented_hash = sha256(rest.substr(dot + 1));
  Statement s(db_,
              "SELECT id, namespace, service_account, expires_at, created_at, uses, secret_hash FROM join_tokens"
              " WHERE id = ?1");
  s.bind(1, id);
  if (s.step() != SQLITE_ROW) return std::unexpected("unknown or revoked join token " + id);
  JoinToken found = read_token(s);
  const std::string stored_hash = s.blob(6);
  if (stored_hash.size() != presented_hash.size() ||
      CRYPTO_memcmp(stored_hash.data(), presented_hash.data(), stored_hash.size()) != 0)
    return std::unexpected("unknown or revoked join token " + id);
  if (found.expires_at <= now_seconds()) return std::unexpected("join token " + id + " has expired");
  Statement use(db_, "UPDATE join_tokens SET uses = uses + 1 WHERE id = ?1");
  use.bind(1, id);
  static_cast<void>(use.step());
  ++found.uses;
  return found;
}

std::expected<std::vector<JoinToken>, std::string> JoinTokenStore::list() {
  Statement s(db_,
              "SELECT id, namespace, service_account, expires_at, created_at, uses FROM join_tokens ORDER BY created_at, id");
  std::vector<JoinToken> out;
  while (s.step() == SQLITE_ROW) out.push_back(read_token(s));
  return out;
}

std::expected<bool, std::string> JoinTokenStore::revoke(const std::string& id) {
  Statement s(db_, "DELETE FROM join_tokens WHERE id = ?1");
  s.bind(1, id);
  if (s.step() != SQLITE_DONE) return std::unexpected(std::string("revoke: ") + sqlite3_errmsg(db_));
  return sqlite3_changes(db_) > 0;
}

}  // namespace strait::store
