// A proxy's spans in the two wire formats its exporter speaks: OTLP/HTTP JSON (an
// ExportTraceServiceRequest) and Zipkin v2 JSON (a list of spans). Built on the exporter's thread,
// never on the request path.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "proxy/span_record.h"

namespace strait::proxy {

// `service_name`: the resource's service.name (Zipkin: localEndpoint.serviceName).
[[nodiscard]] std::string otlp_json(std::string_view service_name,
                                    std::span<const SpanRecord> spans);
[[nodiscard]] std::string zipkin_json(std::string_view service_name,
                                      std::span<const SpanRecord> spans);

}  // namespace strait::proxy
