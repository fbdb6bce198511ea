// Fuzzes what an AuthorizationPolicy reads from a request: normalize_path on any bytes (a result
// other than "*" starts with '/' and holds no "." or ".." segment, no "//" and no query), IpBlock::parse and
// contains, and authorize() with the bytes as every attribute.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "proxy/authorization.h"

using strait::IpBlock;
using namespace strait::proxy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto path = normalize_path(input); path && *path != "*") {
    if (path->empty() || path->front() != '/') std::abort();
    if (path->find("//") != std::string::npos) std::abort();
    if (path->find('?') != std::string::npos) std::abort();
    std::string_view rest = *path;
    while (!rest.empty()) {
      rest.remove_prefix(1);  // the '/'
      const auto end = rest.find('/');
      const std::string_view segment = rest.substr(0, end);
      if (segment == "." || segment == "..") std::abort();
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end);
    }
  }
  if (auto block = IpBlock::parse(input)) {
    (void)block->contains(input.substr(0, input.find('/')));
  }
  (void)IpBlock::parse("10.0.0.0/8")->contains(input);
  AuthzRule rule;
  AuthzSource source;
  source.principals.values.push_back(AuthzPattern::parse(input));
  source.namespaces.not_values.push_back(AuthzPattern::parse(input.substr(0, size / 2)));
  rule.from.push_back(source);
  AuthzOperation operation;
  operation.paths.values.push_back(AuthzPattern::parse(input.substr(size / 2)));
  operation.hosts.values.push_back(AuthzPattern::parse(input, true));
  rule.to.push_back(operation);
  AuthzPolicy policy;
  policy.name = "fuzz/p";
  policy.rules.push_back(rule);
  const std::vector<AuthzPolicy> policies{policy};
  AuthzRequest request;
  request.principal = input;
  request.source_namespace = input.substr(size / 3);
  request.source_ip = input;
  request.host = input;
  request.path = input;
  request.method = input;
  (void)authorize(policies, request);
  request.http = false;
  (void)authorize(policies, request);
  return 0;
}
