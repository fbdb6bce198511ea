#include "config/resource.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <sstream>

#include "common/utf8.h"
#include "config/proto_yaml.h"
#include "strait/networking/v1/destination_rule.pb.h"
#include "strait/networking/v1/service_entry.pb.h"
#include "strait/networking/v1/sidecar.pb.h"
#include "strait/networking/v1/virtual_service.pb.h"
#include "strait/networking/v1/workload_entry.pb.h"
#include "strait/policy/v1alpha1/rate_limit_policy.pb.h"
#include "strait/security/v1/authorization_policy.pb.h"
#include "strait/security/v1/peer_authentication.pb.h"
#include "strait/security/v1/request_authentication.pb.h"
#include "strait/telemetry/v1/telemetry.pb.h"

namespace strait::config {
namespace {

constexpr std::array<std::string_view, 3> kNetworkingVersions{"v1", "v1beta1", "v1alpha3"};
constexpr std::array<std::string_view, 2> kSecurityVersions{"v1", "v1beta1"};
constexpr std::array<std::string_view, 2> kTelemetryVersions{"v1", "v1alpha1"};
constexpr std::array<std::string_view, 1> kStraitVersions{"v1alpha1"};

const std::array<KindInfo, 10>& kinds() {
  static const std::array<KindInfo, 10> table{{
      {"VirtualService", "networking.istio.io", kNetworkingVersions,
       &networking::v1::VirtualService::default_instance()},
      {"DestinationRule", "networking.istio.io", kNetworkingVersions,
       &networking::v1::DestinationRule::default_instance()},
      {"ServiceEntry", "networking.istio.io", kNetworkingVersions,
       &networking::v1::ServiceEntry::default_instance()},
      {"WorkloadEntry", "networking.istio.io", kNetworkingVersions,
       &networking::v1::WorkloadEntry::default_instance()},
      {"Sidecar", "networking.istio.io", kNetworkingVersions,
       &networking::v1::Sidecar::default_instance()},
      {"PeerAuthentication", "security.istio.io", kSecurityVersions,
       &security::v1::PeerAuthentication::default_instance()},
      {"AuthorizationPolicy", "security.istio.io", kSecurityVersions,
       &security::v1::AuthorizationPolicy::default_instance()},
      {"RequestAuthentication", "security.istio.io", kSecurityVersions,
       &security::v1::RequestAuthentication::default_instance()},
      {"Telemetry", "telemetry.istio.io", kTelemetryVersions,
       &telemetry::v1::Telemetry::default_instance()},
      // strait's own kinds, where Istio has no first-class resource.
      {"RateLimitPolicy", "strait.dev", kStraitVersions,
       &policy::v1alpha1::RateLimitPolicy::default_instance()},
  }};
  return table;
}

std::string join(std::span<const std::string_view> items) {
  std::string out;
  for (auto item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::expected<std::map<std::string, std::string>, ConversionError> string_map(const YAML::Node& node,
                                                                              const std::string& path) {
  std::map<std::string, std::string> out;
  if (!node) return out;
  if (!node.IsMap()) {
    return std::unexpected(ConversionError{path, "must be a map of strings", node.Mark().line + 1,
                                           node.Mark().column + 1});
  }
  for (const auto& kv : node) {
    if (!kv.second.IsScalar()) {
      return std::unexpected(ConversionError{path + "." + kv.first.Scalar(), "must be a string",
                                             kv.second.Mark().line + 1, kv.second.Mark().column + 1});
    }
    const std::string& key = kv.first.Scalar();
    const bool control = std::ranges::any_of(key, [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
    if (control || !is_valid_utf8(key) || !is_valid_utf8(kv.second.Scalar())) {
      return std::unexpected(ConversionError{path + "." + kv.first.Scalar(), "must be valid UTF-8",
                                             kv.second.Mark().line + 1, kv.second.Mark().column + 1});
    }
    out.emplace(kv.first.Scalar(), kv.second.Scalar());
  }
  return out;
}

std::expected<Resource, ConversionError> parse_document(const YAML::Node& doc) {
  auto at = [](const YAML::Node& n, std::string path, std::string reason) {
    return std::unexpected(ConversionError{std::move(path), std::move(reason), n.Mark().line + 1, n.Mark().column + 1});
  };
  if (!doc.IsMap()) return at(doc, "(document)", "must be a map with apiVersion, kind, metadata and spec");
  for (const auto& kv : doc) {
    const std::string key = kv.first.Scalar();
    if (key != "apiVersion" && key != "kind" && key != "metadata" && key != "spec" && key != "status")
      return at(kv.first, key, "unknown field");
  }
  if (!doc["kind"] || !doc["kind"].IsScalar()) return at(doc, "kind", "is required");
  if (!doc["apiVersion"] || !doc["apiVersion"].IsScalar()) return at(doc, "apiVersion", "is required");
  Resource r;
  r.kind = find_kind(doc["kind"].Scalar());
  if (r.kind == nullptr) {
    std::string known;
    for (const auto& k : all_kinds()) known += (known.empty() ? "" : ", ") + std::string(k.kind);
    return at(doc["kind"], "kind", "unknown kind '" + doc["kind"].Scalar() + "' (one of " + known + ")");
  }
  r.api_version = doc["apiVersion"].Scalar();
  const auto slash = r.api_version.find('/');
  const std::string_view group = std::string_view(r.api_version).substr(0, slash);
  const std::string_view version =
      slash == std::string::npos ? std::string_view{} : std::string_view(r.api_version).substr(slash + 1);
  if (group != r.kind->group || std::ranges::find(r.kind->versions, version) == r.kind->versions.end()) {
    return at(doc["apiVersion"], "apiVersion",
              "'" + r.api_version + "' does not serve " + std::string(r.kind->kind) + " (use " +
                  std::string(r.kind->group) + "/ with one of " + join(r.kind->versions) + ")");
  }
  const YAML::Node metadata = doc["metadata"];
  if (!metadata || !metadata.IsMap()) return at(doc, "metadata", "is required, with at least a name");
  for (const auto& kv : metadata) {
    const std::string key = kv.first.Scalar();
    if (key != "name" && key != "namespace" && key != "labels" && key != "annotations" &&
        key != "resourceVersion" && key != "generation" && key != "creationTimestamp" && key != "uid")
      return at(kv.first, "metadata." + key, "unknown field");
  }
  if (!metadata["name"] || !metadata["name"].IsScalar() || metadata["name"].Scalar().empty())
    return at(metadata, "metadata.name", "is required");
  if (!is_valid_utf8(metadata["name"].Scalar())) return at(metadata["name"], "metadata.name", "must be valid UTF-8");
  if (metadata["namespace"] && metadata["namespace"].IsScalar() && !is_valid_utf8(metadata["namespace"].Scalar()))
    return at(metadata["namespace"], "metadata.namespace", "must be valid UTF-8");
  r.name = metadata["name"].Scalar();
  if (metadata["namespace"]) {
    if (!metadata["namespace"].IsScalar()) return at(metadata["namespace"], "metadata.namespace", "must be a string");
    r.ns = metadata["namespace"].Scalar();
  }
  auto labels = string_map(metadata["labels"], "metadata.labels");
  if (!labels) return std::unexpected(labels.error());
  r.labels = std::move(*labels);
  auto annotations = string_map(metadata["annotations"], "metadata.annotations");
  if (!annotations) return std::unexpected(annotations.error());
  r.annotations = std::move(*annotations);
  r.spec.reset(r.kind->prototype->New());
  const YAML::Node spec = doc["spec"];
  if (spec) {  // a document without spec has an empty one, as in Kubernetes
    if (auto ok = yaml_to_message(spec, *r.spec, "spec"); !ok) return std::unexpected(ok.error());
  }
  return r;
}

// yaml-cpp 0.7 (Debian 12) loops forever producing empty documents on some malformed input (such as
// a lone ","; yaml-cpp issue 1040). Every real document after the first needs a "---" line, so more
// documents than a third of the text's length means the parser is looping: refuse the text.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

bool document_count_is_sane(std::string_view yaml) {
  std::istringstream in{std::string(yaml)};
  YAML::Parser parser(in);
  DocumentCounter counter;
  const std::size_t limit = yaml.size() / 3 + 2;
  std::size_t documents = 0;
  while (parser.HandleNextDocument(counter)) {
    if (++documents > limit) return false;
  }
  return true;
}

}  // namespace

std::span<const KindInfo> all_kinds() { return kinds(); }

const KindInfo* find_kind(std::string_view kind) {
  for (const auto& k : kinds()) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

std::expected<std::vector<Resource>, std::string> parse_resources(std::string_view yaml,
                                                                  std::string_view source) {
  std::vector<YAML::Node> documents;
  try {  // yaml-cpp reports syntax errors by exception (control plane and CLI only)
    if (!document_count_is_sane(yaml)) {
      return std::unexpected(std::string(source) + ": invalid YAML: the text does not split into documents");
    }
    documents = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return std::unexpected(std::string(source) + ": invalid YAML at line " + std::to_string(e.mark.line + 1) +
                           ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  std::vector<Resource> out;
  int index = 0;
  for (const auto& doc : documents) {
    ++index;
    if (doc.IsNull()) continue;  // an empty document between two "---"
    auto resource = parse_document(doc);
    if (!resource) {
      return std::unexpected(std::string(source) + ": document " + std::to_string(index) + ": " +
                             resource.error().to_string());
    }
    out.push_back(std::move(*resource));
  }
  return out;
}

}  // namespace strait::config
