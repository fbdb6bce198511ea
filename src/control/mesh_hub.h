// The heart of straitd's push: the registry of connected proxies, the compiled view, and what each
// proxy has been sent, acknowledged or refused.
//
// Threads: the discovery streams call attach/answer/detach from gRPC's threads; the store changes
// arrive on straitd's main thread (set_resources); pushes are compiled on the main thread, after a
// short debounce so that a burst of changes becomes one push. One mutex guards the state (this is
// the control plane, not the request path); nothing calls into gRPC while holding it.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "control/mesh_diagnosis.h"
#include "control/tap_store.h"
#include "control/traffic_store.h"
#include "control/view_compiler.h"
#include "store/resource_store.h"
#include "strait/mesh/v1/mesh.pb.h"

namespace strait::control {

// One proxy's discovery stream, as the hub sees it. Implementations are thread-safe; send() after
// the stream ended does nothing.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Queues a push; a push still queued (not yet written) is replaced: proxies only need the latest.
  virtual void send(mesh::v1::DiscoveryResponse response) = 0;
  // Ends the stream with an error status (a newer stream of the same proxy replaced it).
  virtual void close(const std::string& reason) = 0;
  // Queues a tap control (tap for `seconds`, 0: stop); false when the stream has ended. It never
  // replaces a queued push, nor a push it: a newer control replaces an older one still queued.
  virtual bool send_tap(std::uint32_t seconds) = 0;
};

struct MeshHubOptions {
  std::chrono::milliseconds debounce{20};    // changes within this window become one push
  std::chrono::milliseconds grace{15'000};   // a proxy whose stream ended stays an endpoint this long
  std::chrono::milliseconds warmup{0};       // after a restart: let proxies reconnect before pushing
};

class MeshHub {
 public:
  // `signer_key_id`: the CA certificate signing leaves now, named in every view's TrustBundle.
  MeshHub(asio::io_context& main_io, std::string trust_bundle_pem, std::string trust_domain,
          MeshHubOptions options, std::string signer_key_id = {});
  ~MeshHub();
  MeshHub(const MeshHub&) = delete;
  MeshHub& operator=(const MeshHub&) = delete;

  // Main thread: the stored config changed; `resources` is all of it.
  void set_resources(std::vector<store::StoredResource> resources);
  // Any thread: the CA's trust bundle or signer changed (a root rotation step); pushed to every
  // proxy.
  void set_trust(std::string trust_bundle_pem, std::string signer_key_id);
  // Any thread: where proxies send their spans (every view carries it); pushed to every proxy.
  void set_telemetry(mesh::v1::TelemetryEndpoints endpoints);

  // A root rotation's progress (any thread): the registered proxies (connected or within the grace
  // period) that have not acknowledged a view carrying exactly `bundle_pem`, and those whose
  // certificate was not signed by `key_id`.
  [[nodiscard]] std::vector<std::string> proxies_without_bundle(
      const std::string& bundle_pem) const;
  [[nodiscard]] std::vector<std::string> proxies_not_signed_by(const std::string& key_id) const;

  // gRPC threads. attach registers the proxy of a new stream (its first message), returning its
  // proxy id; it refuses a node whose namespace or service account differs from its certificate's.
  [[nodiscard]] std::expected<std::string, std::string> attach(const std::shared_ptr<StreamSink>& sink,
                                                               const mesh::v1::Node& node,
                                                               const std::string& identity);
  // An ACK, a NACK, or a status update (certificate expiry) on an attached stream.
  void answer(const StreamSink* sink, const mesh::v1::DiscoveryRequest& request);
  void detach(const StreamSink* sink);
  // A traffic report on an attached stream, recorded in the store set by set_traffic (if any).
  void report_traffic(const StreamSink* sink, const mesh::v1::TrafficReport& report);
  // Where traffic reports go (set once, before streams are served; it outlives the hub's streams).
  void set_traffic(TrafficStore* store) { traffic_ = store; }
  // A tap batch on an attached stream (the requests a tapped proxy saw), kept for the readers.
  void report_tap(const StreamSink* sink, const mesh::v1::TapBatch& batch);
  // For the REST API (any thread): taps the proxy for `lease` from now (each call renews it) and
  // returns its events numbered above `after` (none without: where the newest is; tap_store.h). A
  // null json when there is no such proxy; an error when it is not connected or cannot be tapped.
  [[nodiscard]] std::expected<nlohmann::json, std::string> tap_json(
      const std::string& proxy_id, std::optional<std::uint64_t> after, std::chrono::seconds lease,
      std::size_t limit);

