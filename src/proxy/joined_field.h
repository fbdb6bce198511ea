// A request header as policies read it: every field of the name, joined with "," as Envoy presents
// repeated headers (a policy must not see only the copy a caller chose to put first). Only a
// repeated header costs a copy, into a per-thread buffer valid until the next call on the thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace strait::proxy {

// `fields` is any range; `field(f)` gives a field's name and value as a pair of string views,
// `named(name)` tells whether a field name is the one looked for.
template <typename Fields, typename Field, typename Named>
std::optional<std::string_view> joined_field(const Fields& fields, Field field, Named named) {
  thread_local std::string joined;
  std::optional<std::string_view> first;
  bool repeated = false;
  for (const auto& f : fields) {
    const auto [name, value] = field(f);
    if (!named(name)) continue;
    if (!first) {
      first = value;
      continue;
    }
    if (!repeated) joined.assign(*first);
    repeated = true;
    joined.append(",").append(value);
  }
  if (repeated) return std::string_view(joined);
  return first;
}

}  // namespace strait::proxy
