// SHA-256 (OpenSSL): how secrets are kept, as digests, so that a stored or looked-up value never
// is the secret itself.
#pragma once

#include <string>
#include <string_view>

namespace strait {

// The 32 raw bytes of the digest of `text`.
[[nodiscard]] std::string sha256(std::string_view text);

}  // namespace strait
