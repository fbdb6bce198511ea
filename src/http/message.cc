#include "http/message.h"

#include <cstddef>
#include <string_view>

#include "http/syntax.h"

namespace strait::http {
namespace {

using syntax::ascii_lower;
using syntax::trim_ows;

const HeaderField* find_field(const std::vector<HeaderField>& headers, std::string_view name) {
  for (const HeaderField& field : headers) {
    if (iequals(field.name, name)) {
      return &field;
    }
  }
  return nullptr;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

bool list_contains_token(std::string_view value, std::string_view token) {
  while (true) {
    const std::size_t comma = value.find(',');
    if (iequals(trim_ows(value.substr(0, comma)), token)) {
      return true;
    }
    if (comma == std::string_view::npos) {
      return false;
    }
    value.remove_prefix(comma + 1);
  }
}

const HeaderField* RequestHead::find(std::string_view name) const {
  return find_field(headers, name);
}

const HeaderField* ResponseHead::find(std::string_view name) const {
  return find_field(headers, name);
}

}  // namespace strait::http
