#include "proxy/stats.h"

namespace strait::proxy {

std::string_view name_of(ListenerKind kind) {
  switch (kind) {
    case ListenerKind::kOutbound: return "outbound";
    case ListenerKind::kInbound: return "inbound";
    case ListenerKind::kUpstreamBinding: return "upstream_binding";
    case ListenerKind::kCount: break;
  }
  return "unknown";
}

}  // namespace strait::proxy
