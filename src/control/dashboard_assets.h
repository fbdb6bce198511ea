// The dashboard's built files (dashboard/, built by Vite into build/dashboard), which straitd
// serves at / and /assets/...: read once at start into memory, so that a request can only ever get
// one of the files found then (no path from a request reaches the file system).
#pragma once

#include <cstddef>
#include <expected>
#include <map>
#include <string>
#include <string_view>

namespace strait::control {

struct DashboardFile {
  std::string content_type;
  std::string body;
  bool immutable = false;  // under assets/: its name carries a hash of its content
};

class DashboardAssets {
 public:
  static constexpr std::size_t kMaxFiles = 512;
  static constexpr std::size_t kMaxBytes = 64 * 1024 * 1024;

  // Reads every regular file under `dir` (which must hold index.html).
  [[nodiscard]] static std::expected<DashboardAssets, std::string> load(const std::string& dir);

  // The file for a request path ("/" is index.html); null when there is none.
  [[nodiscard]] const DashboardFile* find(std::string_view path) const;
  [[nodiscard]] std::size_t size() const { return files_.size(); }

 private:
  std::map<std::string, DashboardFile, std::less<>> files_;  // by path, "/index.html"
};

}  // namespace strait::control
