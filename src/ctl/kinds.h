// The names people type for kinds (kubectl/istioctl style) and how results are printed.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "config/resource.h"

namespace strait::ctl {

// Accepts, case-insensitively: the kind ("VirtualService"), its singular and plural lower-case
// names ("virtualservice", "virtualservices"), the short name ("vs"), and any of those followed by
// ".<group>" ("virtualservices.networking.istio.io"). Unknown names: an error listing what is
// accepted.
[[nodiscard]] std::expected<const config::KindInfo*, std::string> resolve_kind(
    std::string_view name);

// "virtualservice.networking.istio.io/reviews", as kubectl prints applied and deleted objects.
// An unknown kind is printed lower-case without a group.
[[nodiscard]] std::string qualified_name(std::string_view kind, std::string_view name);

// The comma-separated list of accepted names ("virtualservices (vs), destinationrules (dr), ...").
[[nodiscard]] std::string accepted_kind_names();

}  // namespace strait::ctl
