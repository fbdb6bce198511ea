// What a caller's sidecar tells the callee's sidecar about its workload, so that the callee's
// istio_* metrics name the caller's workload, app and version (Istio's metadata exchange). Over
// HTTP it rides in kPeerMetadataHeader on every request to another sidecar; over an opaque TCP
// connection (ALPN strait-tcp) it is a preamble, the first bytes the caller sends. The callee
// trusts it only on an mTLS connection, and takes the caller's namespace and principal from the
// certificate, never from here. Text: `workload=W;app=A;version=V`, each part optional; values
// are label-like ([A-Za-z0-9._-], at most kMaxPeerValue bytes).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/workload_labels.h"

namespace strait::proxy {

inline constexpr std::string_view kPeerMetadataHeader = "x-strait-peer";
inline constexpr std::size_t kMaxPeerValue = 253;
inline constexpr std::size_t kMaxPeerMetadata = 3 * (kMaxPeerValue + 8) + 2;

struct PeerMetadata {
  std::string_view workload, app, version;  // views into the parsed text ("" : not given)
};

// The text for a workload (values that are not label-like are left out).
[[nodiscard]] std::string encode_peer_metadata(const WorkloadLabels& self);

// nullopt: not the format above (unknown keys, bad characters, too long).
[[nodiscard]] std::optional<PeerMetadata> parse_peer_metadata(std::string_view text);

// A copy of peer metadata held without allocation (a request's, outliving its header bytes).
class PeerMetadataCopy {
 public:
  PeerMetadataCopy() = default;
  PeerMetadataCopy(const PeerMetadataCopy&) = delete;  // its views point into its own buffer
  PeerMetadataCopy& operator=(const PeerMetadataCopy&) = delete;
  // Copies and parses `text`; an invalid one leaves everything unknown.
  void assign(std::string_view text);
  [[nodiscard]] const PeerMetadata& get() const { return parsed_; }

 private:
  std::array<char, kMaxPeerMetadata> text_{};
  PeerMetadata parsed_;
};

// The TCP preamble: two bytes of length (big-endian), then the text.
[[nodiscard]] std::string peer_preamble(std::string_view text);

struct PreambleRead {
  enum class Status : std::uint8_t { kNeedMore, kDone, kInvalid } status = Status::kNeedMore;
  std::size_t size = 0;   // kDone: bytes the preamble took
  std::string_view text;  // kDone: into the input
};
[[nodiscard]] PreambleRead read_peer_preamble(std::string_view bytes);

}  // namespace strait::proxy
