// The services a sample instance calls on every request it serves (or, as a traffic generator, on
// every tick). An app in the mesh needs nothing special to call them: HTTP goes to the sidecar's
// outbound listener as an ordinary forward proxy (http_proxy), gRPC to a local port the sidecar
// binds to the service (--upstream). The only mesh-aware thing it does is forward the trace headers
// of the request it is serving, so that the sidecars can join the hops into one trace.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strait::sample {

// Headers copied from an incoming request to the calls it causes (Istio's list).
inline constexpr std::string_view kForwardedHeaders[] = {
    "x-request-id", "traceparent",       "tracestate",   "b3",         "x-b3-traceid",
    "x-b3-spanid",  "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags",
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct CallResult {
  std::string
      line;         // "TARGET STATUS": the HTTP status, a gRPC status name, or why no call was made
  bool ok = false;  // 2xx or OK
};

// One downstream target: http://HOST:PORT/PATH (through the HTTP proxy) or grpc://HOST:PORT.
class Target {
 public:
  virtual ~Target() = default;
  // Makes the call. Safe to use from several server threads at once.
  [[nodiscard]] virtual CallResult call(const Headers& forwarded) const = 0;
  [[nodiscard]] virtual const std::string& text() const = 0;
};

// Parses a --call value. `proxy` is HOST:PORT of the sidecar's outbound listener for http://
// targets (empty: call them directly).
[[nodiscard]] std::expected<std::unique_ptr<Target>, std::string> make_target(
    std::string_view text, const std::string& proxy);

}  // namespace strait::sample
