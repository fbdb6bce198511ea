#include "ctl/commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <expected>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "common/duration.h"
#include "common/time_text.h"
#include "config/resource.h"
#include "config/validation.h"
#include "ctl/api_client.h"
#include "ctl/command_support.h"
#include "ctl/kinds.h"
#include "ctl/output.h"
#include "ctl/trace_view.h"

namespace strait::ctl {
namespace {

using nlohmann::json;

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
    // Stored, but some fields have no effect yet: say so where people look (stderr).
    if (answer->is_object() && answer->contains("warnings") && (*answer)["warnings"].is_array()) {
      for (const auto& w : (*answer)["warnings"])
        std::fprintf(stderr, "Warning: %s\n", w.is_string() ? w.get<std::string>().c_str() : w.dump().c_str());
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

namespace {

// "23h left" / "expired" from the seconds a certificate has left.
std::string expiry_text(const json& proxy) {
  if (!proxy.contains("certificateExpiresInSeconds") || !proxy["certificateExpiresInSeconds"].is_number()) return "-";
  const auto left = proxy["certificateExpiresInSeconds"].get<std::int64_t>();
  if (left <= 0) return "EXPIRED";
  if (left < 120) return std::to_string(left) + "s left";
  if (left < 7200) return std::to_string(left / 60) + "m left";
  if (left < 172800) return std::to_string(left / 3600) + "h left";
  return std::to_string(left / 86400) + "d left";
}

std::string labels_of(const json& labels) {
  std::string out;
  if (!labels.is_object()) return out;
  for (const auto& [k, v] : labels.items()) {
    if (!out.empty()) out += ",";
    out += k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

std::string match_text(const json& match) {
  std::string out;
  for (const auto& [field, value] : match.items()) {
    if (!out.empty()) out += " ";
    if ((field == "headers" || field == "queryParams" || field == "withoutHeaders") && value.is_object()) {
      for (const auto& [name, sm] : value.items()) out += field + "." + name + " " + sm.dump() + " ";
      if (!out.empty()) out.pop_back();
    } else {
      out += field + " " + value.dump();
    }
  }
  return out.empty() ? "any request" : out;
}

}  // namespace

int run_proxy_status(const GlobalOptions& global, const std::string& output) {
  auto answer = get_or_print(global, output, "/api/v1/proxies");
  if (!answer) return answer.error();
  const bool wide = parse_output_format(output) == OutputFormat::kWide;  // parsed fine above
  const json items = answer->value("items", json::array());
  if (items.empty()) {
    std::fprintf(stderr, "No proxies are connected to straitd (its view is %s).\n", text_of(*answer, "version").c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows{
      {"NAME", "STATUS", "VERSION", "LATEST", "CERTIFICATE", "PROXY", "ADDRESS"}};
  if (wide) rows[0].push_back("IDENTITY");
  std::vector<std::string> errors;
  for (const auto& p : items) {
    std::vector<std::string> row{text_of(p, "id"),
                                 text_of(p, "status"),
                                 text_of(p, "ackedVersion").empty() ? "-" : text_of(p, "ackedVersion"),
                                 text_of(p, "sentVersion").empty() ? "-" : text_of(p, "sentVersion"),
                                 expiry_text(p),
                                 text_of(p, "proxyVersion"),
                                 text_of(p, "address")};
    if (wide) row.push_back(text_of(p, "identity"));
    rows.push_back(std::move(row));
    if (p.contains("error")) errors.push_back(text_of(p, "id") + " refused " + text_of(p, "sentVersion") + ": " + text_of(p, "error"));
  }
  print(render_rows(rows, stdout_wants_color()));
  for (const auto& e : errors) print(e + "\n");
  return 0;
}

int run_proxy_config(const GlobalOptions& global, const std::string& proxy, const std::string& output) {
  auto answer = get_or_print(global, output, "/api/v1/proxies/" + url_encode(proxy) + "/config");
  if (!answer) return answer.error();
  print("Proxy " + text_of(*answer, "id") + " holds version " +
        (text_of(*answer, "version").empty() ? "(none yet)" : text_of(*answer, "version")) + " (" +
        text_of(*answer, "status") + ")\n\n");
  std::vector<std::vector<std::string>> rows{{"TYPE", "NAMESPACE", "NAME", "DETAIL"}};
  for (const auto& r : answer->value("resources", json::array())) {
    std::string type = text_of(r, "type");
    type = type.substr(type.rfind('.') + 1);
    std::string detail;
    const json spec = r.value("spec", json::object());
    if (type == "MeshService") {
      detail = text_of(spec, "hostname") + ", " + std::to_string(spec.value("endpoints", json::array()).size()) + " endpoints";
    } else if (type == "VirtualService") {
      detail = std::to_string(spec.value("http", json::array()).size()) + " http routes";
    } else if (type == "DestinationRule") {
      detail = std::to_string(spec.value("subsets", json::array()).size()) + " subsets";
    }
    rows.push_back({type, text_of(r, "namespace"), text_of(r, "name"), detail});
  }
  print(render_rows(rows, stdout_wants_color()));
  print("\nUse -o yaml or -o json for the full config.\n");
  return 0;
}

int run_describe_service(const GlobalOptions& global, const std::string& name, const std::string& ns,
                         const std::string& output) {
  auto answer =
      get_or_print(global, output, "/api/v1/services/" + url_encode(ns) + "/" + url_encode(name));
  if (!answer) return answer.error();
  std::string out = "Service:    " + text_of(*answer, "hostname") + "\n";
  std::string ports;
  for (const auto& p : answer->value("ports", json::array()))
    ports += (ports.empty() ? "" : ", ") + text_of(p, "port") + "/" + text_of(p, "protocol");
  out += "Ports:      " + ports + "\n\nEndpoints:\n";
  std::vector<std::vector<std::string>> rows{{"  ADDRESS", "WORKLOAD", "HEALTH", "LABELS"}};
  for (const auto& e : answer->value("endpoints", json::array()))
    rows.push_back({"  " + text_of(e, "address"), text_of(e, "workload"), text_of(e, "health"), labels_of(e["labels"])});
  out += rows.size() == 1 ? "  (none)\n" : render_rows(rows, false);
  out += "\nRoutes (VirtualServices):\n";
  const json routes = answer->value("virtualServices", json::array());
  if (routes.empty()) out += "  (none: every request goes to every endpoint)\n";
  for (const auto& vs : routes) {
    out += "  " + text_of(vs["metadata"], "namespace") + "/" + text_of(vs["metadata"], "name") + "\n";
    int index = 0;
    for (const auto& http : vs["spec"].value("http", json::array())) {
      std::string matches;
      for (const auto& m : http.value("match", json::array()))
        matches += (matches.empty() ? "" : " OR ") + match_text(m);
      std::string targets;
      for (const auto& d : http.value("route", json::array())) {
        const json dest = d.value("destination", json::object());
        targets += (targets.empty() ? "" : ", ") + text_of(dest, "host") +
                   (dest.contains("subset") ? " subset " + text_of(dest, "subset") : "") +
                   (d.contains("weight") ? " " + text_of(d, "weight") + "%" : "");
      }
      out += "    http[" + std::to_string(index++) + "] " + (matches.empty() ? "any request" : matches) + " -> " +
             (targets.empty() ? "(no destination)" : targets) + "\n";
    }
  }
  out += "\nSubsets (DestinationRules):\n";
  const json rules = answer->value("destinationRules", json::array());
  if (rules.empty()) out += "  (none)\n";
  for (const auto& dr : rules) {
    out += "  " + text_of(dr["metadata"], "namespace") + "/" + text_of(dr["metadata"], "name") + ":";
    for (const auto& subset : dr["spec"].value("subsets", json::array()))
      out += " " + text_of(subset, "name") + " {" + labels_of(subset.value("labels", json::object())) + "}";
    out += "\n";
  }
  out += "\nPolicies:\n";
  const json policies = answer->value("policies", json::array());
  if (policies.empty()) out += "  (none)\n";
  for (const auto& p : policies)
    out += "  " + text_of(p, "kind") + " " + text_of(p["metadata"], "namespace") + "/" + text_of(p["metadata"], "name") + "\n";
  print(out);
  return 0;
}

int run_describe_workload(const GlobalOptions& global, const std::string& name,
                          const std::string& ns, const std::string& output) {
  const std::string path = workload_path(name, ns);
  const auto slash = path.find('/');
  auto answer = get_or_print(global, output,
                             "/api/v1/workloads/" + url_encode(path.substr(0, slash)) + "/" +
                                 url_encode(path.substr(slash + 1)));
  if (!answer) return answer.error();
  const json& a = *answer;
  std::string out = "Workload:   " + text_of(a, "workload") + "." + text_of(a, "namespace") + "\n";
  out += "Identity:   " + text_of(a, "identity") + "\n";
  out += "Labels:     " + labels_of(a.value("labels", json::object())) + "\n";
  out += "Inbound:    " + text_of(a, "inboundAddress") + "\n";
  const json mtls = a.value("mtls", json::object());
  out += "mTLS:       " + text_of(mtls, "mode") + " (" + text_of(mtls, "source") + ")\n\nPorts:\n";
  std::vector<std::vector<std::string>> rows{
      {"  SERVICE", "PORT", "TARGET", "PROTOCOL", "MTLS", "FROM"}};
  for (const auto& p : a.value("ports", json::array())) {
    const json m = p.value("mtls", json::object());
    rows.push_back({"  " + text_of(p, "service"), text_of(p, "port"), text_of(p, "targetPort"),
                    text_of(p, "protocol"), text_of(m, "mode"), text_of(m, "source")});
  }
  out += rows.size() == 1 ? "  (none)\n" : render_rows(rows, false);
  out += "\nPeerAuthentications:\n";
  const json peer = a.value("peerAuthentications", json::array());
  if (peer.empty()) out += "  (none: PERMISSIVE, Istio's default)\n";
  for (const auto& p : peer)
    out += "  " + text_of(p, "namespace") + "/" + text_of(p, "name") + " (" + text_of(p, "scope") +
           "): " + text_of(p, "mode") + "\n";
  out += "\nAuthorizationPolicies:\n";
  const json authz = a.value("authorizationPolicies", json::array());
  if (authz.empty()) out += "  (none)\n";
  for (const auto& p : authz)
    out += "  " + text_of(p, "namespace") + "/" + text_of(p, "name") + ": " + text_of(p, "action") +
           ", " + text_of(p, "rules") + " rules" + (p.value("dryRun", false) ? " (dry run)" : "") +
           "\n";
  out += "  => " + text_of(a, "authorizationDefault") + "\n";
  out += "\nRequestAuthentications:\n";
  const json jwt = a.value("requestAuthentications", json::array());
  if (jwt.empty()) out += "  (none)\n";
  for (const auto& p : jwt) {
    std::string issuers;
    for (const auto& i : p.value("issuers", json::array()))
      issuers += (issuers.empty() ? "" : ", ") + i.get<std::string>();
    out += "  " + text_of(p, "namespace") + "/" + text_of(p, "name") + ": " + issuers + "\n";
  }
  print(out);
  return 0;
}

int run_check_mtls(const GlobalOptions& global, const std::string& from, const std::string& to,
                   const std::string& ns, int port, const std::string& output) {
  const std::string from_path = from == "external" ? from : workload_path(from, ns);
  std::string target = "/api/v1/check/mtls?from=" + url_encode(from_path) +
                       "&to=" + url_encode(workload_path(to, ns));
  if (port > 0) target += "&port=" + std::to_string(port);
  auto answer = get_or_print(global, output, target);
  if (!answer) return answer.error();
  const json& a = *answer;
  auto who = [](const json& w) {
    const std::string ns = text_of(w, "namespace");
    return text_of(w, "workload") + (ns.empty() ? "" : "." + ns) +
           (w.value("sidecar", false) ? "" : " (no sidecar)");
  };
  std::string out =
      who(a.value("from", json::object())) + " -> " + who(a.value("to", json::object())) + "\n";
  for (const auto& p : a.value("ports", json::array())) {
    out += "\n  port " + text_of(p, "port") + " (" + text_of(p, "service") +
           "): " + text_of(p, "result") + "\n    " + text_of(p, "reason") + "\n";
  }
  print(out);
  return 0;
}

namespace {

std::string ca_status_text(const json& a) {
  std::string out = "Phase:   " + text_of(a, "phase") +
                    (a.value("plugged", false) ? " (plugged-in CA)" : "") + "\n";
  out += "Signer:  " + text_of(a, "signerKeyId") + "\n\nRoots:\n";
  std::vector<std::vector<std::string>> rows{{"  ROLE", "KEY ID", "NOT AFTER", "SHA-256"}};
  for (const auto& r : a.value("roots", json::array()))
    rows.push_back({"  " + text_of(r, "role"), text_of(r, "keyId"), text_of(r, "notAfter"),
                    text_of(r, "sha256")});
  out += render_rows(rows, false);
  const json waiting = a.value("waitingFor", json::array());
  if (!waiting.empty()) {
    std::string names;
    for (const auto& w : waiting) names += (names.empty() ? "" : ", ") + w.get<std::string>();
    out += "\nWaiting for: " + names + "\n";
  }
  if (a.contains("lastError")) out += "\nLast error (retried): " + text_of(a, "lastError") + "\n";
  return out;
}

}  // namespace

int run_ca_status(const GlobalOptions& global, const std::string& output) {
  auto answer = get_or_print(global, output, "/api/v1/ca");
  if (!answer) return answer.error();
  print(ca_status_text(*answer));
  return 0;
}

int run_ca_rotate(const GlobalOptions& global, bool wait, int timeout_seconds) {
  auto api = connect(global);
  if (!api) return fail(api.error());
  auto started = api->call("POST", "/api/v1/ca/rotate");
  if (!started) return fail(started.error());
  const json history = started->value("history", json::array());
  for (const auto& entry : history) print(text_of(entry, "step") + "\n");
  if (!wait) {
    print("follow it with: straitctl ca status\n");
    return 0;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  std::size_t shown = history.size();
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto status = api->call("GET", "/api/v1/ca");
    if (!status) return fail(status.error());
    const json history = status->value("history", json::array());
    for (; shown < history.size(); ++shown) print(text_of(history[shown], "step") + "\n");
    if (!status->value("rotating", false)) return 0;
  }
  auto status = api->call("GET", "/api/v1/ca");
  return fail("the rotation did not finish within " + std::to_string(timeout_seconds) +
              " s (it goes on in straitd):\n" +
              (status ? ca_status_text(*status) : status.error()));
}

int run_traces(const GlobalOptions& global, const std::string& trace_id, const std::string& service,
               int limit, const std::string& min_duration, const std::string& output) {
  if (!trace_id.empty()) {
    if (!service.empty() || limit > 0 || !min_duration.empty())
      return fail(
          "--service, --limit and --min-duration select traces to list; with TRACE_ID "
          "give none of them");
    auto answer = get_or_print(global, output, "/api/v1/traces/" + url_encode(trace_id));
    if (!answer) return answer.error();
    print(render_waterfall(*answer, kWaterfallWidth));
    return 0;
  }
  std::string target = "/api/v1/traces";
  std::string separator = "?";
  const auto add = [&](std::string_view name, const std::string& value) {
    target += separator + std::string(name) + "=" + url_encode(value);
    separator = "&";
  };
  if (!service.empty()) add("service", service);
  if (limit > 0) add("limit", std::to_string(limit));
  if (!min_duration.empty()) {
    if (auto parsed = parse_duration(min_duration); !parsed)
      return fail("--min-duration " + min_duration + ": " + parsed.error());
    add("minDuration", min_duration);
  }
  auto answer = get_or_print(global, output, target);
  if (!answer) return answer.error();
  if (!answer->is_object() || !answer->contains("traces") || !(*answer)["traces"].is_array())
    return fail("straitd answered without a traces list");
  if ((*answer)["traces"].empty()) {
    std::fprintf(stderr, "No traces found%s.\n",
                 service.empty() ? "" : (" for service " + service).c_str());
    return 0;
  }
  print(render_trace_table(*answer, stdout_wants_color()));
  return 0;
}

}  // namespace strait::ctl
