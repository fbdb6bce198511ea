#include "common/ip_block.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace strait {
namespace {

// The address as 16 bytes (IPv4 as IPv4-mapped IPv6) and its family; false when it is not an IP
// literal. An IPv6 zone ("fe80::1%eth0") is dropped.
bool parse_ip(std::string_view text, std::array<std::uint8_t, 16>& out, bool& v4) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  if (const auto zone = text.find('%');
      zone != std::string_view::npos && text.find(':') != std::string_view::npos)
    text = text.substr(0, zone);
  if (text.empty() || text.size() > 45) return false;
  char buffer[46];
  std::ranges::copy(text, buffer);
  buffer[text.size()] = '\0';
  in_addr address4{};
  if (inet_pton(AF_INET, buffer, &address4) == 1) {
    out.fill(0);
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &address4, 4);
    v4 = true;
    return true;
  }
  in6_addr address6{};
  if (inet_pton(AF_INET6, buffer, &address6) == 1) {
    std::memcpy(out.data(), &address6, 16);
    v4 = false;
    return true;
  }
  return false;
}

}  // namespace

std::optional<IpBlock> IpBlock::parse(std::string_view text) {
  IpBlock block;
  const auto slash = text.find('/');
  if (!parse_ip(text.substr(0, slash), block.address, block.v4)) return std::nullopt;
  block.prefix_bits = 128;
  if (slash != std::string_view::npos) {
    const std::string_view bits = text.substr(slash + 1);
    int value = -1;
    const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), value);
    if (ec != std::errc{} || end != bits.data() + bits.size() || value < 0 ||
        value > (block.v4 ? 32 : 128))
      return std::nullopt;
    block.prefix_bits = block.v4 ? value + 96 : value;
  }
  return block;
}

bool IpBlock::contains(std::string_view ip) const {
  std::array<std::uint8_t, 16> address_bytes{};
  bool ip_v4 = false;
  if (!parse_ip(ip, address_bytes, ip_v4) || ip_v4 != v4) return false;
  int bits = prefix_bits;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((address_bytes[i] & mask) != (address[i] & mask)) return false;
  }
  return true;
}

}  // namespace strait
