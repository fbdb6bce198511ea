#include "store/sqlite.h"

namespace strait::store {

std::expected<void, std::string> exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return std::unexpected(text);
  }
  return {};
}

std::expected<sqlite3*, std::string> open_database(const std::string& path,
                                                   std::initializer_list<const char*> schema) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return std::unexpected("cannot open " + path + ": " + message);
  }
  sqlite3_busy_timeout(db, 5000);
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"}) {
    if (auto ok = exec(db, sql); !ok) {
      sqlite3_close(db);
      return std::unexpected(path + ": " + ok.error());
    }
  }
  for (const char* sql : schema) {
    if (auto ok = exec(db, sql); !ok) {
      sqlite3_close(db);
      return std::unexpected(path + ": " + ok.error());
    }
  }
  return db;
}

}  // namespace strait::store
