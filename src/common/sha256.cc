#include "common/sha256.h"

#include <openssl/evp.h>

#include <array>

namespace strait {

std::string sha256(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

}  // namespace strait
