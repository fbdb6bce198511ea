// How straitctl prints resources: a table for people, or JSON/YAML for programs.
#pragma once

#include <chrono>
#include <expected>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace strait::ctl {

enum class OutputFormat : std::uint8_t { kTable, kWide, kJson, kYaml };

// "" (the table), "wide", "json", "yaml"; anything else is an error.
[[nodiscard]] std::expected<OutputFormat, std::string> parse_output_format(std::string_view text);

// "5s", "3m", "2h", "4d" since an RFC 3339 timestamp ("2026-11-22T01:00:00Z", fractions and offsets
// accepted); "<unknown>" when it cannot be read. A timestamp in the future reads "0s".
[[nodiscard]] std::string format_age(std::string_view timestamp,
                                     std::chrono::system_clock::time_point now);

struct TableOptions {
  bool wide = false;   // adds LABELS
  bool color = false;  // the header row in bold
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

// Columns NAMESPACE NAME KIND REVISION GENERATION AGE [LABELS], two spaces apart, one row per
// resource.
[[nodiscard]] std::string render_table(const std::vector<nlohmann::json>& resources,
                                       const TableOptions& options);

// Rows as aligned columns (two spaces apart); the first row is the header (bold with `color`).
[[nodiscard]] std::string render_rows(const std::vector<std::vector<std::string>>& rows, bool color);

// Pretty JSON (two-space indent) with a final newline.
[[nodiscard]] std::string render_json(const nlohmann::json& value);

// One YAML document per resource, separated by "---" lines.
[[nodiscard]] std::string render_yaml(const std::vector<nlohmann::json>& resources);

// True when stdout is a terminal and NO_COLOR is unset.
[[nodiscard]] bool stdout_wants_color();

}  // namespace strait::ctl
