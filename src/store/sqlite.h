// The SQLite plumbing shared by the control plane's stores: opening a database the way every
// store needs it (WAL, synchronous=FULL, a busy timeout, its schema) and prepared statements that
// finalize themselves. Not thread-safe beyond what SQLITE_OPEN_FULLMUTEX gives.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <expected>
#include <initializer_list>
#include <string>
#include <string_view>

namespace strait::store {

// Opens (creating when missing) the database at `path` in WAL mode with synchronous=FULL, and runs
// the `schema` statements. Errors read "cannot open <path>: <why>" or "<path>: <why>".
[[nodiscard]] std::expected<sqlite3*, std::string> open_database(const std::string& path,
                                                                 std::initializer_list<const char*> schema);

// Runs one statement without results; the error is SQLite's message.
[[nodiscard]] std::expected<void, std::string> exec(sqlite3* db, const char* sql);

// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  [[nodiscard]] bool ok() const { return stmt_ != nullptr; }
  void bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void bind_blob(int index, std::string_view bytes) {
    sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  }
  void bind(int index, std::int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  int step() { return sqlite3_step(stmt_); }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  [[nodiscard]] std::string text(int column) const {
    const auto* p = sqlite3_column_text(stmt_, column);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
             : std::string();
  }
  [[nodiscard]] std::string blob(int column) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
  }
  [[nodiscard]] std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace strait::store
