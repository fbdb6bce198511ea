// Text held in a fixed-size buffer, so that records holding it stay trivially copyable and a worker
// can queue them without allocating (span_record.h, access_log_record.h).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

namespace strait::proxy {

// Text cut to N bytes (at a UTF-8 character boundary).
template <std::size_t N>
struct FixedText {
  std::array<char, N> data{};
  std::uint16_t size = 0;

  void assign(std::string_view text) {
    std::size_t n = std::min(text.size(), N);
    if (n < text.size()) {
      while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xc0) == 0x80) --n;
    }
    std::copy_n(text.data(), n, data.data());
    size = static_cast<std::uint16_t>(n);
  }
  [[nodiscard]] std::string_view view() const { return {data.data(), size}; }
  [[nodiscard]] bool empty() const { return size == 0; }
};

}  // namespace strait::proxy
