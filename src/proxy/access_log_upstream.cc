#include "proxy/access_log_upstream.h"

#include <fmt/format.h>

#include "proxy/snapshot.h"

namespace strait::proxy {

void write_access_log_upstream(const Snapshot& snapshot, const TelemetryTarget& target,
                               const EndpointSubset* subset, bool inbound,
                               AccessLogRecord& record) {
  char text[256];
  if (inbound) {
    if (target.port == 0) return;
    auto end = fmt::format_to_n(text, sizeof text, "inbound|{}||", target.port);
    record.upstream_cluster.assign({text, static_cast<std::size_t>(end.out - text)});
    const auto it = snapshot.inbound_by_port.find(target.port);
    if (it != snapshot.inbound_by_port.end() && it->second->target_port != 0) {
      end = fmt::format_to_n(text, sizeof text, "127.0.0.1:{}", it->second->target_port);
      record.upstream_host.assign({text, static_cast<std::size_t>(end.out - text)});
    }
    return;
  }
  if (target.service == nullptr) return;
  const auto end =
      fmt::format_to_n(text, sizeof text, "outbound|{}|{}|{}", target.port,
                       subset != nullptr ? std::string_view(subset->name) : std::string_view{},
                       target.service->service->fqdn);
  record.upstream_cluster.assign({text, static_cast<std::size_t>(end.out - text)});
  if (target.endpoint < target.service->endpoint_names.size())
    record.upstream_host.assign(target.service->endpoint_names[target.endpoint]);
}

}  // namespace strait::proxy
