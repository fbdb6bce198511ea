#include "ctl/trace_view.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ctl/output.h"

namespace strait::ctl {
namespace {

using nlohmann::json;

// The widest "service: name [kind]" label, indentation included; longer ones are cut.
constexpr std::size_t kMaxLabel = 72;

std::string text(const json& object, const char* field) {
  if (!object.is_object()) return {};
  const auto it = object.find(field);
  if (it == object.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number() || it->is_boolean()) return it->dump();
  return {};
}

double number(const json& object, const char* field) {
  if (!object.is_object()) return 0;
  const auto it = object.find(field);
  if (it == object.end() || !it->is_number()) return 0;
  const double v = it->get<double>();
  return std::isfinite(v) ? v : 0;
}

bool flag(const json& object, const char* field) {
  if (!object.is_object()) return false;
  const auto it = object.find(field);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

std::int64_t start_nanos(const json& span) {
  const std::string s = text(span, "startUnixNano");
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && end == s.data() + s.size() ? v : 0;
}

std::string milliseconds(double ms) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.3fms", ms);
  return buffer;
}

// Terminal columns of UTF-8 text, roughly: one per code point.
std::size_t columns(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// At most `max` columns, cut on a code point boundary with "…".
std::string fit(std::string s, std::size_t max) {
  if (columns(s) <= max) return s;
  std::size_t kept = 0;
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    if ((s[i] & 0xC0) != 0x80 && ++kept == max) break;  // the code point for "…"
  }
  s.resize(i);
  return s + "…";
}

std::string pad_right(const std::string& s, std::size_t width) {
  const std::size_t n = columns(s);
  return n >= width ? s : s + std::string(width - n, ' ');
}

std::string pad_left(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

std::string bar(double offset, double duration, double total, int width) {
  int begin = 0;
  int end = width;
  if (total > 0) {
    begin = static_cast<int>(std::floor(offset / total * width));
    end = static_cast<int>(std::ceil((offset + duration) / total * width));
  }
  begin = std::clamp(begin, 0, width - 1);
  end = std::clamp(end, begin + 1, width);
  std::string out;
  for (int i = 0; i < width; ++i) out += i >= begin && i < end ? "█" : "─";
  return out;
}

}  // namespace

std::string render_trace_table(const json& answer, bool color) {
  std::vector<std::vector<std::string>> rows{
      {"TRACE ID", "ROOT", "START", "DURATION", "SPANS", "SERVICES", "ERROR"}};
  const json traces = answer.is_object() && answer.contains("traces") && answer["traces"].is_array()
                          ? answer["traces"]
                          : json::array();
  for (const auto& t : traces) {
    std::string services;
    if (t.is_object() && t.contains("services") && t["services"].is_array()) {
      for (const auto& s : t["services"])
        if (s.is_string()) services += (services.empty() ? "" : ",") + s.get<std::string>();
    }
    rows.push_back({text(t, "traceId"),
                    fit(text(t, "rootService") + ": " + text(t, "rootName"), 60),
                    text(t, "startTime"), milliseconds(number(t, "durationMs")),
                    text(t, "spanCount"), services, flag(t, "error") ? "yes" : "no"});
  }
  return render_rows(rows, color);
}

std::string render_waterfall(const json& trace, int width) {
  width = std::clamp(width, 1, 1000);
  const json spans = trace.is_object() && trace.contains("spans") && trace["spans"].is_array()
                         ? trace["spans"]
                         : json::array();
  const std::string id = text(trace, "traceId");
  if (spans.empty()) return "Trace " + id + ": no spans\n";
  const std::size_t n = spans.size();

  std::vector<std::int64_t> starts(n);
  std::int64_t first = 0;
  std::set<std::string> services;
  std::unordered_map<std::string, std::size_t> by_id;
  for (std::size_t i = 0; i < n; ++i) {
    starts[i] = start_nanos(spans[i]);
    first = i == 0 ? starts[i] : std::min(first, starts[i]);
    services.insert(text(spans[i], "service"));
    if (std::string sid = text(spans[i], "spanId"); !sid.empty()) by_id.try_emplace(sid, i);
  }
  std::vector<double> offsets(n);
  std::vector<double> durations(n);
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    offsets[i] = static_cast<double>(starts[i] - first) / 1e6;
    durations[i] = std::max(0.0, number(spans[i], "durationMs"));
    total = std::max(total, offsets[i] + durations[i]);
  }

