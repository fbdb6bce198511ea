#include "proxy/trace_context.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "http/message.h"

namespace strait::proxy {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

int hex_value(char c) {  // lower-case only, as W3C requires
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Exactly 2 * out.size() lower-case hex digits.
bool parse_hex(std::string_view text, std::span<std::uint8_t> out) {
  if (text.size() != 2 * out.size()) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int high = hex_value(text[2 * i]);
    const int low = hex_value(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return true;
}

// A B3 trace id: 32 hex digits, or 16 (the high half zero).
bool parse_b3_trace_id(std::string_view text, TraceId& out) {
  out = {};
  if (text.size() == 16) return parse_hex(text, std::span(out).subspan(8)) && !is_zero(out);
  return parse_hex(text, out) && !is_zero(out);
}

bool parse_span_id(std::string_view text, SpanId& out) {
  return parse_hex(text, out) && !is_zero(out);
}

Sampling b3_sampling(std::string_view value) {
  if (value == "1" || value == "d" || value == "true") return Sampling::kSampled;
  if (value == "0" || value == "false") return Sampling::kNotSampled;
  return Sampling::kUnset;
}

// traceparent: version "-" trace-id "-" parent-id "-" flags. Version ff is invalid; a future
// version may carry more fields after the flags, behind a "-".
bool parse_traceparent(std::string_view text, TraceContext& out) {
  if (text.size() < 55) return false;
  std::array<std::uint8_t, 1> version{};
  if (!parse_hex(text.substr(0, 2), version) || version[0] == 0xff) return false;
  if (version[0] == 0 ? text.size() != 55 : (text.size() > 55 && text[55] != '-')) return false;
  if (text[2] != '-' || text[35] != '-' || text[52] != '-') return false;
  std::array<std::uint8_t, 1> flags{};
  if (!parse_hex(text.substr(3, 32), out.trace_id) ||
      !parse_hex(text.substr(36, 16), out.span_id) || !parse_hex(text.substr(53, 2), flags))
    return false;
  if (is_zero(out.trace_id) || is_zero(out.span_id)) return false;
  out.sampling = (flags[0] & 1) != 0 ? Sampling::kSampled : Sampling::kNotSampled;
  return true;
}

// b3: {trace}-{span}[-{sampled}[-{parent}]], or a bare sampling decision.
bool parse_b3_single(std::string_view text, TraceContext& out) {
  if (text.size() == 1) {
    out.sampling = b3_sampling(text);
    return false;
  }
  std::array<std::string_view, 4> parts{};
  std::size_t count = 0;
  while (count < parts.size()) {
    const auto dash = text.find('-');
    parts[count++] = text.substr(0, dash);
    if (dash == std::string_view::npos) {
      text = {};
      break;
    }
    text.remove_prefix(dash + 1);
    if (count == parts.size()) return false;  // a fifth part
  }
  if (count < 2) return false;
  if (!parse_b3_trace_id(parts[0], out.trace_id) || !parse_span_id(parts[1], out.span_id))
    return false;
  Sampling sampling = Sampling::kUnset;
  if (count >= 3) {
    sampling = b3_sampling(parts[2]);
    if (sampling == Sampling::kUnset || parts[2] == "true" || parts[2] == "false") return false;
  }
  if (count == 4) {
    SpanId parent{};
    if (!parse_span_id(parts[3], parent)) return false;
  }
  out.sampling = sampling;  // only for a valid header: a broken one carries no decision
  return true;
}

std::mt19937_64& generator() {
  thread_local std::mt19937_64 engine = [] {
    std::uint64_t seed = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1)
      seed = std::random_device{}();
    return std::mt19937_64(seed);
  }();
  return engine;
}

void fill_random(std::span<std::uint8_t> out) {
  do {
    for (std::size_t i = 0; i < out.size(); i += 8) {
      const std::uint64_t value = generator()();
      std::memcpy(out.data() + i, &value, std::min<std::size_t>(8, out.size() - i));
    }
  } while (is_zero(out));
}

}  // namespace

bool is_zero(std::span<const std::uint8_t> bytes) {
  return std::ranges::all_of(bytes, [](std::uint8_t b) { return b == 0; });
}

void write_hex(std::span<const std::uint8_t> bytes, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const std::uint8_t b : bytes) {
    *out++ = kHex[b >> 4];
    *out++ = kHex[b & 0xf];
  }
}

std::string hex_text(std::span<const std::uint8_t> bytes) {
  std::string out(2 * bytes.size(), '0');
  write_hex(bytes, out.data());
  return out;
}

