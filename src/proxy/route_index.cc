#include "proxy/route_index.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>

namespace strait::proxy {

class RegexSet {
 public:
  RegexSet() : set_(options(), RE2::ANCHOR_BOTH) {}
  re2::RE2::Set set_;

 private:
  static RE2::Options options() {
    RE2::Options o;
    o.set_log_errors(false);
    return o;
  }
};

RouteIndex::RouteIndex() = default;
RouteIndex::~RouteIndex() = default;

std::shared_ptr<const RouteIndex> RouteIndex::build(const std::vector<const HttpRoute*>& routes) {
  if (routes.size() < kMinRoutes) return nullptr;
  std::shared_ptr<RouteIndex> index(new RouteIndex());
  index->regexes_ = std::make_unique<RegexSet>();
  auto add_once = [](std::vector<std::uint32_t>& list, std::uint32_t i) {
    if (list.empty() || list.back() != i) list.push_back(i);
  };
  for (std::uint32_t i = 0; i < routes.size(); ++i) {
    const HttpRoute& route = *routes[i];
    if (route.matches.empty()) {
      add_once(index->always_, i);
      continue;
    }
    for (const auto& m : route.matches) {
      if (m.ignore_uri_case) {
        add_once(index->always_, i);
        continue;
      }
      switch (m.uri.kind) {
        case StringMatcher::Kind::kAny:
          add_once(index->always_, i);
          break;
        case StringMatcher::Kind::kExact:
          add_once(index->exact_[m.uri.value], i);
          break;
        case StringMatcher::Kind::kPrefix:
          add_once(index->prefixes_[m.uri.value], i);
          index->prefix_lengths_.push_back(m.uri.value.size());
          break;
        case StringMatcher::Kind::kRegex: {
          std::string error;
          if (index->regexes_->set_.Add(m.uri.value, &error) < 0) {
            add_once(index->always_, i);  // tested one by one instead
          } else {
            index->regex_routes_.push_back(i);
          }
          break;
        }
      }
    }
  }
  std::ranges::sort(index->prefix_lengths_);
  index->prefix_lengths_.erase(std::ranges::unique(index->prefix_lengths_).begin(), index->prefix_lengths_.end());
  if (index->regex_routes_.empty() || !index->regexes_->set_.Compile()) {
    for (auto i : index->regex_routes_) add_once(index->always_, i);
    std::ranges::sort(index->always_);
    index->regex_routes_.clear();
    index->regexes_.reset();
  }
  return index;
}

void RouteIndex::candidates(std::string_view path, std::vector<std::uint32_t>& out, std::vector<int>& scratch) const {
  out.clear();
  out.insert(out.end(), always_.begin(), always_.end());
  if (auto it = exact_.find(path); it != exact_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  for (const std::size_t length : prefix_lengths_) {
    if (length > path.size()) break;
    if (auto it = prefixes_.find(path.substr(0, length)); it != prefixes_.end())
      out.insert(out.end(), it->second.begin(), it->second.end());
  }
  if (regexes_) {
    re2::RE2::Set::ErrorInfo error{};
    if (regexes_->set_.Match(re2::StringPiece(path.data(), path.size()), &scratch, &error)) {
      for (const int pattern : scratch) out.push_back(regex_routes_[static_cast<std::size_t>(pattern)]);
    } else if (error.kind != re2::RE2::Set::kNoError) {
      out.insert(out.end(), regex_routes_.begin(), regex_routes_.end());  // test them one by one
    }
  }
  std::ranges::sort(out);
  out.erase(std::ranges::unique(out).begin(), out.end());
}

}  // namespace strait::proxy
