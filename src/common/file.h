// Reading a whole file, with a one-line error.
#pragma once

#include <expected>
#include <string>

namespace strait {

// The file's bytes, or "cannot read <path>".
[[nodiscard]] std::expected<std::string, std::string> read_file(const std::string& path);

}  // namespace strait
