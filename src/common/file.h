// Reading a whole file, and writing one atomically, with a one-line error.
#pragma once

#include <sys/types.h>

#include <expected>
#include <string>
#include <system_error>

namespace strait {

// The file's bytes, or "cannot read <path>".
[[nodiscard]] std::expected<std::string, std::string> read_file(const std::string& path);

// Writes `content` to `path` with permissions `mode` (0600 for keys) through a temporary file,
// fsync and rename, so that a reader sees the old file or the new one, never a part.
[[nodiscard]] std::expected<void, std::string> write_file_atomically(const std::string& path,
                                                                     const std::string& content,
                                                                     mode_t mode);

// fsyncs a directory, so that renames and removals in it survive a power cut.
[[nodiscard]] std::error_code sync_directory(const std::string& path);

}  // namespace strait
