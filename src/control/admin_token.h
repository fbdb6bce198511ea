// The admin credential of straitd: a random bearer token in DATA_DIR/admin.token (mode 0600),
// made on first start and read back on restarts.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace strait::control {

// Loads the token at `path`, creating it (0600, 256 random bits, hex) when the file is missing.
[[nodiscard]] std::expected<std::string, std::string> load_or_create_token(const std::string& path);

// Constant-time check of an Authorization header value against "Bearer <token>".
[[nodiscard]] bool bearer_matches(std::string_view authorization, std::string_view token);

}  // namespace strait::control
