// gRPC status codes by the names config uses for them (Istio's fault.abort.grpcStatus).
#pragma once

#include <optional>
#include <string_view>

namespace strait {

// The code of a gRPC status name ("UNAVAILABLE" -> 14); nullopt for anything else.
[[nodiscard]] std::optional<int> grpc_status_code(std::string_view name);

}  // namespace strait
