#include "control/dashboard_assets.h"

#include <filesystem>

#include "common/file.h"

namespace strait::control {
namespace {

std::string_view content_type_for(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"}};
  for (const auto& [suffix, type] : kTypes) {
    if (path.ends_with(suffix)) return type;
  }
  return "application/octet-stream";
}

}  // namespace

std::expected<DashboardAssets, std::string> DashboardAssets::load(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(fs::path(dir) / "index.html", ec))
    return std::unexpected(
        dir + " holds no index.html (build the dashboard: cmake --build build --target dashboard)");
  DashboardAssets assets;
  std::size_t bytes = 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string relative = fs::relative(it->path(), dir, ec).generic_string();
    if (ec) break;
    auto body = read_file(it->path().string());
    if (!body) return std::unexpected(body.error());
    bytes += body->size();
    if (assets.files_.size() >= kMaxFiles || bytes > kMaxBytes)
      return std::unexpected(dir + ": more than " + std::to_string(kMaxFiles) + " files or " +
                             std::to_string(kMaxBytes >> 20) + " MiB: not a dashboard build");
    DashboardFile file{std::string(content_type_for(relative)), std::move(*body),
                       relative.starts_with("assets/")};
    assets.files_.emplace("/" + relative, std::move(file));
  }
  if (ec) return std::unexpected(dir + ": " + ec.message());
  return assets;
}

const DashboardFile* DashboardAssets::find(std::string_view path) const {
  if (path == "/") path = "/index.html";
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace strait::control
