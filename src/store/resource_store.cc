#include "store/resource_store.h"

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/time_text.h"
#include "store/sqlite.h"

namespace strait::store {
namespace {

std::string to_json(const std::map<std::string, std::string>& m) { return nlohmann::json(m).dump(); }

std::map<std::string, std::string> from_json(const std::string& text) {
  if (text.empty()) return {};
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return {};
  return parsed.get<std::map<std::string, std::string>>();
}

constexpr const char* kSelectColumns =
    "SELECT kind, namespace, name, api_version, labels, annotations, spec, resource_version, "
    "generation, created_at FROM resources ";

StoredResource read_row(const Statement& s) {
  StoredResource r;
  r.kind = s.text(0);
  r.ns = s.text(1);
  r.name = s.text(2);
  r.api_version = s.text(3);
  r.labels = from_json(s.text(4));
  r.annotations = from_json(s.text(5));
  r.spec = s.blob(6);
  r.resource_version = s.integer(7);
  r.generation = s.integer(8);
  r.created_at = s.text(9);
  return r;
}

}  // namespace

std::expected<std::unique_ptr<ResourceStore>, std::string> ResourceStore::open(const std::string& path) {
  auto db = open_database(path, {
      "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
      "INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', 0)",
      "CREATE TABLE IF NOT EXISTS resources ("
      " kind TEXT NOT NULL CHECK (kind <> ''),"
      " namespace TEXT NOT NULL CHECK (namespace <> ''),"
      " name TEXT NOT NULL CHECK (name <> ''),"
      " api_version TEXT NOT NULL, labels TEXT NOT NULL, annotations TEXT NOT NULL,"
      " spec BLOB NOT NULL, resource_version INTEGER NOT NULL, generation INTEGER NOT NULL,"
      " created_at TEXT NOT NULL, PRIMARY KEY (kind, namespace, name))",
  });
  if (!db) {
    const std::string& e = db.error();
    return std::unexpected(e.starts_with("cannot open ") ? "cannot open the store " + e.substr(12) : "store " + e);
  }
  std::unique_ptr<ResourceStore> store(new ResourceStore(*db));
  Statement revision(*db, "SELECT value FROM meta WHERE key = 'revision'");
  if (!revision.ok() || revision.step() != SQLITE_ROW) return std::unexpected(store->error("reading the revision"));
  store->revision_ = revision.integer(0);
  return store;
}

ResourceStore::~ResourceStore() { sqlite3_close(db_); }

std::string ResourceStore::error(const std::string& what) const {
  return what + ": " + sqlite3_errmsg(db_);
}

std::string ResourceStore::journal_mode() {
  Statement s(db_, "PRAGMA journal_mode");
  return s.ok() && s.step() == SQLITE_ROW ? s.text(0) : std::string();
}

std::expected<std::int64_t, std::string> ResourceStore::apply(std::span<const StoredResource> resources) {
  if (auto ok = store::exec(db_, "BEGIN IMMEDIATE"); !ok) return std::unexpected("apply: " + ok.error());
  const std::int64_t next = revision_ + 1;
  auto rollback = [&](const std::string& reason) -> std::expected<std::int64_t, std::string> {
    static_cast<void>(store::exec(db_, "ROLLBACK"));
    return std::unexpected("apply: nothing was changed: " + reason);
  };
  {
    Statement upsert(db_,
                     "INSERT INTO resources (kind, namespace, name, api_version, labels, annotations,"
                     " spec, resource_version, generation, created_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9)"
                     " ON CONFLICT (kind, namespace, name) DO UPDATE SET"
                     " api_version = excluded.api_version, labels = excluded.labels,"
                     " annotations = excluded.annotations,"
                     " generation = generation + (spec IS NOT excluded.spec),"
                     " spec = excluded.spec, resource_version = excluded.resource_version");
    if (!upsert.ok()) return rollback(error("preparing"));
    const std::string created = utc_iso8601(std::chrono::system_clock::now());
    for (const auto& r : resources) {
      Statement& one = upsert;
      one.reset();
      one.bind(1, r.kind);
      one.bind(2, r.ns);
      one.bind(3, r.name);
      one.bind(4, r.api_version);
      one.bind(5, to_json(r.labels));
      one.bind(6, to_json(r.annotations));
      one.bind_blob(7, r.spec);
      one.bind(8, next);
      one.bind(9, created);
      if (one.step() != SQLITE_DONE) return rollback(error(r.kind + " " + r.ns + "/" + r.name));
    }
    Statement bump(db_, "UPDATE meta SET value = ?1 WHERE key = 'revision'");
    bump.bind(1, next);
    if (bump.step() != SQLITE_DONE) return rollback(error("revision"));
  }
  if (auto ok = store::exec(db_, "COMMIT"); !ok) return rollback(ok.error());
  revision_ = next;
  return next;
}

std::expected<std::optional<std::int64_t>, std::string> ResourceStore::remove(const std::string& kind,
                                                                              const std::string& ns,
                                                                              const std::string& name) {
  if (auto ok = store::exec(db_, "BEGIN IMMEDIATE"); !ok) return std::unexpected("delete: " + ok.error());
  Statement del(db_, "DELETE FROM resources WHERE kind = ?1 AND namespace = ?2 AND name = ?3");
  del.bind(1, kind);
  del.bind(2, ns);
  del.bind(3, name);
  if (del.step() != SQLITE_DONE) {
    static_cast<void>(store::exec(db_, "ROLLBACK"));
    return std::unexpected(error("delete"));
  }
  if (sqlite3_changes(db_) == 0) {
    static_cast<void>(store::exec(db_, "ROLLBACK"));
    return std::optional<std::int64_t>{};
  }
  const std::int64_t next = revision_ + 1;
  Statement bump(db_, "UPDATE meta SET value = ?1 WHERE key = 'revision'");
  bump.bind(1, next);
  if (bump.step() != SQLITE_DONE || !store::exec(db_, "COMMIT")) {
    static_cast<void>(store::exec(db_, "ROLLBACK"));
    return std::unexpected(error("delete"));
  }
  revision_ = next;
  return std::optional<std::int64_t>{next};
}

std::expected<std::optional<StoredResource>, std::string> ResourceStore::get(const std::string& kind,
                                                                             const std::string& ns,
                                                                             const std::string& name) {
  Statement s(db_, (std::string(kSelectColumns) + "WHERE kind = ?1 AND namespace = ?2 AND name = ?3").c_str());
  if (!s.ok()) return std::unexpected(error("get"));
  s.bind(1, kind);
  s.bind(2, ns);
  s.bind(3, name);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<StoredResource>{};
  if (rc != SQLITE_ROW) return std::unexpected(error("get"));
  return std::optional<StoredResource>{read_row(s)};
}

std::expected<std::vector<StoredResource>, std::string> ResourceStore::list(const std::string& kind,
                                                                            const std::string& ns) {
  Statement s(db_, (std::string(kSelectColumns) +
                    "WHERE (?1 = '' OR kind = ?1) AND (?2 = '' OR namespace = ?2) ORDER BY kind, namespace, name")
                       .c_str());
  if (!s.ok()) return std::unexpected(error("list"));
  s.bind(1, kind);
  s.bind(2, ns);
  std::vector<StoredResource> out;
  while (true) {
    const int rc = s.step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return std::unexpected(error("list"));
    out.push_back(read_row(s));
  }
  return out;
}

}  // namespace strait::store
