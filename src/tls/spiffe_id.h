// SPIFFE workload identities: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace strait::tls {

struct SpiffeId {
  std::string trust_domain;
  std::string ns;
  std::string service_account;

  [[nodiscard]] std::string uri() const;
  friend bool operator==(const SpiffeId&, const SpiffeId&) = default;
};

// Parses the mesh's SPIFFE ID shape; nullopt for anything else (other paths, bad characters).
[[nodiscard]] std::optional<SpiffeId> parse_spiffe_id(std::string_view uri);

}  // namespace strait::tls
