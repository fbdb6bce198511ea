#include "ctl/kinds.h"

#include <array>

namespace strait::ctl {
namespace {

struct Names {
  std::string_view kind;
  std::string_view singular;
  std::string_view plural;
  std::string_view short_name;  // "" when the kind has none
};

constexpr std::array<Names, 10> kNames{{
    {"VirtualService", "virtualservice", "virtualservices", "vs"},
    {"DestinationRule", "destinationrule", "destinationrules", "dr"},
    {"ServiceEntry", "serviceentry", "serviceentries", "se"},
    {"WorkloadEntry", "workloadentry", "workloadentries", "we"},
    {"Sidecar", "sidecar", "sidecars", ""},
    {"PeerAuthentication", "peerauthentication", "peerauthentications", "pa"},
    {"AuthorizationPolicy", "authorizationpolicy", "authorizationpolicies", "ap"},
    {"RequestAuthentication", "requestauthentication", "requestauthentications", "ra"},
    {"Telemetry", "telemetry", "telemetries", ""},
    {"RateLimitPolicy", "ratelimitpolicy", "ratelimitpolicies", "rlp"},
}};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

const Names* match(std::string_view lowered) {
  for (const auto& n : kNames) {
    if (lowered == n.singular || lowered == n.plural ||
        (!n.short_name.empty() && lowered == n.short_name))
      return &n;
  }
  return nullptr;
}

}  // namespace

std::string accepted_kind_names() {
  std::string out;
  for (const auto& n : kNames) {
    if (!out.empty()) out += ", ";
    out += n.plural;
    if (!n.short_name.empty()) out += " (" + std::string(n.short_name) + ")";
  }
  return out;
}

std::expected<const config::KindInfo*, std::string> resolve_kind(std::string_view name) {
  const std::string lowered = lower(name);
  const Names* names = match(lowered);
  if (names == nullptr) {
    // "virtualservices.networking.istio.io": the group must be the kind's own.
    const auto dot = lowered.find('.');
    if (dot != std::string::npos) {
      names = match(std::string_view(lowered).substr(0, dot));
      if (names != nullptr) {
        const auto* info = config::find_kind(names->kind);
        if (info != nullptr && std::string_view(lowered).substr(dot + 1) != info->group)
          names = nullptr;
      }
    }
  }
  if (names == nullptr)
    return std::unexpected("unknown kind '" + std::string(name) +
                           "' (accepted: " + accepted_kind_names() + ")");
  const auto* info = config::find_kind(names->kind);
  if (info == nullptr)
    return std::unexpected("kind " + std::string(names->kind) + " is not supported by this build");
  return info;
}

std::string qualified_name(std::string_view kind, std::string_view name) {
  const auto* info = config::find_kind(kind);
  std::string out = lower(kind);
  if (info != nullptr) out += "." + std::string(info->group);
  return out + "/" + std::string(name);
}

}  // namespace strait::ctl
