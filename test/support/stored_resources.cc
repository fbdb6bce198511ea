#include "support/stored_resources.h"

#include <gtest/gtest.h>

#include "config/resource.h"

namespace strait::testing {

std::vector<store::StoredResource> stored(std::string_view yaml, const std::string& default_ns) {
  auto parsed = config::parse_resources(yaml, "test.yaml");
  EXPECT_TRUE(parsed) << parsed.error();
  std::vector<store::StoredResource> out;
  if (!parsed) return out;
  for (const auto& r : *parsed) {
    store::StoredResource s;
    s.kind = std::string(r.kind->kind);
    s.ns = r.ns.empty() ? default_ns : r.ns;
    s.name = r.name;
    s.annotations = r.annotations;
    r.spec->SerializeToString(&s.spec);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace strait::testing
