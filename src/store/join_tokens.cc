#include "store/join_tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include <array>
#include <ctime>

namespace strait::store {
namespace {

constexpr std::string_view kPrefix = "strait-join.";

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xf]);
  }
  return out;
}

std::string sha256(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string iso8601(std::int64_t seconds) {
  const std::time_t t = seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

struct Statement {
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr); }
  ~Statement() { sqlite3_finalize(stmt); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  void text(int i, std::string_view v) { sqlite3_bind_text(stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); }
  void blob(int i, std::string_view v) { sqlite3_bind_blob(stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); }
  void integer(int i, std::int64_t v) { sqlite3_bind_int64(stmt, i, v); }
  std::string column_text(int i) const {
    const auto* p = sqlite3_column_text(stmt, i);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  std::string column_blob(int i) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt, i))) : std::string();
  }
  sqlite3_stmt* stmt = nullptr;
};

JoinToken read_token(const Statement& s) {
  return JoinToken{s.column_text(0), s.column_text(1), s.column_text(2), sqlite3_column_int64(s.stmt, 3),
                   s.column_text(4), sqlite3_column_int64(s.stmt, 5)};
}

}  // namespace

std::expected<std::unique_ptr<JoinTokenStore>, std::string> JoinTokenStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return std::unexpected("cannot open " + path + ": " + message);
  }
  std::unique_ptr<JoinTokenStore> store(new JoinTokenStore(db));
  sqlite3_busy_timeout(db, 5000);
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                          "CREATE TABLE IF NOT EXISTS join_tokens (id TEXT PRIMARY KEY, secret_hash BLOB NOT NULL,"
                          " namespace TEXT NOT NULL, service_account TEXT NOT NULL, expires_at INTEGER NOT NULL,"
                          " created_at TEXT NOT NULL, uses INTEGER NOT NULL DEFAULT 0)"}) {
    char* message = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : "unknown error";
      sqlite3_free(message);
      return std::unexpected("join tokens in " + path + ": " + text);
    }
  }
  return store;
}

JoinTokenStore::~JoinTokenStore() { sqlite3_close(db_); }

std::expected<std::string, std::string> JoinTokenStore::create(const std::string& ns,
                                                              const std::string& service_account,
                                                              std::chrono::seconds ttl) {
  std::array<unsigned char, 8> id_bytes{};
  std::array<unsigned char, 32> secret_bytes{};
  if (RAND_bytes(id_bytes.data(), static_cast<int>(id_bytes.size())) != 1 ||
      RAND_bytes(secret_bytes.data(), static_cast<int>(secret_bytes.size())) != 1)
    return std::unexpected("no randomness for a join token");
  const std::string id = hex(id_bytes.data(), id_bytes.size());
  const std::string secret = hex(secret_bytes.data(), secret_bytes.size());
  Statement s(db_,
              "INSERT INTO join_tokens (id, secret_hash, namespace, service_account, expires_at, created_at)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  s.text(1, id);
  s.blob(2, sha256(secret));
  s.text(3, ns);
  s.text(4, service_account);
  s.integer(5, now_seconds() + ttl.count());
  s.text(6, iso8601(now_seconds()));
  if (sqlite3_step(s.stmt) != SQLITE_DONE) return std::unexpected(std::string("join token: ") + sqlite3_errmsg(db_));
  return std::string(kPrefix) + id + "." + secret;
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
  s.text(1, id);
  if (sqlite3_step(s.stmt) != SQLITE_ROW) return std::unexpected("unknown or revoked join token " + id);
  JoinToken found = read_token(s);
  const std::string stored_hash = s.column_blob(6);
  if (stored_hash.size() != presented_hash.size() ||
      CRYPTO_memcmp(stored_hash.data(), presented_hash.data(), stored_hash.size()) != 0)
    return std::unexpected("unknown or revoked join token " + id);
  if (found.expires_at <= now_seconds()) return std::unexpected("join token " + id + " has expired");
  Statement use(db_, "UPDATE join_tokens SET uses = uses + 1 WHERE id = ?1");
  use.text(1, id);
  sqlite3_step(use.stmt);
  ++found.uses;
  return found;
}

std::expected<std::vector<JoinToken>, std::string> JoinTokenStore::list() {
  Statement s(db_,
              "SELECT id, namespace, service_account, expires_at, created_at, uses FROM join_tokens ORDER BY created_at, id");
  std::vector<JoinToken> out;
  while (sqlite3_step(s.stmt) == SQLITE_ROW) out.push_back(read_token(s));
  return out;
}

std::expected<bool, std::string> JoinTokenStore::revoke(const std::string& id) {
  Statement s(db_, "DELETE FROM join_tokens WHERE id = ?1");
  s.text(1, id);
  if (sqlite3_step(s.stmt) != SQLITE_DONE) return std::unexpected(std::string("revoke: ") + sqlite3_errmsg(db_));
  return sqlite3_changes(db_) > 0;
}

}  // namespace strait::store