bool note_trace_header(TraceHeaders& headers, std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  const char first = lower(name[0]);
  if (first != 't' && first != 'b' && first != 'x') return false;
  const std::pair<std::string_view, std::string_view*> known[] = {
      {"traceparent", &headers.traceparent},
      {"tracestate", &headers.tracestate},
      {"b3", &headers.b3},
      {"x-b3-traceid", &headers.x_b3_traceid},
      {"x-b3-spanid", &headers.x_b3_spanid},
      {"x-b3-parentspanid", &headers.x_b3_parentspanid},
      {"x-b3-sampled", &headers.x_b3_sampled},
      {"x-b3-flags", &headers.x_b3_flags},
  };
  for (const auto& [header, slot] : known) {
    if (http::iequals(name, header)) {
      *slot = value;
      return true;
    }
  }
  return false;
}

bool is_trace_header(std::string_view name) {
  TraceHeaders scratch;
  return note_trace_header(scratch, name, {});
}

TraceContext parse_trace_context(const TraceHeaders& headers) {
  TraceContext out;
  if (!headers.traceparent.empty()) {
    TraceContext w3c;
    if (parse_traceparent(headers.traceparent, w3c)) {
      w3c.has_ids = true;
      w3c.format = TraceFormat::kW3c;
      if (!headers.tracestate.empty() && headers.tracestate.size() <= w3c.tracestate.size()) {
        std::ranges::copy(headers.tracestate, w3c.tracestate.begin());
        w3c.tracestate_size = static_cast<std::uint16_t>(headers.tracestate.size());
      }
      return w3c;
    }
  }
  if (!headers.b3.empty()) {
    TraceContext single;
    if (parse_b3_single(headers.b3, single)) {
      single.has_ids = true;
      single.format = TraceFormat::kB3Single;
      return single;
    }
    out.sampling = single.sampling;
    out.format = TraceFormat::kNone;
  }
  Sampling multi_sampling = b3_sampling(headers.x_b3_sampled);
  if (headers.x_b3_flags == "1") multi_sampling = Sampling::kSampled;
  if (!headers.x_b3_traceid.empty() || !headers.x_b3_spanid.empty()) {
    TraceContext multi;
    SpanId parent{};
    if (parse_b3_trace_id(headers.x_b3_traceid, multi.trace_id) &&
        parse_span_id(headers.x_b3_spanid, multi.span_id) &&
        (headers.x_b3_parentspanid.empty() || parse_span_id(headers.x_b3_parentspanid, parent))) {
      multi.has_ids = true;
      multi.sampling = multi_sampling;
      multi.format = TraceFormat::kB3Multi;
      return multi;
    }
  }
  if (out.sampling == Sampling::kUnset) out.sampling = multi_sampling;
  return out;
}

OutgoingTraceHeaders::OutgoingTraceHeaders(const TraceContext& context, const SpanId& span,
                                           const SpanId& parent) {
  const bool sampled = context.sampling == Sampling::kSampled;
  // traceparent: 00-<trace>-<span>-<flags>
  char* p = traceparent_.data();
  std::memcpy(p, "00-", 3);
  write_hex(context.trace_id, p + 3);
  p[35] = '-';
  write_hex(span, p + 36);
  std::memcpy(p + 52, sampled ? "-01" : "-00", 3);
  add("traceparent", {traceparent_.data(), traceparent_.size()});
  if (context.tracestate_size > 0) {
    std::copy_n(context.tracestate.begin(), context.tracestate_size, tracestate_.begin());
    add("tracestate", {tracestate_.data(), context.tracestate_size});
  }
  write_hex(context.trace_id, b3_trace_.data());
  write_hex(span, b3_span_.data());
  add("x-b3-traceid", {b3_trace_.data(), b3_trace_.size()});
  add("x-b3-spanid", {b3_span_.data(), b3_span_.size()});
  const bool has_parent = !is_zero(parent);
  if (has_parent) {
    write_hex(parent, b3_parent_.data());
    add("x-b3-parentspanid", {b3_parent_.data(), b3_parent_.size()});
  }
  add("x-b3-sampled", sampled ? "1" : "0");
  if (context.format == TraceFormat::kB3Single) {
    // b3: <trace>-<span>-<sampled>[-<parent>]
    char* b = b3_single_.data();
    std::copy_n(b3_trace_.begin(), 32, b);
    b[32] = '-';
    std::copy_n(b3_span_.begin(), 16, b + 33);
    b[49] = '-';
    b[50] = sampled ? '1' : '0';
    std::size_t size = 51;
    if (has_parent) {
      b[51] = '-';
      std::copy_n(b3_parent_.begin(), 16, b + 52);
      size = 68;
    }
    add("b3", {b3_single_.data(), size});
  }
}

void OutgoingTraceHeaders::add(std::string_view name, std::string_view value) {
  if (count_ < fields_.size()) fields_[count_++] = {name, value};
}

TraceId new_trace_id() {
  TraceId id;
  fill_random(id);
  return id;
}

SpanId new_span_id() {
  SpanId id;
  fill_random(id);
  return id;
}

bool sample(double percent) {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  // 53 random bits as a double in [0, 100).
  const double draw = static_cast<double>(generator()() >> 11) * (100.0 / 9007199254740992.0);
  return draw < percent;
}

}  // namespace strait::proxy