  // The tree: children of each span, and the top level, each by start time.
  const auto earlier = [&](std::size_t a, std::size_t b) {
    if (starts[a] != starts[b]) return starts[a] < starts[b];
    return a < b;
  };
  std::vector<std::vector<std::size_t>> children(n);
  std::vector<std::size_t> order;  // every span by start: the top level first, then the rest
  std::vector<std::size_t> rest;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string parent_id = text(spans[i], "parentSpanId");
    const auto parent = parent_id.empty() ? by_id.end() : by_id.find(parent_id);
    if (parent == by_id.end() || parent->second == i) {
      order.push_back(i);
    } else {
      children[parent->second].push_back(i);
      rest.push_back(i);
    }
  }
  for (auto& c : children) std::sort(c.begin(), c.end(), earlier);
  std::sort(order.begin(), order.end(), earlier);
  std::sort(rest.begin(), rest.end(), earlier);
  order.insert(order.end(), rest.begin(), rest.end());  // reached only when in a parent cycle

  std::vector<std::pair<std::size_t, std::size_t>> rows;  // (span, depth), in print order
  std::vector<bool> seen(n, false);
  for (const std::size_t top : order) {
    if (seen[top]) continue;
    std::vector<std::pair<std::size_t, std::size_t>> stack{{top, 0}};
    while (!stack.empty()) {
      const auto [i, depth] = stack.back();
      stack.pop_back();
      if (seen[i]) continue;
      seen[i] = true;
      rows.emplace_back(i, depth);
      for (auto c = children[i].rbegin(); c != children[i].rend(); ++c)
        if (!seen[*c]) stack.emplace_back(*c, depth + 1);
    }
  }

  std::vector<std::string> labels;
  std::size_t label_width = 0;
  std::size_t offset_width = 0;
  std::size_t duration_width = 0;
  for (const auto& [i, depth] : rows) {
    const json& s = spans[i];
    std::string label = std::string(2 * std::min<std::size_t>(depth, 16), ' ') +
                        text(s, "service") + ": " + text(s, "name") + " [" + text(s, "kind") + "]";
    labels.push_back(fit(std::move(label), kMaxLabel));
    label_width = std::max(label_width, columns(labels.back()));
    offset_width = std::max(offset_width, milliseconds(offsets[i]).size() + 1);
    duration_width = std::max(duration_width, milliseconds(durations[i]).size());
  }

  std::string out = "Trace " + id + ": " + std::to_string(n) + (n == 1 ? " span, " : " spans, ") +
                    std::to_string(services.size()) +
                    (services.size() == 1 ? " service, " : " services, ") + milliseconds(total) +
                    "\n\n";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::size_t i = rows[r].first;
    const json attributes =
        spans[i].is_object() && spans[i].contains("attributes") ? spans[i]["attributes"] : json();
    std::string status = text(attributes, "http.status_code");
    if (status.empty()) status = text(attributes, "http.response.status_code");
    if (flag(spans[i], "error")) status += status.empty() ? "ERROR" : " ERROR";
    std::string line = pad_right(labels[r], label_width) + "  " +
                       pad_left("+" + milliseconds(offsets[i]), offset_width) + "  " +
                       pad_left(milliseconds(durations[i]), duration_width) + "  " +
                       bar(offsets[i], durations[i], total, width);
    if (!status.empty()) line += "  " + status;
    out += line + "\n";
  }
  return out;
}

}  // namespace strait::ctl
