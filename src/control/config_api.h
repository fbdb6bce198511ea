// straitd's REST API over the config store (docs/control-plane.md has the reference):
//   POST   /api/v1/apply?namespace=NS&source=NAME        YAML documents, applied atomically
//   GET    /api/v1/resources?kind=K&namespace=NS          list
//   GET    /api/v1/resources/{Kind}/{namespace}/{name}    one
//   DELETE /api/v1/resources/{Kind}/{namespace}/{name}
//   GET    /api/v1/version
//   POST   /api/v1/tokens {"namespace", "serviceAccount", "ttl"}   a join token (shown once)
//   GET    /api/v1/tokens, DELETE /api/v1/tokens/{id}
//   GET    /api/v1/proxies                                every proxy's sync status
//   GET    /api/v1/proxies/{id}                           one proxy
//   GET    /api/v1/proxies/{id}/config                    the config it acknowledged
//   GET    /api/v1/proxies/{id}/tap?after=N&seconds=S     taps the proxy for S s (default 30;
//          each call renews) and answers the requests it saw after event N (tap_store.h)
//   GET    /api/v1/services/{namespace}/{name}            describe: endpoints, routes, policies
//   GET    /api/v1/workloads/{namespace}/{name}           describe: mTLS per port, policies
//   GET    /api/v1/check/mtls?from=NS/NAME|external&to=NS/NAME&port=N
//   GET    /api/v1/ca, POST /api/v1/ca/rotate             the CA's status; a root rotation
//   GET    /api/v1/traces?service=S&limit=N&minDuration=D   the collector's traces, newest first
//   GET    /api/v1/traces/{traceId}                       one trace's spans, by start
//   POST   /v1/traces                                     span ingest, OTLP/HTTP JSON
//   POST   /api/v2/spans                                  span ingest, Zipkin v2 JSON
//   POST   /api/v1/dashboard/login                        a one-time sign-in code for a browser
//   GET    /, /assets/..., /login?code=C, /logout        the dashboard (dashboard_api.h)
// plus /healthz and /metrics, which need no credential. Every /api/ call needs
// "Authorization: Bearer <admin token>", except that a dashboard session may GET (not taps); the
// two ingest calls also take the collector token, which is refused everywhere else (403). Errors
// are JSON {"error": "<one line>"}.
//
// Transport-free (request in, response out) so that it is tested without sockets.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/join_tokens.h"
#include "store/resource_store.h"

namespace strait::control {

class DashboardApi;
class MeshHub;
class RootRotation;
class TraceApi;
class TrafficApi;
class TrafficStore;
class TraceStore;

struct ApiRequest {
  std::string_view method;
  std::string_view target;  // path and query, as received
  std::string_view authorization;
  std::string_view body;
  std::string_view content_type;      // the Content-Type field, "" when absent
  std::string_view content_encoding;  // the Content-Encoding field, "" when absent
  std::string_view cookie;            // the Cookie field, "" when absent
  std::string_view sec_fetch_site;    // the Sec-Fetch-Site field (browsers), "" when absent
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more fields (Set-Cookie, Location)
};

// A JSON answer (written with compact_json: it never throws), and the {"error": MESSAGE} that every
// failed call of the API answers.
[[nodiscard]] ApiResponse json_answer(int status, const nlohmann::json& body);
[[nodiscard]] ApiResponse error_answer(int status, const std::string& message);

class ConfigApi {
 public:
  ConfigApi(store::ResourceStore& store, std::string token,
            store::JoinTokenStore* join_tokens = nullptr);
  ~ConfigApi();

  // Connects the API to the push: every committed change is handed to `hub` (and the proxies'
  // status is served from it). Also hands it the current config at once.
  void set_mesh(MeshHub* hub);
  // Serves the CA's status and root rotation (GET /api/v1/ca, POST /api/v1/ca/rotate).
  void set_rotation(RootRotation* rotation) { rotation_ = rotation; }
  // Turns the trace collector on: spans ingested (with the admin token or `collector_token`, a
  // credential that allows nothing else) go to `store`, which the trace calls read.
  void set_collector(TraceStore* store, std::string collector_token);
  // Serves GET /api/v1/traffic and /api/v1/traffic/series from `store` (traffic_api.h).
  void set_traffic(const TrafficStore* store);
  // The dashboard's files, sign-in and sessions (dashboard_api.h).
  [[nodiscard]] DashboardApi& dashboard() { return *dashboard_; }
  [[nodiscard]] const std::string& collector_token() const { return collector_token_; }

  [[nodiscard]] ApiResponse handle(const ApiRequest& request);

 private:
  ApiResponse apply(const std::map<std::string, std::string>& query, std::string_view body);
  ApiResponse list(const std::map<std::string, std::string>& query);
  ApiResponse one(std::string_view method, std::string_view kind, std::string_view ns, std::string_view name);
  ApiResponse version();
  ApiResponse tokens(std::string_view method, std::string_view id, std::string_view body);
  ApiResponse metrics();
  ApiResponse proxies(std::string_view rest, const std::map<std::string, std::string>& query);
  ApiResponse tap(const std::string& proxy_id, const std::map<std::string, std::string>& query);
  ApiResponse service(std::string_view ns, std::string_view name);
  ApiResponse workload(std::string_view ns, std::string_view name);
  ApiResponse check_mtls(const std::map<std::string, std::string>& query);
  ApiResponse certificate_authority(std::string_view method, std::string_view rest);
  // The answer refusing a call under /api/ for want of a credential; nullopt: it may go on.
  [[nodiscard]] std::optional<ApiResponse> refusal(const ApiRequest& request,
                                                   std::string_view path) const;
  ApiResponse ingest(const ApiRequest& request, std::string_view path);
  ApiResponse traces(std::string_view method, std::string_view rest,
                     const std::map<std::string, std::string>& query);
  void config_changed();

  store::ResourceStore& store_;
  std::string token_;
  store::JoinTokenStore* join_tokens_;
  MeshHub* hub_ = nullptr;
  RootRotation* rotation_ = nullptr;
  std::unique_ptr<TraceApi> traces_;  // null until set_collector
  std::unique_ptr<TrafficApi> traffic_;  // null until set_traffic
  std::unique_ptr<DashboardApi> dashboard_;
  std::string collector_token_;
  std::map<int, std::uint64_t> responses_by_status_;
  std::uint64_t applies_ = 0;
  std::uint64_t rejected_applies_ = 0;
};

// The largest request body straitd accepts (413 beyond).
inline constexpr std::size_t kMaxApiBody = 4 * 1024 * 1024;

}  // namespace strait::control
