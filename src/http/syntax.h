// Internal: the lexical rules of RFC 9110 section 5.6 shared by the HTTP/1 parser and messages.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace strait::http::syntax {

// Octet classes of RFC 9110 5.6.2 (tchar), 5.5 (field-vchar) and 5.6.4 (qdtext).
enum CharClass : std::uint8_t {
  kTchar = 1U << 0U,
  kFieldChar = 1U << 1U,   // HTAB, SP, VCHAR, obs-text: field values, reason phrases
  kTargetChar = 1U << 2U,  // VCHAR: request-target
  kHexDigit = 1U << 3U,
  kQdText = 1U << 4U,    // quoted-string content other than a quoted-pair
  kHostChar = 1U << 5U,  // uri-host [":" port] (RFC 3986 reg-name, IP-literal, IPv4)
};

constexpr std::array<std::uint8_t, 256> make_char_classes() {
  constexpr std::string_view kTcharSymbols = "!#$%&'*+-.^_`|~";
  // RFC 3986 reg-name / IP-literal / port symbols, less ',' (a Host must not read as a list).
  constexpr std::string_view kHostSymbols = "-._~%!$&'()*+;=:[]";
  std::array<std::uint8_t, 256> table{};
  for (int c = 0; c < 256; ++c) {
    const bool digit = c >= '0' && c <= '9';
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool vchar = c >= 0x21 && c <= 0x7E;
    const bool obs_text = c >= 0x80;
    std::uint8_t bits = 0;
    if (digit || alpha || kTcharSymbols.find(static_cast<char>(c)) != std::string_view::npos) {
      bits |= kTchar;
    }
    if (c == '\t' || c == ' ' || vchar || obs_text) {
      bits |= kFieldChar;
    }
    if (vchar) {
      bits |= kTargetChar;
    }
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
      bits |= kHexDigit;
    }
    if ((c == '\t' || c == ' ' || vchar || obs_text) && c != '"' && c != '\\') {
      bits |= kQdText;
    }
    if (digit || alpha || kHostSymbols.find(static_cast<char>(c)) != std::string_view::npos) {
      bits |= kHostChar;
    }
    table[static_cast<std::size_t>(c)] = bits;
  }
  return table;
}

inline constexpr std::array<std::uint8_t, 256> kCharClasses = make_char_classes();

constexpr bool has_class(char c, CharClass char_class) {
  return (kCharClasses[static_cast<unsigned char>(c)] & char_class) != 0;
}

constexpr bool is_ows(char c) {
  return c == ' ' || c == '\t';
}
constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

constexpr std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_ows(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

inline bool all_of_class(std::string_view s, CharClass char_class) {
  return std::all_of(s.begin(), s.end(), [char_class](char c) { return has_class(c, char_class); });
}

constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace strait::http::syntax
