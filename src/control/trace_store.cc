#include "control/trace_store.h"

#include <algorithm>
#include <set>

namespace strait::control {
namespace {

bool is_hex(std::string_view text) {
  return std::ranges::all_of(text, [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

// `text` in lower case, or why it is not an id (its shape was checked by the caller).
std::expected<std::string, std::string> lower_id(std::string_view text) {
  std::string out(text);
  bool zero = true;
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    zero = zero && c == '0';
  }
  if (zero) return std::unexpected("all zeros (an invalid id)");
  return out;
}

// What a span costs in memory, roughly: its fixed part and the characters of its strings.
std::size_t span_bytes(const CollectedSpan& s) {
  std::size_t n = sizeof(CollectedSpan) + s.trace_id.size() + s.span_id.size() +
                  s.parent_span_id.size() + s.name.size() + s.kind.size() + s.service.size();
  for (const auto& [key, value] : s.attributes)
    n += sizeof(std::pair<std::string, std::string>) + key.size() + value.size();
  return n + 64;  // its entry in the span-id index
}

bool earlier(const CollectedSpan& a, const CollectedSpan& b) {
  if (a.start_unix_nanos != b.start_unix_nanos) return a.start_unix_nanos < b.start_unix_nanos;
  return a.span_id < b.span_id;
}

// The root: the earliest span without a parent; else the earliest whose parent is not held;
// else (parents in a cycle) the earliest.
const CollectedSpan* root_of(const std::vector<CollectedSpan>& spans,
                             const std::unordered_map<std::string, std::size_t>& by_id) {
  const CollectedSpan* best = nullptr;
  const auto pick = [&](auto&& eligible) {
    for (const auto& s : spans)
      if (eligible(s) && (best == nullptr || earlier(s, *best))) best = &s;
    return best != nullptr;
  };
  if (pick([](const CollectedSpan& s) { return s.parent_span_id.empty(); })) return best;
  if (pick([&](const CollectedSpan& s) { return !by_id.contains(s.parent_span_id); })) return best;
  pick([](const CollectedSpan&) { return true; });
  return best;
}

}  // namespace

std::expected<std::string, std::string> normalize_trace_id(std::string_view text,
                                                           bool allow_64_bit) {
  const bool shaped = text.size() == 32 || (allow_64_bit && text.size() == 16);
  if (!shaped || !is_hex(text))
    return std::unexpected(allow_64_bit ? "not 16 or 32 hex digits" : "not 32 hex digits");
  auto id = lower_id(text);
  if (id && id->size() == 16) id->insert(0, 16, '0');
  return id;
}

std::expected<std::string, std::string> normalize_span_id(std::string_view text) {
  if (text.size() != 16 || !is_hex(text)) return std::unexpected("not 16 hex digits");
  return lower_id(text);
}

void TraceStore::touch(Trace& trace) {
  recency_.splice(recency_.end(), recency_, trace.recency);
}

bool TraceStore::evict_one(const std::string& keep) {
  for (auto it = recency_.begin(); it != recency_.end(); ++it) {
    if (*it == keep) continue;
    const auto found = traces_.find(*it);
    spans_ -= found->second.spans.size();
    bytes_ -= found->second.bytes;
    traces_.erase(found);
    recency_.erase(it);
    ++traces_evicted_;
    return true;
  }
  return false;
}

TraceAddResult TraceStore::add(std::vector<CollectedSpan> spans) {
  TraceAddResult result;
  const std::lock_guard lock(mutex_);
  for (auto& span : spans) {
    ++spans_received_;
    const std::size_t size = span_bytes(span);
    auto found = traces_.find(span.trace_id);
    const bool exists = found != traces_.end();
    std::size_t replaced_bytes = 0;
    std::optional<std::size_t> replaced;
    if (exists) {
      if (const auto dup = found->second.by_span_id.find(span.span_id);
          dup != found->second.by_span_id.end()) {
        replaced = dup->second;
        replaced_bytes = span_bytes(found->second.spans[dup->second]);
      }
    }
    const std::size_t held = exists ? found->second.spans.size() : 0;
    if ((!replaced && held >= limits_.max_spans_per_trace) || size > limits_.max_bytes) {
      ++result.dropped;
      continue;
    }
    const std::size_t added_spans = replaced ? 0 : 1;
    const auto over = [&] {
      return (!exists && traces_.size() >= limits_.max_traces) ||
             spans_ + added_spans > limits_.max_spans ||
             bytes_ - replaced_bytes + size > limits_.max_bytes;
    };
    bool room = true;
    while (room && over()) room = evict_one(span.trace_id);
    if (!room) {
      ++result.dropped;
      continue;
    }
    auto [it, created] = traces_.try_emplace(span.trace_id);
    Trace& trace = it->second;
    if (created) trace.recency = recency_.insert(recency_.end(), span.trace_id);
    if (replaced) {
      trace.spans[*replaced] = std::move(span);
    } else {
      trace.by_span_id.emplace(span.span_id, trace.spans.size());
      trace.spans.push_back(std::move(span));
      ++spans_;
    }
    trace.bytes = trace.bytes - replaced_bytes + size;
    bytes_ = bytes_ - replaced_bytes + size;
    touch(trace);
    ++result.accepted;
  }
  spans_dropped_ += result.dropped;
  return result;
}

std::vector<TraceSummary> TraceStore::list(const TraceQuery& query) const {
  std::vector<TraceSummary> out;
  const std::lock_guard lock(mutex_);
  for (const auto& [id, trace] : traces_) {
    if (trace.spans.empty()) continue;
    TraceSummary s;
    s.trace_id = id;
    std::int64_t start = trace.spans.front().start_unix_nanos;
    std::int64_t end = trace.spans.front().end_unix_nanos;
    std::set<std::string> services;
    for (const auto& span : trace.spans) {
      start = std::min(start, span.start_unix_nanos);
      end = std::max(end, span.end_unix_nanos);
      services.insert(span.service);
      s.error = s.error || span.error;
    }
    if (!query.service.empty() && !services.contains(query.service)) continue;
    s.start_unix_nanos = start;
    s.duration_nanos = end - start;
    if (std::chrono::nanoseconds(s.duration_nanos) < query.min_duration) continue;
    const CollectedSpan* root = root_of(trace.spans, trace.by_span_id);
    s.root_service = root->service;
    s.root_name = root->name;
    s.span_count = trace.spans.size();
    s.services.assign(services.begin(), services.end());
    out.push_back(std::move(s));
  }
  const auto newer = [](const TraceSummary& a, const TraceSummary& b) {
    if (a.start_unix_nanos != b.start_unix_nanos) return a.start_unix_nanos > b.start_unix_nanos;
    return a.trace_id < b.trace_id;
  };
  if (out.size() > query.limit) {
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(query.limit),
                      out.end(), newer);
    out.resize(query.limit);
  } else {
    std::sort(out.begin(), out.end(), newer);
  }
  return out;
}

std::optional<std::vector<CollectedSpan>> TraceStore::find(std::string_view trace_id) const {
  const std::lock_guard lock(mutex_);
  const auto found = traces_.find(std::string(trace_id));
  if (found == traces_.end()) return std::nullopt;
  std::vector<CollectedSpan> spans = found->second.spans;
  std::sort(spans.begin(), spans.end(), earlier);
  return spans;
}

TraceStoreStats TraceStore::stats() const {
  const std::lock_guard lock(mutex_);
  return TraceStoreStats{spans_received_, spans_dropped_, traces_evicted_,
                         traces_.size(),  spans_,         bytes_};
}

}  // namespace strait::control
