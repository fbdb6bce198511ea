// Converting configuration between YAML and the protobuf messages in api/, driven by the messages'
// descriptors, so that one schema (the .proto files) decides what is valid.
//
// Field names are Istio's (the protobuf JSON names: `perTryTimeout`), enums are written by name,
// durations in Istio's forms (`30ms`, `1m30s`), wrapper types as plain values. Anything the schema
// does not know, or a value of the wrong type, is an error naming the field path and the position
// in the YAML text. Protobuf's own JSON mapping is not used because it reads durations only as
// seconds ("1.5s") and reports errors without a path.
#pragma once

#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include <expected>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace strait::config {

struct ConversionError {
  std::string path;    // e.g. spec.http[0].retries.perTryTimeout
  std::string reason;  // e.g. unknown unit 'x' in '5x'
  int line = 0;        // 1-based position in the YAML text, 0 when unknown
  int column = 0;
  [[nodiscard]] std::string to_string() const;
};

// Fills `message` (which is cleared first) from `node`. `path` names `node` in error messages.
[[nodiscard]] std::expected<void, ConversionError> yaml_to_message(
    const YAML::Node& node, google::protobuf::Message& message, const std::string& path);

// The message as JSON with Istio's field names, enums by name and durations in Istio's forms
// (the inverse of yaml_to_message, for output). Unset fields are left out.
[[nodiscard]] nlohmann::json message_to_json(const google::protobuf::Message& message);

// Istio's duration text for a google.protobuf.Duration value: "30ms", "5s", "1m30s", "1h".
[[nodiscard]] std::string format_istio_duration(std::int64_t seconds, std::int32_t nanos);

}  // namespace strait::config
