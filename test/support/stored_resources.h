// Config resources as straitd stores them, from YAML: what the view compiler and the diagnosis
// read. A document without a namespace goes to `default_ns`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/resource_store.h"

namespace strait::testing {

[[nodiscard]] std::vector<store::StoredResource> stored(std::string_view yaml,
                                                        const std::string& default_ns = "shop");

}  // namespace strait::testing