  // For the REST API (any thread).
  [[nodiscard]] nlohmann::json proxies_json() const;
  // nullopt-like: a null json when no such proxy.
  [[nodiscard]] nlohmann::json proxy_json(const std::string& proxy_id) const;
  // The view the proxy last acknowledged: the config it holds.
  [[nodiscard]] nlohmann::json proxy_config_json(const std::string& proxy_id) const;
  // A service's ports and endpoints with their health, from the current view; null when unknown.
  [[nodiscard]] nlohmann::json service_json(const std::string& ns, const std::string& name) const;
  // A workload's effective mTLS per port and the policies that select it; null when unknown.
  [[nodiscard]] nlohmann::json workload_json(const std::string& ns, const std::string& name) const;
  // check_mtls (mesh_diagnosis.h) over the current registry and config.
  [[nodiscard]] std::expected<nlohmann::json, std::string> mtls_check_json(
      const std::optional<WorkloadRef>& from, const WorkloadRef& to, std::uint16_t port) const;
  [[nodiscard]] std::string metrics_text() const;
  void count_certificate(bool issued);

 private:
  struct ProxyState;
  void schedule_push();             // any thread
  void push();                      // main thread
  void expire_disconnected();       // main thread, every second
  [[nodiscard]] nlohmann::json status_of(const ProxyState& proxy) const;
  [[nodiscard]] std::vector<RegisteredWorkload> registered_workloads() const;  // under mutex_
  // The id of the proxy whose stream `sink` is; "" when none (takes mutex_).
  [[nodiscard]] std::string proxy_id_of(const StreamSink* sink) const;

  asio::io_context& io_;
  asio::steady_timer debounce_timer_;
  asio::steady_timer grace_timer_;
  std::string trust_bundle_pem_;  // under mutex_
  std::string signer_key_id_;     // under mutex_
  mesh::v1::TelemetryEndpoints telemetry_;  // under mutex_
  TrafficStore* traffic_ = nullptr;         // thread-safe itself
  TapStore taps_;                           // thread-safe itself
  const std::string trust_domain_;
  const MeshHubOptions options_;
  const std::chrono::steady_clock::time_point started_;

  mutable std::mutex mutex_;
  std::vector<store::StoredResource> resources_;
  std::map<std::string, std::unique_ptr<ProxyState>> proxies_;  // by proxy id
  bool push_scheduled_ = false;
  std::uint64_t generation_ = 0;      // bumped when the compiled view changes
  std::shared_ptr<const std::string> view_bytes_;  // the current view, serialized (for comparison)
  std::shared_ptr<const std::vector<mesh::v1::Resource>> view_;
  std::vector<std::string> pieces_;   // each resource of view_, serialized
  std::vector<ResourceReach> reach_;  // who sees each resource of view_
  std::uint64_t nonce_counter_ = 0;
  std::uint64_t pushes_ = 0;
  std::uint64_t acks_ = 0;
  std::uint64_t nacks_ = 0;
  std::uint64_t certificates_issued_ = 0;
  std::uint64_t certificates_refused_ = 0;
  std::uint64_t streams_replaced_ = 0;
  std::vector<double> ack_latency_ms_;  // recent push-to-ACK latencies (bounded)
};

}  // namespace strait::control
