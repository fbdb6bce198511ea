// The control plane's durable store of config resources: one SQLite database in WAL mode, written
// with synchronous=FULL so that an apply that returned success survives kill -9 and power loss.
// Every write is one transaction: an apply of many resources lands whole or not at all.
//
// Not thread-safe: straitd's main thread owns it.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct sqlite3;

namespace strait::store {

struct StoredResource {
  std::string kind;         // e.g. VirtualService
  std::string ns;           // namespace
  std::string name;
  std::string api_version;  // as the user wrote it
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string spec;         // the kind's spec message, protobuf binary encoding
  // Set by the store: the store revision at the last write of this resource, the number of spec
  // changes since creation (from 1), and the creation time (UTC, ISO 8601).
  std::int64_t resource_version = 0;
  std::int64_t generation = 0;
  std::string created_at;
};

class ResourceStore {
 public:
  // Opens (creating when missing) the database at `path`.
  static std::expected<std::unique_ptr<ResourceStore>, std::string> open(const std::string& path);
  ~ResourceStore();
  ResourceStore(const ResourceStore&) = delete;
  ResourceStore& operator=(const ResourceStore&) = delete;

  // Creates or replaces every resource in one transaction; returns the new store revision.
  [[nodiscard]] std::expected<std::int64_t, std::string> apply(std::span<const StoredResource> resources);
  // Deletes one resource. Returns the new revision, or nullopt when there was no such resource.
  [[nodiscard]] std::expected<std::optional<std::int64_t>, std::string> remove(
      const std::string& kind, const std::string& ns, const std::string& name);

  [[nodiscard]] std::expected<std::optional<StoredResource>, std::string> get(
      const std::string& kind, const std::string& ns, const std::string& name);
  // Every resource of `kind` in `ns`; an empty kind or namespace matches all. Sorted by kind,
  // namespace, name.
  [[nodiscard]] std::expected<std::vector<StoredResource>, std::string> list(const std::string& kind,
                                                                             const std::string& ns);
  // The revision of the last committed write (0 for an empty new store).
  [[nodiscard]] std::int64_t revision() const { return revision_; }
  [[nodiscard]] std::string journal_mode();

 private:
  explicit ResourceStore(sqlite3* db) : db_(db) {}
  std::string error(const std::string& what) const;

  sqlite3* db_;
  std::int64_t revision_ = 0;
};

}  // namespace strait::store
