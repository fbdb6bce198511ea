// An IP address or CIDR block, as policies write them ("10.0.0.0/8", "fd00::/8", "127.0.0.1").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace strait {

struct IpBlock {
  std::array<std::uint8_t, 16> address{};  // IPv4 as IPv4-mapped IPv6
  int prefix_bits = 128;
  bool v4 = false;  // an IPv4 block holds only IPv4 addresses, an IPv6 block only IPv6 ones
  // nullopt when `text` is not an IP literal with an optional /prefix in range.
  [[nodiscard]] static std::optional<IpBlock> parse(std::string_view text);
  // Whether the address `ip` (text; IPv6 may be bracketed) is in the block; false when it is not
  // an IP literal.
  [[nodiscard]] bool contains(std::string_view ip) const;
};

}  // namespace strait
