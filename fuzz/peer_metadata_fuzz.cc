// libFuzzer target for the peer metadata a caller's sidecar sends (x-strait-peer and the TCP
// preamble, proxy/peer_metadata.h): parsing never crashes, what it accepts re-encodes to text that
// parses to the same values, and a preamble never claims more bytes than it was given.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "proxy/peer_metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  using namespace strait::proxy;
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);
  if (const auto parsed = parse_peer_metadata(text)) {
    const WorkloadLabels labels{.workload = std::string(parsed->workload),
                                .app = std::string(parsed->app),
                                .version = std::string(parsed->version)};
    const std::string encoded = encode_peer_metadata(labels);
    const auto again = parse_peer_metadata(encoded);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->workload == parsed->workload);
    FUZZ_CHECK(again->app == parsed->app);
    FUZZ_CHECK(again->version == parsed->version);
  }
  PeerMetadataCopy copy;
  copy.assign(text);
  const PreambleRead read = read_peer_preamble(text);
  if (read.status == PreambleRead::Status::kDone) {
    FUZZ_CHECK(read.size <= text.size());
    FUZZ_CHECK(read.size == read.text.size() + 2);
    FUZZ_CHECK(read_peer_preamble(peer_preamble(read.text)).text == read.text);
  }
  return 0;
}
