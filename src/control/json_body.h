// Request bodies as JSON for straitd's span ingest (otlp_json.h, zipkin_json.h): parsed without
// exceptions, with the place of a syntax error in the reason.
#pragma once

#include <cstdint>
#include <expected>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace strait::control {

// The body as a JSON value, or "not JSON: syntax error at line L, column C: ..." (one line).
[[nodiscard]] std::expected<nlohmann::json, std::string> parse_json_body(std::string_view body);

// A JSON number that is an integer in int64's range (an integral float such as 1e3 included).
[[nodiscard]] std::optional<std::int64_t> json_integer(const nlohmann::json& value);

// A decimal integer in int64's range written as a string ("-12", "1700000000000000000").
[[nodiscard]] std::optional<std::int64_t> decimal_integer(std::string_view text);

// Compact JSON text that never throws: invalid UTF-8 is replaced (U+FFFD).
[[nodiscard]] std::string compact_json(const nlohmann::json& value);

// An error reason fit for one line: control characters become '?', and past `max` bytes it is cut
// (on a UTF-8 boundary) with "...".
[[nodiscard]] std::string one_line(std::string text, std::size_t max = 512);

// A field of an object, or nullptr when it is absent or null (proto3 JSON: null means default).
[[nodiscard]] const nlohmann::json* json_field(const nlohmann::json& object, std::string_view name);

}  // namespace strait::control
