#include "proxy/http_route.h"

#include <re2/re2.h>

#include <algorithm>

#include "http/message.h"

namespace strait::proxy {

using http::iequals;

std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool block_matches(const RouteMatch& m, const RequestAttributes& r) {
  const auto question = r.path.find('?');
  const std::string_view path = r.path.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? std::string_view{} : r.path.substr(question + 1);
  if (m.port != 0 && m.port != r.port) return false;
  if (!m.uri.matches(path, m.ignore_uri_case)) return false;
  if (!m.method.matches(r.method)) return false;
  if (!m.authority.matches(r.authority)) return false;
  if (!m.scheme.matches(r.scheme)) return false;
  for (const auto& h : m.headers) {
    const auto value = r.header != nullptr ? r.header(r.context, h.name) : std::nullopt;
    const bool hit = value.has_value() && h.match.matches(*value);
    if (h.must_be_absent ? hit : !hit) return false;
  }
  for (const auto& [name, matcher] : m.query_params) {
    const auto value = query_param(query, name);
    if (!value || !matcher.matches(*value)) return false;
  }
  return true;
}

bool StringMatcher::matches(std::string_view text, bool ignore_case) const {
  switch (kind) {
    case Kind::kAny:
      return true;
    case Kind::kExact:
      return ignore_case ? iequals(text, value) : text == value;
    case Kind::kPrefix:
      return text.size() >= value.size() &&
             (ignore_case ? iequals(text.substr(0, value.size()), value) : text.starts_with(value));
    case Kind::kRegex:
      return regex != nullptr && re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *regex);
  }
  return false;
}

const RouteMatch* matching_block(const HttpRoute& route, const RequestAttributes& request, bool* matched_all) {
  *matched_all = route.matches.empty();
  for (const auto& m : route.matches) {
    if (block_matches(m, request)) return &m;
  }
  return nullptr;
}

bool route_matches(const HttpRoute& route, const RequestAttributes& request) {
  bool all = false;
  return matching_block(route, request, &all) != nullptr || all;
}

bool replaced_by_proxy_fields(std::string_view name,
                              const std::vector<std::pair<std::string, std::string>>& fields) {
  if (iequals(name, "set-cookie")) return false;
  return std::ranges::any_of(fields, [&](const auto& f) { return iequals(f.first, name); });
}

bool HeaderEdits::drops(std::string_view name) const {
  for (const HeaderOps* ops : {route, target}) {
    if (ops == nullptr) continue;
    for (const auto& r : ops->remove) {
      if (iequals(r, name)) return true;
    }
    for (const auto& [n, v] : ops->set) {
      if (iequals(n, name)) return true;
    }
  }
  return false;
}

bool CorsPolicy::allows(std::string_view origin) const {
  return std::ranges::any_of(allow_origins, [&](const StringMatcher& m) {
    return (m.kind == StringMatcher::Kind::kExact && m.value == "*") || m.matches(origin);
  });
}

bool HeaderEdits::overridden_by_target(std::string_view name) const {
  if (target == nullptr || route == nullptr) return false;
  return std::ranges::any_of(target->remove, [&](const std::string& r) { return r == name; }) ||
         std::ranges::any_of(target->set, [&](const auto& field) { return field.first == name; });
}

void HeaderEdits::apply(std::vector<std::pair<std::string, std::string>>& fields) const {
  if (empty()) return;
  std::erase_if(fields, [&](const auto& field) { return !field.first.starts_with(':') && drops(field.first); });
  for_each_added([&](const std::string& n, const std::string& v) { fields.emplace_back(n, v); });
}

std::optional<std::string> rewritten_path(const Rewrite& rewrite, const RouteMatch* matched, std::string_view path) {
  const auto question = path.find('?');
  const std::string_view query = question == std::string_view::npos ? std::string_view{} : path.substr(question);
  std::string bare(path.substr(0, question));
  if (rewrite.regex != nullptr) {
    re2::RE2::GlobalReplace(&bare, *rewrite.regex, rewrite.regex_replacement);
    return bare + std::string(query);
  }
  if (rewrite.uri.empty()) return std::nullopt;
  // As in Istio: a prefix match rewrites its prefix; no uri condition counts as the prefix "/";
  // exact and regex matches rewrite the whole path. The query is kept.
  if (matched != nullptr && matched->uri.kind == StringMatcher::Kind::kPrefix && bare.size() >= matched->uri.value.size())
    return rewrite.uri + bare.substr(matched->uri.value.size()) + std::string(query);
  if ((matched == nullptr || matched->uri.kind == StringMatcher::Kind::kAny) && bare.starts_with('/'))
    return rewrite.uri + bare.substr(1) + std::string(query);
  return rewrite.uri + std::string(query);
}

}  // namespace strait::proxy
