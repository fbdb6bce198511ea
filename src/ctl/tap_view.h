// straitctl tap's lines, from the events of straitd's GET /api/v1/proxies/{id}/tap: one line per
// request through the tapped proxy, in fixed-width columns so that a live stream stays aligned.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace strait::ctl {

// TIME DIR METHOD STATUS DURATION PEER REQUEST FLAGS (bold with `color`).
[[nodiscard]] std::string tap_header(bool color);
// One event: its start (local time, milliseconds), "in" or "out", the method (TCP for a
// connection), the status (with the gRPC status when there is one), the duration, the peer (the
// caller's identity as SA.NS inbound, the upstream host outbound), authority and path, and the
// response flags ("-" for none). Failures (5xx, no response) in red with `color`.
[[nodiscard]] std::string render_tap_event(const nlohmann::json& event, bool color);
// "spiffe://td/ns/NS/sa/SA" as "SA.NS"; other text as it is.
[[nodiscard]] std::string short_identity(const std::string& spiffe_id);

}  // namespace strait::ctl
