#include "ctl/output.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace strait::ctl {
namespace {

using nlohmann::json;

// A field of metadata as text: strings as they are, numbers printed, absent as "".
std::string meta_text(const json& resource, const char* field) {
  if (!resource.is_object()) return {};
  const auto meta = resource.find("metadata");
  if (meta == resource.end() || !meta->is_object()) return {};
  const auto value = meta->find(field);
  if (value == meta->end() || value->is_null()) return {};
  if (value->is_string()) return value->get<std::string>();
  return value->dump();
}

std::string labels_text(const json& resource) {
  if (!resource.is_object() || !resource.contains("metadata") || !resource["metadata"].is_object())
    return "<none>";
  const auto& meta = resource["metadata"];
  const auto labels = meta.find("labels");
  if (labels == meta.end() || !labels->is_object() || labels->empty()) return "<none>";
  std::string out;
  for (const auto& [k, v] : labels->items()) {  // nlohmann's objects are sorted by key
    if (!out.empty()) out += ",";
    out += k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

bool parse_int(std::string_view s, int& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Plain scalars that YAML would read back as something other than this string.
bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  std::string l = s;
  for (auto& c : l) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  static constexpr std::string_view kSpecial[] = {
      "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n", ".inf", "-.inf", ".nan"};
  for (auto w : kSpecial)
    if (l == w) return true;
  const char first = s[0];
  if ((first >= '0' && first <= '9') || first == '-' || first == '+' || first == '.') {
    char* end = nullptr;
    (void)std::strtod(s.c_str(), &end);
    if (end == s.c_str() + s.size()) return true;
    if (l.starts_with("0x") || l.starts_with("0o")) return true;
  }
  return false;
}

void emit(YAML::Emitter& out, const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, v] : value.items()) {
        out << YAML::Key;
        if (needs_quotes(k)) out << YAML::DoubleQuoted;
        out << k << YAML::Value;
        emit(out, v);
      }
      out << YAML::EndMap;
      break;
    case json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& v : value) emit(out, v);
      out << YAML::EndSeq;
      break;
    case json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (needs_quotes(s)) out << YAML::DoubleQuoted;
      out << s;
      break;
    }
    case json::value_t::boolean:
      out << value.get<bool>();
      break;
    case json::value_t::number_integer:
      out << value.get<std::int64_t>();
      break;
    case json::value_t::number_unsigned:
      out << value.get<std::uint64_t>();
      break;
    case json::value_t::number_float:
      // The shortest text that reads back as the same double ("3.1"); yaml-cpp would print 17
      // digits ("3.1000000000000001").
      if (std::isfinite(value.get<double>())) {
        out << value.dump();
      } else {
        out << value.get<double>();
      }
      break;
    default:
      out << YAML::Null;
      break;
  }
}

}  // namespace

std::expected<OutputFormat, std::string> parse_output_format(std::string_view text) {
  if (text.empty()) return OutputFormat::kTable;
  if (text == "wide") return OutputFormat::kWide;
  if (text == "json") return OutputFormat::kJson;
  if (text == "yaml") return OutputFormat::kYaml;
  return std::unexpected("-o " + std::string(text) +
                         ": unknown output format (accepted: json, yaml, wide)");
}

std::string format_age(std::string_view ts, std::chrono::system_clock::time_point now) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (ts.size() < 20 || ts[4] != '-' || ts[7] != '-' ||
      (ts[10] != 'T' && ts[10] != 't' && ts[10] != ' ') || ts[13] != ':' || ts[16] != ':' ||
      !parse_int(ts.substr(0, 4), y) || !parse_int(ts.substr(5, 2), mo) ||
      !parse_int(ts.substr(8, 2), d) || !parse_int(ts.substr(11, 2), h) ||
      !parse_int(ts.substr(14, 2), mi) || !parse_int(ts.substr(17, 2), s))
    return "<unknown>";
  std::string_view rest = ts.substr(19);
  if (rest.starts_with('.')) {
    std::size_t i = 1;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
    rest.remove_prefix(i);
  }
  int offset_minutes = 0;
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = 0, om = 0;
    if (!parse_int(rest.substr(1, 2), oh) || !parse_int(rest.substr(4, 2), om)) return "<unknown>";
    offset_minutes = (rest[0] == '+' ? 1 : -1) * (oh * 60 + om);
  } else {
    return "<unknown>";
  }
  const std::chrono::year_month_day date{std::chrono::year(y),
                                         std::chrono::month(static_cast<unsigned>(mo)),
                                         std::chrono::day(static_cast<unsigned>(d))};
  if (!date.ok() || h > 23 || mi > 59 || s > 60) return "<unknown>";
  const auto created = std::chrono::sys_days(date) + std::chrono::hours(h) +
                       std::chrono::minutes(mi) + std::chrono::seconds(s) -
                       std::chrono::minutes(offset_minutes);
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - created).count();
  if (age < 0) return "0s";
  if (age < 60) return std::to_string(age) + "s";
  if (age < 3600) return std::to_string(age / 60) + "m";
  if (age < 86400) return std::to_string(age / 3600) + "h";
  return std::to_string(age / 86400) + "d";
}

std::string render_table(const std::vector<json>& resources, const TableOptions& options) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header{"NAMESPACE", "NAME", "KIND", "REVISION", "GENERATION", "AGE"};
  if (options.wide) header.emplace_back("LABELS");
  rows.push_back(header);
  for (const auto& r : resources) {
    std::string kind = r.is_object() && r.contains("kind") && r["kind"].is_string()
                           ? r["kind"].get<std::string>()
                           : "";
    std::vector<std::string> row{meta_text(r, "namespace"),
                                 meta_text(r, "name"),
                                 kind,
                                 meta_text(r, "resourceVersion"),
                                 meta_text(r, "generation"),
                                 format_age(meta_text(r, "creationTimestamp"), options.now)};
    if (options.wide) row.push_back(labels_text(r));
    rows.push_back(std::move(row));
  }
  return render_rows(rows, options.color);
}

std::string render_rows(const std::vector<std::vector<std::string>>& rows, bool color) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (std::size_t i = 0; i < rows[r].size(); ++i) {
      line += rows[r][i];
      if (i + 1 < rows[r].size()) line += std::string(widths[i] - rows[r][i].size() + 2, ' ');
    }
    if (r == 0 && color) line = "\x1b[1m" + line + "\x1b[0m";
    out += line + "\n";
  }
  return out;
}

std::string render_json(const json& value) {
  return value.dump(2) + "\n";
}

std::string render_yaml(const std::vector<json>& resources) {
  std::string out;
  for (std::size_t i = 0; i < resources.size(); ++i) {
    YAML::Emitter emitter;
    emitter.SetNullFormat(YAML::LowerNull);
    emit(emitter, resources[i]);
    if (i > 0) out += "---\n";
    out += emitter.c_str();
    out += "\n";
  }
  return out;
}

bool stdout_wants_color() {
  const char* no_color = std::getenv("NO_COLOR");
  return (no_color == nullptr || *no_color == '\0') && ::isatty(STDOUT_FILENO) == 1;
}

}  // namespace strait::ctl
