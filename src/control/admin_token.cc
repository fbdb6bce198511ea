#include "control/admin_token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/random.h"

namespace strait::control {

std::expected<std::string, std::string> load_or_create_token(const std::string& path) {
  if (std::ifstream in(path); in) {
    std::stringstream text;
    text << in.rdbuf();
    std::string token = text.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.size() < 32) return std::unexpected(path + ": the admin token is too short (delete the file to make a new one)");
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
      return std::unexpected(path + ": the admin token must not be readable by group or others (chmod 600)");
    return token;
  }
  auto random = random_hex(32);
  if (!random) return std::unexpected("cannot generate the admin token: " + random.error());
  const std::string token = std::move(*random);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected("cannot create " + path + ": " + std::strerror(errno));
  const std::string line = token + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return std::unexpected("cannot write " + path);
  return token;
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (!authorization.starts_with(kPrefix)) return false;
  authorization.remove_prefix(kPrefix.size());
  if (authorization.size() != token.size() || token.empty()) return false;
  return CRYPTO_memcmp(authorization.data(), token.data(), token.size()) == 0;
}

}  // namespace strait::control
