#include "control/json_body.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace strait::control {
namespace {

using nlohmann::json;

// nlohmann's DOM builder, keeping the message of a syntax error instead of throwing it.
class DomWithError {
 public:
  explicit DomWithError(json& root) : dom_(root, false) {}
  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) {
    return dom_.number_float(v, s);
  }
  bool string(json::string_t& v) { return dom_.string(v); }
  bool binary(json::binary_t& v) { return dom_.binary(v); }
  bool start_object(std::size_t n) { return dom_.start_object(n); }
  bool key(json::string_t& v) { return dom_.key(v); }
  bool end_object() { return dom_.end_object(); }
  bool start_array(std::size_t n) { return dom_.start_array(n); }
  bool end_array() { return dom_.end_array(); }
  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..."
    std::string_view what = e.what();
    if (const auto close = what.find("] "); what.starts_with('[') && close != what.npos)
      what.remove_prefix(close + 2);
    message_ = what;
    return false;
  }
  const std::string& message() const { return message_; }

 private:
  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::string message_;
};

}  // namespace

std::expected<json, std::string> parse_json_body(std::string_view body) {
  json root;
  DomWithError sax(root);
  if (!json::sax_parse(body, &sax) || root.is_discarded()) {
    return std::unexpected(one_line(
        "not JSON: " + (sax.message().empty() ? std::string("not valid JSON") : sax.message())));
  }
  return root;
}

std::optional<std::int64_t> json_integer(const json& value) {
  if (value.is_number_integer() && !value.is_number_unsigned()) return value.get<std::int64_t>();
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return std::nullopt;
    return static_cast<std::int64_t>(v);
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    // 2^63 is exactly representable; anything below it converts without overflow.
    if (!std::isfinite(d) || d != std::floor(d) || d < -9223372036854775808.0 ||
        d >= 9223372036854775808.0)
      return std::nullopt;
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

std::optional<std::int64_t> decimal_integer(std::string_view text) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string compact_json(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string one_line(std::string text, std::size_t max) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (text.size() <= max) return text;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text + "...";
}

const json* json_field(const json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(name);
  if (found == object.end() || found->is_null()) return nullptr;
  return &*found;
}

}  // namespace strait::control
