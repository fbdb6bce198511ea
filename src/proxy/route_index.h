// An index over a VirtualService's HTTP routes, so that finding the route of a request does not
// test every route: exact paths by hash, path prefixes by hash per distinct prefix length, and every
// path regex at once with one RE2::Set pass. The index only proposes candidates; each candidate is
// then tested whole (every condition of its blocks) in route order, so the first route that
// matches still wins, as Istio requires.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/http_route.h"

namespace re2 {
class RE2;
}

namespace strait::proxy {

class RouteIndex {
 public:
  // Below this many routes a plain walk is as fast; build() returns null.
  static constexpr std::size_t kMinRoutes = 16;

  [[nodiscard]] static std::shared_ptr<const RouteIndex> build(const std::vector<const HttpRoute*>& routes);
  ~RouteIndex();

  // The indices of the routes that may match `path` (without the query), ascending. `scratch` is
  // caller-owned storage reused between calls (no allocation once it has grown).
  void candidates(std::string_view path, std::vector<std::uint32_t>& out, std::vector<int>& scratch) const;

 private:
  RouteIndex();
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, std::vector<std::uint32_t>, StringHash, std::equal_to<>>;
  Map exact_;
  std::vector<std::size_t> prefix_lengths_;  // distinct, ascending
  Map prefixes_;
  std::unique_ptr<class RegexSet> regexes_;
  std::vector<std::uint32_t> regex_routes_;  // by the set's pattern index
  std::vector<std::uint32_t> always_;        // routes the index cannot narrow (no uri, ignoreUriCase)
};

}  // namespace strait::proxy
