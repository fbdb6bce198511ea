// libFuzzer target for config resources: the input is parsed as Kubernetes-style YAML documents of
// Istio's kinds (strait::config::parse_resources). Every resource it accepts is written back out
// as JSON (message_to_json) and as protobuf wire format, and the JSON is fed through the parser
// again; the semantic rules (config/validation.h) run on every resource and between them: none of
// that may crash or throw, and a violated invariant aborts so that libFuzzer records a crash.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/proto_yaml.h"
#include "config/resource.h"
#include "config/validation.h"
#include "fuzz_check.h"

namespace {

using strait::config::Resource;

constexpr std::size_t kMaxInput = 64 * 1024;
// No nesting guard is needed: Debian's yaml-cpp 0.7.0 stops at 2000 levels of nesting itself
// (DeepRecursion, "bad file"), and 15,000 nested [ or { are rejected that way under ASan without
// exhausting the stack. Inputs stay under kMaxInput so that each run stays fast.

// RFC 3629 UTF-8: no overlongs, no surrogates, nothing past U+10FFFF.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c < 0x80) n = 0;
    else if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c == 0xE0) n = 2, lo = 0xA0;
    else if (c == 0xED) n = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) n = 2;
    else if (c == 0xF0) n = 3, lo = 0x90;
    else if (c == 0xF4) n = 3, hi = 0x8F;
    else if (c >= 0xF1 && c <= 0xF3) n = 3;
    else return false;
    if (s.size() - i - 1 < n) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}

// Every string (value or key) in the JSON output is valid UTF-8: proto3 `string` fields must be,
// and nlohmann::json::dump() throws type_error 316 on anything else.
bool json_utf8(const nlohmann::json& j) {
  if (j.is_string()) return valid_utf8(j.get_ref<const std::string&>());
  if (j.is_array()) return std::ranges::all_of(j, json_utf8);
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (!valid_utf8(key) || !json_utf8(value)) return false;
    }
  }
  return true;
}

std::string serialize(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  FUZZ_CHECK(m.SerializeToCodedStream(&coded));
  coded.Trim();
  return out;
}

// What parse_resources guarantees about every resource it returns.
void check_resource(const Resource& r) {
  FUZZ_CHECK(r.kind != nullptr);
  FUZZ_CHECK(strait::config::find_kind(r.kind->kind) == r.kind);
  FUZZ_CHECK(!r.name.empty());
  FUZZ_CHECK(r.spec != nullptr);
  FUZZ_CHECK(r.spec->GetDescriptor() == r.kind->prototype->GetDescriptor());
  // apiVersion is "<group>/<one of the kind's versions>".
  const std::string_view api(r.api_version);
  FUZZ_CHECK(api.size() > r.kind->group.size() && api.starts_with(r.kind->group) &&
             api[r.kind->group.size()] == '/');
  FUZZ_CHECK(std::ranges::find(r.kind->versions, api.substr(r.kind->group.size() + 1)) !=
             r.kind->versions.end());
}

// The spec written out (JSON, wire format) and read back in must be the same message.
void check_round_trips(const Resource& r) {
  const nlohmann::json json = strait::config::message_to_json(*r.spec);
  FUZZ_CHECK(json.is_object());
  FUZZ_CHECK(json_utf8(json));  // else dump() throws
  const std::string text = json.dump();
  FUZZ_CHECK(!text.empty());

  std::string wire;
  FUZZ_CHECK(r.spec->SerializeToString(&wire));
  std::unique_ptr<google::protobuf::Message> copy(r.spec->New());
  FUZZ_CHECK(copy->ParseFromString(wire));
  FUZZ_CHECK(strait::config::message_to_json(*copy) == json);

  // message_to_json is the inverse of the YAML reader: a document holding the JSON (which is YAML)
  // parses back into an equal message.
  const nlohmann::json doc = {
      {"apiVersion", r.api_version},
      {"kind", std::string(r.kind->kind)},
      {"metadata", {{"name", r.name}}},
      {"spec", json},
  };
  auto again = strait::config::parse_resources(doc.dump(), "round-trip");
  if (!again) std::fprintf(stderr, "re-read of %s failed: %s\n", doc.dump().c_str(), again.error().c_str());
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->size() == 1);
  const Resource& back = again->front();
  FUZZ_CHECK(back.kind == r.kind && back.name == r.name && back.api_version == r.api_version);
  const nlohmann::json back_json = strait::config::message_to_json(*back.spec);
  if (back_json != json) {
    std::fprintf(stderr, "JSON round trip differs:\n  first: %s\n  again: %s\n", text.c_str(),
                 back_json.dump().c_str());
  }
  FUZZ_CHECK(back_json == json);
  FUZZ_CHECK(serialize(*back.spec) == serialize(*copy));
}

// Semantic validation of one resource: errors name a spec field and give a reason.
void check_validation(const Resource& r) {
  for (const auto& e : strait::config::validate(r)) {
    FUZZ_CHECK(e.path.starts_with("spec"));
    FUZZ_CHECK(!e.reason.empty());
  }
}

// Conflicts between the resources: the first half as stored, all of them as incoming, and each
// error names a resource.
void check_conflicts(const std::vector<Resource>& resources) {
  const std::span<const Resource> all(resources);
  for (const auto& e : strait::config::check_conflicts(all, all.first(resources.size() / 2))) {
    FUZZ_CHECK(e.path.find(": spec") != std::string::npos);
    FUZZ_CHECK(!e.reason.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size > kMaxInput) return -1;  // -1: not added to the corpus
  const std::string_view yaml(reinterpret_cast<const char*>(bytes), size);
#ifdef CONFIG_FUZZ_VALID_UTF8_ONLY
  // Skips the known invalid-UTF-8 acceptance (see json_utf8) to look for other bugs meanwhile:
  // build with -DCMAKE_CXX_FLAGS=-DCONFIG_FUZZ_VALID_UTF8_ONLY. YAML escapes (\xFF, \u00FF) are
  // still fuzzed: they decode to valid UTF-8.
  if (!valid_utf8(yaml)) return -1;
#endif

  auto resources = strait::config::parse_resources(yaml, "fuzz.yaml");
  if (!resources) {
    // CONFIG_FUZZ_VERBOSE=1 prints why an input was rejected (to check the seeds).
    static const bool verbose = std::getenv("CONFIG_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "rejected: %s\n", resources.error().c_str());
    FUZZ_CHECK(resources.error().starts_with("fuzz.yaml: "));
    FUZZ_CHECK(resources.error().size() > std::string_view("fuzz.yaml: ").size());
    return 0;
  }
  for (const Resource& r : *resources) {
    if (std::getenv("CONFIG_FUZZ_VERBOSE") != nullptr)
      std::fprintf(stderr, "accepted: %s %s\n", std::string(r.kind->kind).c_str(), r.name.c_str());
    check_resource(r);
    check_round_trips(r);
    check_validation(r);
  }
  check_conflicts(*resources);
  // Parsing is deterministic.
  auto reparsed = strait::config::parse_resources(yaml, "fuzz.yaml");
  FUZZ_CHECK(reparsed.has_value() && reparsed->size() == resources->size());
  for (std::size_t i = 0; i < resources->size(); ++i) {
    FUZZ_CHECK(serialize(*(*reparsed)[i].spec) == serialize(*(*resources)[i].spec));
  }
  return 0;
}
