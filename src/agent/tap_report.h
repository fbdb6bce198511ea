// The requests a tapped proxy reports to straitd (request_tap.h): its access-log records, as the
// discovery stream's TapEvent messages.
#pragma once

#include <cstdint>
#include <vector>

#include "proxy/access_log_record.h"
#include "strait/mesh/v1/mesh.pb.h"

namespace strait::agent {

[[nodiscard]] mesh::v1::TapEvent tap_event_from(const proxy::AccessLogRecord& record);

// One batch of the records, oldest first, and the count the proxy dropped since the last batch.
[[nodiscard]] mesh::v1::TapBatch tap_batch_from(const std::vector<proxy::AccessLogRecord>& records,
                                                std::uint64_t dropped);

}  // namespace strait::agent
