// Booleans written as text the way Istio reads its annotations (Go's strconv.ParseBool): "1", "t",
// "T", "TRUE", "true", "True" and their false forms; anything else is not a boolean.
#pragma once

#include <optional>
#include <string_view>

namespace strait {

[[nodiscard]] inline std::optional<bool> parse_bool_text(std::string_view text) {
  for (std::string_view yes : {"1", "t", "T", "TRUE", "true", "True"})
    if (text == yes) return true;
  for (std::string_view no : {"0", "f", "F", "FALSE", "false", "False"})
    if (text == no) return false;
  return std::nullopt;
}

}  // namespace strait
