#include "proxy/peer_metadata.h"

#include <algorithm>

namespace strait::proxy {
namespace {

bool label_like(std::string_view value) {
  return !value.empty() && value.size() <= kMaxPeerValue && std::ranges::all_of(value, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

}  // namespace

std::string encode_peer_metadata(const WorkloadLabels& self) {
  std::string out;
  auto add = [&](std::string_view key, std::string_view value) {
    if (!label_like(value)) return;
    if (!out.empty()) out += ';';
    out += key;
    out += '=';
    out += value;
  };
  add("workload", self.workload);
  add("app", self.app);
  add("version", self.version);
  return out;
}

std::optional<PeerMetadata> parse_peer_metadata(std::string_view text) {
  if (text.size() > kMaxPeerMetadata) return std::nullopt;
  PeerMetadata out;
  while (!text.empty()) {
    const auto end = text.find(';');
    const std::string_view part = text.substr(0, end);
    if (end + 1 == text.size()) return std::nullopt;  // a trailing ';'
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = part.substr(0, eq);
    const std::string_view value = part.substr(eq + 1);
    if (!label_like(value)) return std::nullopt;
    std::string_view* slot = nullptr;
    if (key == "workload")
      slot = &out.workload;
    else if (key == "app")
      slot = &out.app;
    else if (key == "version")
      slot = &out.version;
    if (slot == nullptr || !slot->empty()) return std::nullopt;  // unknown or repeated
    *slot = value;
  }
  return out;
}

void PeerMetadataCopy::assign(std::string_view text) {
  parsed_ = {};
  if (text.size() > text_.size()) return;
  std::ranges::copy(text, text_.begin());
  if (auto parsed = parse_peer_metadata(std::string_view(text_.data(), text.size())))
    parsed_ = *parsed;
}

std::string peer_preamble(std::string_view text) {
  std::string out;
  out += static_cast<char>((text.size() >> 8) & 0xff);
  out += static_cast<char>(text.size() & 0xff);
  out += text;
  return out;
}

PreambleRead read_peer_preamble(std::string_view bytes) {
  if (bytes.size() < 2) return {};
  const std::size_t size = (static_cast<std::size_t>(static_cast<unsigned char>(bytes[0])) << 8) |
                           static_cast<unsigned char>(bytes[1]);
  if (size > kMaxPeerMetadata) return {.status = PreambleRead::Status::kInvalid};
  if (bytes.size() < 2 + size) return {};
  return {.status = PreambleRead::Status::kDone, .size = 2 + size, .text = bytes.substr(2, size)};
}

}  // namespace strait::proxy
