#include "common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace strait {

std::expected<std::string, std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::unexpected("cannot read " + path);
  return text.str();
}

std::expected<void, std::string> write_file_atomically(const std::string& path,
                                                       const std::string& content, mode_t mode) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return std::unexpected("cannot write " + path + ": " + std::strerror(errno));
  const bool ok =
      ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
      ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(temporary.c_str(), path.c_str()) != 0)
    return std::unexpected("cannot write " + path);
  const auto slash = path.rfind('/');
  if (auto ec = sync_directory(slash == std::string::npos ? "." : path.substr(0, slash)); ec)
    return std::unexpected("cannot sync the directory of " + path + ": " + ec.message());
  return {};
}

std::error_code sync_directory(const std::string& path) {
  const int fd = ::open(path.empty() ? "/" : path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return {errno, std::generic_category()};
  const int synced = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  return synced == 0 ? std::error_code() : std::error_code(error, std::generic_category());
}

}  // namespace strait
