// Config resources as users write them: Kubernetes-style YAML documents (apiVersion, kind,
// metadata, spec) of Istio's kinds, with the spec held as the kind's protobuf message.
#pragma once

#include <google/protobuf/message.h>

#include <expected>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strait::config {

// A kind strait accepts: its API group, the versions accepted for it, and its spec's message.
struct KindInfo {
  std::string_view kind;
  std::string_view group;
  std::span<const std::string_view> versions;  // the first is the preferred (stored) version
  const google::protobuf::Message* prototype;
};

// Every kind of product.md's "Config resources", in a stable order.
[[nodiscard]] std::span<const KindInfo> all_kinds();
// By kind name, case-sensitive as in YAML ("VirtualService"); nullptr when unknown.
[[nodiscard]] const KindInfo* find_kind(std::string_view kind);

struct Resource {
  std::string api_version;  // as written (group/version)
  const KindInfo* kind = nullptr;
  std::string name;
  std::string ns;  // empty: the caller's default namespace applies
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::shared_ptr<google::protobuf::Message> spec;
};

// Parses one or more YAML documents. Errors read
// "<source>: document <n>: <field path>: <reason> (line L, column C)"; nothing is returned when any
// document is invalid (an apply lands whole or not at all).
[[nodiscard]] std::expected<std::vector<Resource>, std::string> parse_resources(
    std::string_view yaml, std::string_view source);

}  // namespace strait::config
