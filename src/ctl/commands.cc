#include "ctl/commands.h"

#include <algorithm>
#include <cstdio>
#include <expected>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/time_text.h"
#include "config/resource.h"
#include "config/validation.h"
#include "ctl/api_client.h"
#include "ctl/kinds.h"
#include "ctl/output.h"

namespace strait::ctl {
namespace {

using nlohmann::json;

int fail(const std::string& message) {
  std::fprintf(stderr, "straitctl: %s\n", message.c_str());
  return 1;
}

void print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

struct Manifest {
  std::string source;  // the file path, or "stdin"
  std::string content;
};

std::expected<std::string, std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(path.string() + ": cannot read the file");
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return std::unexpected(path.string() + ": read error");
  return content.str();
}

// Files named by -f: a file, a directory (its *.yaml and *.yml, sorted, not recursive), or "-".
std::expected<std::vector<Manifest>, std::string> read_manifests(
    const std::vector<std::string>& paths) {
  std::vector<Manifest> out;
  bool stdin_read = false;
  for (const auto& p : paths) {
    if (p == "-") {
      if (stdin_read) return std::unexpected("-f -: stdin can be read only once");
      stdin_read = true;
      std::ostringstream content;
      content << std::cin.rdbuf();
      out.push_back({"stdin", content.str()});
      continue;
    }
    std::error_code ec;
    const std::filesystem::path path(p);
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status))
      return std::unexpected(p + ": no such file or directory");
    if (std::filesystem::is_directory(status)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
        const auto ext = entry.path().extension();
        if ((ext == ".yaml" || ext == ".yml") && entry.is_regular_file(ec))
          files.push_back(entry.path());
      }
      if (ec) return std::unexpected(p + ": cannot list the directory: " + ec.message());
      if (files.empty()) return std::unexpected(p + ": no .yaml or .yml files in the directory");
      std::ranges::sort(files);
      for (const auto& f : files) {
        auto content = read_file(f);
        if (!content) return std::unexpected(content.error());
        out.push_back({f.string(), std::move(*content)});
      }
      continue;
    }
    auto content = read_file(path);
    if (!content) return std::unexpected(content.error());
    out.push_back({p, std::move(*content)});
  }
  return out;
}

// Reads and validates every manifest; the resources of each, in order.
std::expected<std::vector<std::pair<Manifest, std::vector<config::Resource>>>, std::string>
load_manifests(const std::vector<std::string>& paths) {
  if (paths.empty())
    return std::unexpected("-f PATH is required (a file, a directory, or - for stdin)");
  auto manifests = read_manifests(paths);
  if (!manifests) return std::unexpected(manifests.error());
  std::vector<std::pair<Manifest, std::vector<config::Resource>>> out;
  std::size_t total = 0;
  for (auto& m : *manifests) {
    auto resources = config::parse_resources(m.content, m.source);
    if (!resources) return std::unexpected(resources.error());
    for (std::size_t i = 0; i < resources->size(); ++i) {  // Istio's semantic rules, as straitd checks them
      const auto problems = config::validate((*resources)[i]);
      if (!problems.empty())
        return std::unexpected(m.source + ": document " + std::to_string(i + 1) + ": " + problems.front().to_string());
    }
    total += resources->size();
    out.emplace_back(std::move(m), std::move(*resources));
  }
  if (total == 0)
    return std::unexpected("no resources in " + (paths.size() == 1 ? paths[0] : "the given files"));
  return out;
}

std::expected<ApiClient, std::string> connect(const GlobalOptions& global) {
  auto url = parse_url(server_url(global.server));
  if (!url) return std::unexpected(url.error());
  auto token = load_token(global.token_file);
  if (!token) return std::unexpected(token.error());
  return ApiClient(std::move(*url), std::move(*token));
}

std::string text_of(const json& object, const char* field) {
  if (!object.is_object() || !object.contains(field)) return {};
  const auto& v = object[field];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string resource_path(std::string_view kind, std::string_view ns, std::string_view name) {
  return "/api/v1/resources/" + url_encode(kind) + "/" + url_encode(ns) + "/" + url_encode(name);
}

}  // namespace

int run_apply(const GlobalOptions& global, const std::vector<std::string>& paths,
              const std::string& ns) {
  auto manifests = load_manifests(paths);
  if (!manifests) return fail(manifests.error());
  auto api = connect(global);
  if (!api) return fail(api.error());
  for (auto& [manifest, resources] : *manifests) {
    if (resources.empty()) continue;
    auto answer = api->call(
        "POST",
        "/api/v1/apply?namespace=" + url_encode(ns) + "&source=" + url_encode(manifest.source),
        std::move(manifest.content), "application/yaml");
    if (!answer) return fail(answer.error());
    if (answer->is_object() && answer->contains("results") && (*answer)["results"].is_array()) {
      for (const auto& r : (*answer)["results"])
        print(qualified_name(text_of(r, "kind"), text_of(r, "name")) + " " + text_of(r, "action") +
              "\n");
    }
  }
  return 0;
}

