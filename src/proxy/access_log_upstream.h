// The upstream an access log entry names, as Istio's logs do: upstream_cluster
// "outbound|9080|v1|reviews.prod.svc.cluster.local" (the subset empty when none was picked) with
// the endpoint's host:port, or, on the server side, "inbound|9080||" with the application's
// address.
#pragma once

#include "proxy/access_log_record.h"
#include "proxy/telemetry_labels.h"

namespace strait::proxy {

struct EndpointSubset;

// Fills `record`'s upstream_cluster and upstream_host from `target` (nothing when there is no
// destination). No allocation.
void write_access_log_upstream(const Snapshot& snapshot, const TelemetryTarget& target,
                               const EndpointSubset* subset, bool inbound, AccessLogRecord& record);

}  // namespace strait::proxy
