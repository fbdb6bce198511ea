#include "control/config_api.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "common/host_name.h"
#include "config/enforcement.h"
#include "config/proto_yaml.h"
#include "config/resource.h"
#include "config/validation.h"
#include "control/admin_token.h"
#include "control/dashboard_api.h"
#include "control/json_body.h"
#include "control/mesh_hub.h"
#include "control/query_params.h"
#include "control/root_rotation.h"
#include "control/trace_api.h"
#include "control/traffic_api.h"
#include "control/view_compiler.h"
#include "tls/control_plane_name.h"

namespace strait::control {

ApiResponse json_answer(int status, const nlohmann::json& body) {
  return ApiResponse{status, "application/json", compact_json(body) + "\n"};
}

ApiResponse error_answer(int status, const std::string& message) {
  return json_answer(status, nlohmann::json{{"error", message}});
}

namespace {

using nlohmann::json;

ApiResponse error(int status, const std::string& message) {
  return error_answer(status, message);
}

ApiResponse ok(const json& body) {
  return json_answer(200, body);
}

std::string serialize_deterministic(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

json render(const store::StoredResource& r) {
  json spec = json::object();
  if (const auto* kind = config::find_kind(r.kind)) {
    std::unique_ptr<google::protobuf::Message> message(kind->prototype->New());
    if (message->ParseFromString(r.spec)) spec = config::message_to_json(*message);
  }
  json metadata{{"name", r.name},
                {"namespace", r.ns},
                {"resourceVersion", std::to_string(r.resource_version)},
                {"generation", r.generation},
                {"creationTimestamp", r.created_at}};
  if (!r.labels.empty()) metadata["labels"] = r.labels;
  if (!r.annotations.empty()) metadata["annotations"] = r.annotations;
  return json{{"apiVersion", r.api_version}, {"kind", r.kind}, {"metadata", metadata}, {"spec", spec}};
}

constexpr const char* kAdminTokenRequired =
    "a valid admin token is required (Authorization: Bearer <DATA_DIR/admin.token>)";
constexpr const char* kCollectorTokenOnly =
    "the collector token allows span ingest only (POST /v1/traces, POST /api/v2/spans); use the "
    "admin token";

constexpr const char* kSessionReadsOnly =
    "a dashboard session may only read (GET, not taps), from the dashboard's own page; use the "
    "admin token (straitctl)";

// The span ingest calls, which the collector token may make.
bool is_ingest(std::string_view path) {
  return path == "/v1/traces" || path == "/api/v2/spans";
}

}  // namespace

ConfigApi::ConfigApi(store::ResourceStore& store, std::string token,
                     store::JoinTokenStore* join_tokens)
    : store_(store),
      token_(std::move(token)),
      join_tokens_(join_tokens),
      dashboard_(std::make_unique<DashboardApi>()) {}

ConfigApi::~ConfigApi() = default;

void ConfigApi::set_collector(TraceStore* store, std::string collector_token) {
  traces_ = store == nullptr ? nullptr : std::make_unique<TraceApi>(*store);
  collector_token_ = std::move(collector_token);
}

void ConfigApi::set_traffic(const TrafficStore* store) {
  traffic_ = store == nullptr ? nullptr : std::make_unique<TrafficApi>(*store);
}

std::optional<ApiResponse> ConfigApi::refusal(const ApiRequest& request,
                                              std::string_view path) const {
  if (bearer_matches(request.authorization, token_)) return std::nullopt;
  const auto session = dashboard_->session(request, path);
  if (session == DashboardApi::Session::kMayCall) return std::nullopt;
  // The collector token is known, but grants nothing here; a dashboard session only reads.
  if (bearer_matches(request.authorization, collector_token_))
    return error(403, kCollectorTokenOnly);
  if (session == DashboardApi::Session::kRefused) return error(403, kSessionReadsOnly);
  return error(401, kAdminTokenRequired);
}

ApiResponse ConfigApi::handle(const ApiRequest& request) {
  const auto question = request.target.find('?');
  const std::string_view path = request.target.substr(0, question);
  const auto query = parse_query(question == std::string_view::npos ? std::string_view{}
                                                                    : request.target.substr(question + 1));
  ApiResponse response;
  if (path == "/healthz") {
    response = ApiResponse{200, "text/plain", "ok\n"};
  } else if (path == "/metrics") {
    response = metrics();
  } else if (is_ingest(path)) {
    response = ingest(request, path);
  } else if (!path.starts_with("/api/")) {
    auto page = dashboard_->page(request, path, query);
    response = page ? std::move(*page) : error(404, "no such endpoint: " + std::string(path));
  } else if (auto refused = refusal(request, path)) {
    response = std::move(*refused);
  } else if (path == "/api/v1/dashboard/login") {
    response = dashboard_->sign_in_code(request.method);
  } else if (path == "/api/v1/traces" || path.starts_with("/api/v1/traces/")) {
    response =
        traces(request.method, path.substr(std::string_view("/api/v1/traces").size()), query);
  } else if (path == "/api/v1/traffic" || path == "/api/v1/traffic/series") {
    if (traffic_ == nullptr) {
      response = error(404, "this server keeps no traffic view");
    } else if (request.method != "GET") {
      response = error(405, "use GET on traffic");
    } else {
      response = path == "/api/v1/traffic" ? traffic_->summary(query) : traffic_->series(query);
    }
  } else if (path == "/api/v1/apply") {
    response = request.method == "POST" ? apply(query, request.body) : error(405, "use POST for apply");
  } else if (path == "/api/v1/version") {
    response = version();
  } else if (path == "/api/v1/tokens" || path.starts_with("/api/v1/tokens/")) {
    constexpr std::string_view kTokens = "/api/v1/tokens/";
    const std::string_view id = path.starts_with(kTokens) ? path.substr(kTokens.size()) : std::string_view{};
    response = tokens(request.method, id, request.body);
  } else if (path == "/api/v1/proxies" || path.starts_with("/api/v1/proxies/")) {
    response = request.method == "GET"
                   ? proxies(path.substr(std::string_view("/api/v1/proxies").size()), query)
                   : error(405, "use GET on proxies");
  } else if (path.starts_with("/api/v1/services/")) {
    std::string_view rest = path.substr(std::string_view("/api/v1/services/").size());
    const auto slash = rest.find('/');
    if (request.method != "GET") {
      response = error(405, "use GET on services");
    } else if (slash == std::string_view::npos || rest.find('/', slash + 1) != std::string_view::npos) {
      response = error(404, "use /api/v1/services/{namespace}/{name}");
    } else {
      response = service(percent_decode(rest.substr(0, slash)), percent_decode(rest.substr(slash + 1)));
    }
  } else if (path.starts_with("/api/v1/workloads/")) {
    std::string_view rest = path.substr(std::string_view("/api/v1/workloads/").size());
    const auto slash = rest.find('/');
    if (request.method != "GET") {
      response = error(405, "use GET on workloads");
    } else if (slash == std::string_view::npos ||
               rest.find('/', slash + 1) != std::string_view::npos) {
      response = error(404, "use /api/v1/workloads/{namespace}/{name}");
    } else {
      response =
          workload(percent_decode(rest.substr(0, slash)), percent_decode(rest.substr(slash + 1)));
    }
  } else if (path == "/api/v1/ca" || path.starts_with("/api/v1/ca/")) {
    response =
        certificate_authority(request.method, path.substr(std::string_view("/api/v1/ca").size()));
  } else if (path == "/api/v1/check/mtls") {
    response = request.method == "GET" ? check_mtls(query) : error(405, "use GET on check/mtls");
  } else if (path == "/api/v1/resources") {
    response = request.method == "GET" ? list(query) : error(405, "use GET to list resources");
  } else if (path.starts_with("/api/v1/resources/")) {
    std::string_view rest = path.substr(std::string_view("/api/v1/resources/").size());
    const auto a = rest.find('/');
    const auto b = a == std::string_view::npos ? a : rest.find('/', a + 1);
    if (a == std::string_view::npos || b == std::string_view::npos || rest.find('/', b + 1) != std::string_view::npos) {
      response = error(404, "use /api/v1/resources/{Kind}/{namespace}/{name}");
    } else {
      const std::string kind = percent_decode(rest.substr(0, a));
      const std::string ns = percent_decode(rest.substr(a + 1, b - a - 1));
      const std::string name = percent_decode(rest.substr(b + 1));
      response = one(request.method, kind, ns, name);
    }
  } else {
    response = error(404, "no such endpoint: " + std::string(path));
  }
  ++responses_by_status_[response.status];
  return response;
}

ApiResponse ConfigApi::apply(const std::map<std::string, std::string>& query, std::string_view body) {
  ++applies_;
  const std::string source = query.contains("source") ? query.at("source") : "request";
  const std::string default_ns = query.contains("namespace") ? query.at("namespace") : "default";
  auto parsed = config::parse_resources(body, source);
  if (!parsed) {
    ++rejected_applies_;
    return error(400, parsed.error());
  }
  if (parsed->empty()) {
    ++rejected_applies_;
    return error(400, source + ": no resource in the request");
  }
  std::vector<store::StoredResource> batch;
  json results = json::array();
  json warnings = json::array();
  // Semantic errors (config/validation.h) are all reported, the first one in "error".
  std::vector<std::string> problems;
  std::vector<config::Resource> incoming;
  const auto refuse = [&]() {
    ++rejected_applies_;
    return ApiResponse{400, "application/json", json{{"error", problems.front()}, {"errors", problems}}.dump() + "\n"};
  };
  int index = 0;
  for (const auto& r : *parsed) {
    ++index;
    store::StoredResource s;
    s.kind = std::string(r.kind->kind);
    s.ns = r.ns.empty() ? default_ns : r.ns;
    s.name = r.name;
    if (!is_dns_label(s.ns)) {
      ++rejected_applies_;
      return error(400, source + ": document " + std::to_string(index) + ": metadata.namespace: '" + s.ns +
                            "' is not a valid namespace (lower-case letters, digits and '-')");
    }
    for (const auto& other : batch) {
      if (other.kind == s.kind && other.ns == s.ns && other.name == s.name) {
        ++rejected_applies_;
        return error(400, source + ": document " + std::to_string(index) + ": " + s.kind + " " + s.ns + "/" +
                              s.name + " appears twice in one apply");
      }
    }
    for (const auto& problem : config::validate(r))
      problems.push_back(source + ": document " + std::to_string(index) + ": " + problem.to_string());
    for (const auto& field : config::unenforced_fields(r))
      warnings.push_back(std::string(r.kind->kind) + " " + (r.ns.empty() ? default_ns : r.ns) + "/" + r.name + ": " + field);
    incoming.push_back(r);
    incoming.back().ns = s.ns;
    s.api_version = r.api_version;
    s.labels = r.labels;
    s.annotations = r.annotations;
    s.spec = serialize_deterministic(*r.spec);
    auto existing = store_.get(s.kind, s.ns, s.name);
    if (!existing) return error(500, existing.error());
    std::string action = "created";
    if (*existing) {
      const auto& e = **existing;
      action = e.spec == s.spec && e.labels == s.labels && e.annotations == s.annotations &&
                       e.api_version == s.api_version
                   ? "unchanged"
                   : "configured";
    }
    results.push_back({{"kind", s.kind}, {"namespace", s.ns}, {"name", s.name}, {"action", action}});
    batch.push_back(std::move(s));
  }
  if (!problems.empty()) return refuse();
  // Conflicts with the stored resources (one VirtualService per host, subsets that exist).
  auto stored = store_.list("", "");
  if (!stored) return error(500, stored.error());
  std::vector<config::Resource> existing;
  existing.reserve(stored->size());
  for (const auto& e : *stored) {
    config::Resource r;
    r.kind = config::find_kind(e.kind);
    if (r.kind == nullptr) continue;
    r.spec.reset(r.kind->prototype->New());
    if (!r.spec->ParseFromString(e.spec)) continue;
    r.api_version = e.api_version;
    r.name = e.name;
    r.ns = e.ns;
    existing.push_back(std::move(r));
  }
  for (const auto& conflict : config::check_conflicts(incoming, existing))
    problems.push_back(source + ": " + conflict.to_string());
  if (!problems.empty()) return refuse();
  auto revision = store_.apply(batch);
  if (!revision) return error(500, revision.error());
  config_changed();
  for (auto& result : results) {
    auto stored = store_.get(result["kind"], result["namespace"], result["name"]);
    if (stored && *stored) {
      result["resourceVersion"] = std::to_string((*stored)->resource_version);
      result["generation"] = (*stored)->generation;
    }
  }
  json answer{{"revision", *revision}, {"results", results}};
  if (!warnings.empty()) answer["warnings"] = warnings;
  return ok(answer);
}

ApiResponse ConfigApi::list(const std::map<std::string, std::string>& query) {
  const std::string kind = query.contains("kind") ? query.at("kind") : "";
  if (!kind.empty() && config::find_kind(kind) == nullptr) return error(400, "unknown kind '" + kind + "'");
  auto items = store_.list(kind, query.contains("namespace") ? query.at("namespace") : "");
  if (!items) return error(500, items.error());
  json out = json::array();
  for (const auto& r : *items) out.push_back(render(r));
  return ok(json{{"items", out}});
}

ApiResponse ConfigApi::one(std::string_view method, std::string_view kind, std::string_view ns,
                           std::string_view name) {
  if (config::find_kind(kind) == nullptr) return error(400, "unknown kind '" + std::string(kind) + "'");
  const std::string what = std::string(kind) + " " + std::string(ns) + "/" + std::string(name);
  if (method == "GET") {
    auto found = store_.get(std::string(kind), std::string(ns), std::string(name));
    if (!found) return error(500, found.error());
    if (!*found) return error(404, what + " not found");
    return ok(render(**found));
  }
  if (method == "DELETE") {
    auto removed = store_.remove(std::string(kind), std::string(ns), std::string(name));
    if (!removed) return error(500, removed.error());
    if (!*removed) return error(404, what + " not found");
    config_changed();
    return ok(json{{"revision", **removed}});
  }
  return error(405, "use GET or DELETE on a resource");
}

ApiResponse ConfigApi::tokens(std::string_view method, std::string_view id, std::string_view body) {
  if (join_tokens_ == nullptr) return error(404, "join tokens are not enabled on this server");
  if (method == "POST" && id.empty()) {
    const json request = json::parse(body, nullptr, false);
    if (request.is_discarded() || !request.is_object())
      return error(400, "send a JSON object: {\"namespace\": ..., \"serviceAccount\": ..., \"ttl\": \"1h\"}");
    const std::string ns = request.value("namespace", "");
    const std::string account = request.value("serviceAccount", "");
    const std::string ttl_text = request.value("ttl", "1h");
    if (!is_dns_label(ns)) return error(400, "namespace: '" + ns + "' is not a valid namespace");
    if (account.empty() || !is_dns_label(account))
      return error(400, "serviceAccount: '" + account + "' is not a valid service account name");
    if (ns == tls::kControlPlaneNamespace && account == tls::kControlPlaneServiceAccount)
      return error(400, "strait-system/straitd is the control plane's own identity; it is not given to workloads");
    auto ttl = parse_duration(ttl_text);
    if (!ttl) return error(400, "ttl: " + ttl.error());
    if (*ttl < std::chrono::minutes(1) || *ttl > std::chrono::hours(24 * 365))
      return error(400, "ttl: must be from 1m to 8760h");
    auto token = join_tokens_->create(ns, account, std::chrono::duration_cast<std::chrono::seconds>(*ttl));
    if (!token) return error(500, token.error());
    const std::string token_id = token->substr(std::string_view("strait-join.").size(), 16);
    return ok(json{{"token", *token}, {"id", token_id}, {"namespace", ns}, {"serviceAccount", account}});
  }
  if (method == "GET" && id.empty()) {
    auto items = join_tokens_->list();
    if (!items) return error(500, items.error());
    json out = json::array();
    for (const auto& t : *items) {
      out.push_back({{"id", t.id}, {"namespace", t.ns}, {"serviceAccount", t.service_account},
                     {"expiresAt", t.expires_at}, {"createdAt", t.created_at}, {"uses", t.uses}});
    }
    return ok(json{{"items", out}});
  }
  if (method == "DELETE" && !id.empty()) {
    auto revoked = join_tokens_->revoke(std::string(id));
    if (!revoked) return error(500, revoked.error());
    if (!*revoked) return error(404, "no join token " + std::string(id));
    return ok(json{{"revoked", std::string(id)}});
  }
  return error(405, "use POST /api/v1/tokens, GET /api/v1/tokens or DELETE /api/v1/tokens/{id}");
}

ApiResponse ConfigApi::version() {
  return ok(json{{"version", STRAIT_VERSION}, {"revision", store_.revision()}});
}

ApiResponse ConfigApi::metrics() {
  std::string out;
  out += "# HELP strait_config_revision Revision of the config store.\n# TYPE strait_config_revision gauge\n";
  out += "strait_config_revision " + std::to_string(store_.revision()) + "\n";
  out += "# HELP strait_config_resources Stored resources, by kind.\n# TYPE strait_config_resources gauge\n";
  for (const auto& kind : config::all_kinds()) {
    auto items = store_.list(std::string(kind.kind), "");
    out += "strait_config_resources{kind=\"" + std::string(kind.kind) + "\"} " +
           std::to_string(items ? items->size() : 0) + "\n";
  }
  out += "# HELP strait_config_applies_total Apply requests, and those refused as invalid.\n";
  out += "# TYPE strait_config_applies_total counter\n";
  out += "strait_config_applies_total " + std::to_string(applies_) + "\n";
  out += "strait_config_applies_rejected_total " + std::to_string(rejected_applies_) + "\n";
  out += "# HELP strait_api_responses_total API responses by status code.\n# TYPE strait_api_responses_total counter\n";
  for (const auto& [status, count] : responses_by_status_) {
    out += "strait_api_responses_total{code=\"" + std::to_string(status) + "\"} " + std::to_string(count) + "\n";
  }
  if (hub_ != nullptr) out += hub_->metrics_text();
  if (traces_ != nullptr) out += traces_->metrics_text();
  return ApiResponse{200, "text/plain; version=0.0.4", out};
}

void ConfigApi::set_mesh(MeshHub* hub) {
  hub_ = hub;
  config_changed();
}

void ConfigApi::config_changed() {
  if (hub_ == nullptr) return;
  auto all = store_.list("", "");
  if (!all) {
    spdlog::error("cannot read the store to push the change: {}", all.error());
    return;
  }
  hub_->set_resources(std::move(*all));
}

ApiResponse ConfigApi::proxies(std::string_view rest,
                               const std::map<std::string, std::string>& query) {
  if (hub_ == nullptr) return error(404, "this server has no discovery service");
  if (rest.empty() || rest == "/") return ok(hub_->proxies_json());
  rest.remove_prefix(1);
  if (rest.ends_with("/tap")) {
    rest.remove_suffix(std::string_view("/tap").size());
    return tap(percent_decode(rest), query);
  }
  const bool config = rest.ends_with("/config");
  if (config) rest.remove_suffix(std::string_view("/config").size());
  const std::string id = percent_decode(rest);
  json found = config ? hub_->proxy_config_json(id) : hub_->proxy_json(id);
  if (found.is_null()) return error(404, "no proxy '" + id + "' (proxy ids are <workload>.<namespace>; see proxy-status)");
  return ok(found);
}

ApiResponse ConfigApi::tap(const std::string& proxy_id,
                           const std::map<std::string, std::string>& query) {
  // Each number: its query parameter, or `fallback` when absent; nullopt when malformed.
  const auto number = [&](const char* name, std::uint64_t fallback, std::uint64_t low,
                          std::uint64_t high) -> std::optional<std::uint64_t> {
    auto it = query.find(name);
    return it == query.end() ? fallback : query_number(it->second, low, high);
  };
  const auto after = number("after", 0, 0, UINT64_MAX);
  const auto seconds = number("seconds", 30, 1, 300);
  const auto limit = number("limit", 500, 1, 2000);
  if (!after)
    return error(400,
                 "after: give the number of the last event seen (\"next\" of the previous answer)");
  if (!seconds) return error(400, "seconds: give how long to tap, 1 to 300");
  if (!limit) return error(400, "limit: give 1 to 2000 events");
  // Without `after`, a reader starts from now: no events, the newest number in "next".
  const std::optional<std::uint64_t> from = query.contains("after") ? after : std::nullopt;
  auto page = hub_->tap_json(proxy_id, from, std::chrono::seconds(*seconds), *limit);
  if (!page) return error(409, page.error());
  if (page->is_null())
    return error(404, "no proxy '" + proxy_id +
                          "' (proxy ids are <workload>.<namespace>; see proxy-status)");
  return ok(*page);
}

ApiResponse ConfigApi::certificate_authority(std::string_view method, std::string_view rest) {
  if (rotation_ == nullptr) return error(404, "this server has no certificate authority");
  if (rest.empty() || rest == "/") {
    if (method != "GET") return error(405, "use GET on /api/v1/ca");
    return ok(rotation_->status_json());
  }
  if (rest == "/rotate") {
    if (method != "POST") return error(405, "use POST on /api/v1/ca/rotate");
    if (auto started = rotation_->start(); !started) return error(409, started.error());
    return ok(rotation_->status_json());
  }
  return error(404, "use /api/v1/ca or /api/v1/ca/rotate");
}

ApiResponse ConfigApi::ingest(const ApiRequest& request, std::string_view path) {
  if (traces_ == nullptr) return error(404, "this server has no trace collector");
  const bool otlp = path == "/v1/traces";
  ApiResponse response;
  if (!bearer_matches(request.authorization, token_) &&
      !bearer_matches(request.authorization, collector_token_)) {
    response = error(401,
                     "span ingest needs the collector token or the admin token "
                     "(Authorization: Bearer <token>)");
  } else if (request.method != "POST") {
    response = error(405, "use POST to send spans");
  } else if (otlp) {
    response = traces_->ingest_otlp(request.content_type, request.content_encoding, request.body);
  } else {
    response = traces_->ingest_zipkin(request.content_type, request.content_encoding, request.body);
  }
  traces_->count_request(otlp ? "otlp" : "zipkin", response.status);
  return response;
}

ApiResponse ConfigApi::traces(std::string_view method, std::string_view rest,
                              const std::map<std::string, std::string>& query) {
  if (traces_ == nullptr) return error(404, "this server has no trace collector");
  if (method != "GET") return error(405, "use GET on traces");
  if (rest.empty() || rest == "/") return traces_->list(query);
  rest.remove_prefix(1);
  if (rest.find('/') != std::string_view::npos) return error(404, "use /api/v1/traces/{traceId}");
  return traces_->find(percent_decode(rest));
}

ApiResponse ConfigApi::workload(std::string_view ns, std::string_view name) {
  if (hub_ == nullptr) return error(404, "this server has no discovery service");
  json out = hub_->workload_json(std::string(ns), std::string(name));
  if (out.is_null())
    return error(404, "no workload " + std::string(name) + " in namespace " + std::string(ns) +
                          " is registered (see proxy-status)");
  return ok(out);
}

namespace {

// "<namespace>/<name>" as the check API takes a workload.
std::optional<WorkloadRef> workload_ref(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size() ||
      text.find('/', slash + 1) != std::string::npos)
    return std::nullopt;
  return WorkloadRef{text.substr(0, slash), text.substr(slash + 1)};
}

}  // namespace

ApiResponse ConfigApi::check_mtls(const std::map<std::string, std::string>& query) {
  if (hub_ == nullptr) return error(404, "this server has no discovery service");
  const auto from_text = query.find("from");
  const auto to_text = query.find("to");
  if (from_text == query.end() || to_text == query.end())
    return error(
        400,
        "use /api/v1/check/mtls?from={namespace}/{name}|external&to={namespace}/{name}[&port=N]");
  std::optional<WorkloadRef> from;
  if (from_text->second != "external") {
    from = workload_ref(from_text->second);
    if (!from)
      return error(
          400, "from: expected <namespace>/<name> or external, got '" + from_text->second + "'");
  }
  const auto to = workload_ref(to_text->second);
  if (!to) return error(400, "to: expected <namespace>/<name>, got '" + to_text->second + "'");
  std::uint16_t port = 0;
  if (const auto p = query.find("port"); p != query.end()) {
    const auto value = query_number(p->second, 1, 65535);
    if (!value) return error(400, "port: expected a port number, got '" + p->second + "'");
    port = static_cast<std::uint16_t>(*value);
  }
  auto answer = hub_->mtls_check_json(from, *to, port);
  if (!answer) return error(404, answer.error());
  return ok(*answer);
}

ApiResponse ConfigApi::service(std::string_view ns, std::string_view name) {
  if (hub_ == nullptr) return error(404, "this server has no discovery service");
  json out = hub_->service_json(std::string(ns), std::string(name));
  if (out.is_null()) return error(404, "no service " + std::string(name) + " in namespace " + std::string(ns));
  const std::string host = service_hostname(std::string(name), std::string(ns));
  auto names_service = [&](const std::string& written, const std::string& resource_ns) {
    if (written == host || written == "*") return true;
    if (written == name && resource_ns == ns) return true;
    return written == std::string(name) + "." + std::string(ns) || written == std::string(name) + "." + std::string(ns) + ".svc";
  };
  // A policy with a selector belongs to the service when it selects one of its endpoints.
  const json endpoints = out.value("endpoints", json::array());
  auto selects_an_endpoint = [&](const json& rendered) {
    const json wanted =
        rendered["spec"].value("selector", json::object()).value("matchLabels", json::object());
    if (wanted.empty()) return true;
    return std::ranges::any_of(endpoints, [&](const json& e) {
      const json labels = e.value("labels", json::object());
      return std::ranges::all_of(wanted.items(), [&](const auto& want) {
        return labels.contains(want.key()) && labels[want.key()] == want.value();
      });
    });
  };
  json routes = json::array();
  json rules = json::array();
  json policies = json::array();
  auto all = store_.list("", "");
  if (!all) return error(500, all.error());
  for (const auto& r : *all) {
    const auto* kind = config::find_kind(r.kind);
    if (kind == nullptr) continue;
    std::unique_ptr<google::protobuf::Message> spec(kind->prototype->New());
    if (!spec->ParseFromString(r.spec)) continue;
    json rendered = render(r);
    if (r.kind == "VirtualService") {
      for (const auto& h : rendered["spec"].value("hosts", json::array())) {
        if (h.is_string() && names_service(h.get<std::string>(), r.ns)) {
          routes.push_back(rendered);
          break;
        }
      }
    } else if (r.kind == "DestinationRule") {
      const std::string h = rendered["spec"].value("host", "");
      if (names_service(h, r.ns)) rules.push_back(rendered);
    } else if (r.kind == "PeerAuthentication" || r.kind == "AuthorizationPolicy" || r.kind == "RequestAuthentication") {
      if ((r.ns == ns || r.ns == "strait-system") && selects_an_endpoint(rendered))
        policies.push_back(rendered);
    }
  }
  out["virtualServices"] = routes;
  out["destinationRules"] = rules;
  out["policies"] = policies;
  return ok(out);
}

}  // namespace strait::control
