// What may go into a Set-Cookie field that the proxy writes (a generated hash cookie, from a
// DestinationRule's httpCookie): apply refuses anything else, and the proxy checks again before
// it writes one, so config can never forge a header.
#pragma once

#include <algorithm>
#include <string_view>

namespace strait {

// A cookie or attribute name: an HTTP token (RFC 6265 4.1.1, RFC 9110 5.6.2).
[[nodiscard]] inline bool is_cookie_name(std::string_view text) {
  constexpr std::string_view kSeparators = "()<>@,;:\\\"/[]?={}";
  return !text.empty() && std::ranges::all_of(text, [&](char c) {
    return c > 0x20 && c < 0x7f && kSeparators.find(c) == std::string_view::npos;
  });
}

// A path or attribute value: no control byte and no ';' (which would start another attribute).
[[nodiscard]] inline bool is_cookie_value_text(std::string_view text) {
  return std::ranges::none_of(text, [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ';'; });
}

}  // namespace strait