int run_get(const GlobalOptions& global, const std::string& kind_name, const std::string& name,
            const std::string& ns, bool all_namespaces, const std::string& output) {
  auto kind = resolve_kind(kind_name);
  if (!kind) return fail(kind.error());
  auto format = parse_output_format(output);
  if (!format) return fail(format.error());
  if (!name.empty() && all_namespaces)
    return fail("a resource cannot be retrieved by name across all namespaces");
  auto api = connect(global);
  if (!api) return fail(api.error());

  std::vector<json> items;
  if (!name.empty()) {
    auto answer = api->call("GET", resource_path((*kind)->kind, ns, name));
    if (!answer) return fail(answer.error());
    if (*format == OutputFormat::kJson) {
      print(render_json(*answer));
      return 0;
    }
    items.push_back(std::move(*answer));
  } else {
    std::string target = "/api/v1/resources?kind=" + url_encode((*kind)->kind);
    if (!all_namespaces) target += "&namespace=" + url_encode(ns);
    auto answer = api->call("GET", target);
    if (!answer) return fail(answer.error());
    if (!answer->is_object() || !answer->contains("items") || !(*answer)["items"].is_array())
      return fail("straitd answered without an items list");
    for (auto& item : (*answer)["items"]) items.push_back(std::move(item));
    if (*format == OutputFormat::kJson) print(render_json(json{{"items", items}}));
    if (items.empty()) {
      std::fprintf(stderr, "%s\n",
                   all_namespaces ? "No resources found."
                                  : ("No resources found in " + ns + " namespace.").c_str());
      return 0;
    }
    if (*format == OutputFormat::kJson) return 0;
  }
  switch (*format) {
    case OutputFormat::kYaml:
      print(render_yaml(items));
      break;
    case OutputFormat::kTable:
    case OutputFormat::kWide:
      print(render_table(items,
                         {.wide = *format == OutputFormat::kWide, .color = stdout_wants_color()}));
      break;
    case OutputFormat::kJson:
      break;
  }
  return 0;
}

int run_delete(const GlobalOptions& global, const std::string& kind_name, const std::string& name,
               const std::vector<std::string>& paths, const std::string& ns) {
  if (!paths.empty()) {
    if (!kind_name.empty()) return fail("delete: give either KIND NAME or -f PATH, not both");
    auto manifests = load_manifests(paths);
    if (!manifests) return fail(manifests.error());
    auto api = connect(global);
    if (!api) return fail(api.error());
    int status = 0;
    for (const auto& [manifest, resources] : *manifests) {
      for (const auto& r : resources) {
        const std::string_view kind = r.kind->kind;
        auto answer = api->call("DELETE", resource_path(kind, r.ns.empty() ? ns : r.ns, r.name));
        if (!answer) {
          status = fail(answer.error());
          continue;
        }
        print(qualified_name(kind, r.name) + " deleted\n");
      }
    }
    return status;
  }
  if (kind_name.empty() || name.empty()) return fail("delete: give KIND NAME, or -f PATH");
  auto kind = resolve_kind(kind_name);
  if (!kind) return fail(kind.error());
  auto api = connect(global);
  if (!api) return fail(api.error());
  auto answer = api->call("DELETE", resource_path((*kind)->kind, ns, name));
  if (!answer) return fail(answer.error());
  print(qualified_name((*kind)->kind, name) + " deleted\n");
  return 0;
}

int run_token_create(const GlobalOptions& global, const std::string& ns, const std::string& service_account,
                     const std::string& ttl) {
  auto api = connect(global);
  if (!api) return fail(api.error());
  const json request{{"namespace", ns}, {"serviceAccount", service_account}, {"ttl", ttl}};
  auto answer = api->call("POST", "/api/v1/tokens", request.dump(), "application/json");
  if (!answer) return fail(answer.error());
  print(text_of(*answer, "token") + "\n");
  return 0;
}

int run_token_list(const GlobalOptions& global) {
  auto api = connect(global);
  if (!api) return fail(api.error());
  auto answer = api->call("GET", "/api/v1/tokens");
  if (!answer) return fail(answer.error());
  print("ID                NAMESPACE  SERVICE-ACCOUNT  USES  EXPIRES\n");
  for (const auto& t : answer->value("items", json::array())) {
    const std::string when = utc_iso8601_from_unix(t.value("expiresAt", std::int64_t{0}));
    char line[256];
    std::snprintf(line, sizeof line, "%-16s  %-9s  %-15s  %4lld  %s\n", text_of(t, "id").c_str(),
                  text_of(t, "namespace").c_str(), text_of(t, "serviceAccount").c_str(),
                  static_cast<long long>(t.value("uses", std::int64_t{0})), when.c_str());
    print(line);
  }
  return 0;
}

int run_token_revoke(const GlobalOptions& global, const std::string& id) {
  auto api = connect(global);
  if (!api) return fail(api.error());
  auto answer = api->call("DELETE", "/api/v1/tokens/" + url_encode(id));
  if (!answer) return fail(answer.error());
  print("join token " + id + " revoked\n");
  return 0;
}

int run_version(const GlobalOptions& global) {
  print(std::string("straitctl ") + STRAIT_VERSION + "\n");
  auto api = connect(global);
  if (!api) return fail(api.error());
  auto answer = api->call("GET", "/api/v1/version");
  if (!answer) return fail(answer.error());
  print("straitd " + text_of(*answer, "version") + " (revision " + text_of(*answer, "revision") +
        ")\n");
  return 0;
}

}  // namespace strait::ctl
