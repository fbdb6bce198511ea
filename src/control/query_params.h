// The query and path parameters of straitd's API: percent-decoding, the query's NAME=VALUE pairs
// and whole numbers in a range.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace strait::control {

// %XX escapes decoded, '+' as a space; a malformed escape is kept as it is.
[[nodiscard]] std::string percent_decode(std::string_view text);
// "a=1&b=x%20y" as {a: 1, b: x y}; a name without '=' has the value "", a repeated name its last.
[[nodiscard]] std::map<std::string, std::string> parse_query(std::string_view query);
// `text` as a whole number from `low` to `high`; nullopt for anything else.
[[nodiscard]] std::optional<std::uint64_t> query_number(std::string_view text, std::uint64_t low,
                                                        std::uint64_t high);

}  // namespace strait::control
