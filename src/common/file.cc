#include "common/file.h"

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

}  // namespace strait
