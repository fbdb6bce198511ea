// Secrets and identifiers from the operating system's CSPRNG (OpenSSL RAND_bytes).
#pragma once

#include <cstddef>
#include <expected>
#include <string>

namespace strait {

// `bytes` random bytes as lower-case hex (2 * bytes characters); an error only when no randomness
// is available.
[[nodiscard]] std::expected<std::string, std::string> random_hex(std::size_t bytes);

}  // namespace strait
