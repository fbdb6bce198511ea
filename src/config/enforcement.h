// Which parts of a valid resource strait's proxies do not act on yet. straitd stores such resources
// (so that existing Istio config can be applied as it is) and answers each apply with a warning per
// field that will have no effect, which straitctl prints; docs/control-plane.md lists them. The
// list shrinks as the proxies learn each mechanism.
#pragma once

#include <string>
#include <vector>

#include "config/resource.h"

namespace strait::config {

// "<field path>: <what is not enforced>" for each part of `resource` the proxies ignore today.
[[nodiscard]] std::vector<std::string> unenforced_fields(const Resource& resource);

}  // namespace strait::config
