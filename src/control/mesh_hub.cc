#include "control/mesh_hub.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/ip/address.hpp>
#include <asio/post.hpp>
#include <nlohmann/json.hpp>

#include "common/host_name.h"
#include "common/time_text.h"
#include "config/proto_yaml.h"
#include "proxy/bootstrap.h"
#include "tls/spiffe_id.h"

namespace strait::control {
namespace {

using json = nlohmann::json;
constexpr std::size_t kLatencySamples = 1024;

// Deterministic bytes of one resource (map fields in key order, length-prefixed), so that equal
// views compare equal as concatenations.
std::string resource_bytes(const mesh::v1::Resource& resource) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    coded.WriteVarint64(resource.ByteSizeLong());
    resource.SerializeWithCachedSizes(&coded);
  }
  return out;
}

std::string bundle_of(const std::vector<mesh::v1::Resource>& view) {
  for (const auto& r : view) {
    mesh::v1::TrustBundle bundle;
    if (r.body().Is<mesh::v1::TrustBundle>() && r.body().UnpackTo(&bundle)) return bundle.pem();
  }
  return {};
}

json resource_json(const mesh::v1::Resource& resource) {
  const std::string& url = resource.body().type_url();
  const std::string type = url.substr(url.rfind('/') + 1);
  json out = {{"type", type}, {"name", resource.name()}, {"namespace", resource.namespace_()}};
  const auto* descriptor = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  if (descriptor == nullptr) return out;
  const auto* prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor);
  std::unique_ptr<google::protobuf::Message> message(prototype->New());
  if (resource.body().UnpackTo(message.get())) out["spec"] = config::message_to_json(*message);
  return out;
}

}  // namespace

struct MeshHub::ProxyState {
  std::string id;
  RegisteredWorkload workload;
  std::shared_ptr<StreamSink> sink;  // null while disconnected
  std::chrono::system_clock::time_point connected_at;
  std::chrono::steady_clock::time_point disconnected_at;
  // The last push.
  std::string sent_version;
  std::string sent_nonce;
  std::chrono::steady_clock::time_point sent_at;
  std::shared_ptr<const std::string> sent_bytes;
  std::shared_ptr<const std::vector<mesh::v1::Resource>> sent_view;
  std::string sidecar;  // the Sidecar resource that scoped it ("" : none)
  // The last push acknowledged (the config the proxy holds).
  std::string acked_version;
  std::string acked_nonce;
  std::chrono::system_clock::time_point acked_at;
  std::shared_ptr<const std::vector<mesh::v1::Resource>> acked_view;
  double last_ack_latency_ms = 0;
  // The last refusal, while it concerns the latest push.
  std::string nacked_nonce;
  std::string nack_error;
  std::int64_t certificate_not_after = 0;
  std::string certificate_issuer_key_id;
  std::string acked_bundle;  // the trust bundle of acked_view
};

MeshHub::MeshHub(asio::io_context& main_io, std::string trust_bundle_pem, std::string trust_domain,
                 MeshHubOptions options, std::string signer_key_id)
    : io_(main_io),
      debounce_timer_(main_io),
      grace_timer_(main_io),
      trust_bundle_pem_(std::move(trust_bundle_pem)),
      signer_key_id_(std::move(signer_key_id)),
      trust_domain_(std::move(trust_domain)),
      options_(options),
      started_(std::chrono::steady_clock::now()) {
  expire_disconnected();
}

MeshHub::~MeshHub() = default;

void MeshHub::set_resources(std::vector<store::StoredResource> resources) {
  {
    std::lock_guard lock(mutex_);
    resources_ = std::move(resources);
  }
  schedule_push();
}

void MeshHub::schedule_push() {
  {
    std::lock_guard lock(mutex_);
    if (push_scheduled_) return;
    push_scheduled_ = true;
  }
  asio::post(io_, [this] {
    const auto warm = started_ + options_.warmup;
    const auto now = std::chrono::steady_clock::now();
    debounce_timer_.expires_at(std::max(now + options_.debounce, warm));
    debounce_timer_.async_wait([this](std::error_code ec) {
      if (!ec) push();
    });
  });
}

void MeshHub::push() {
  std::vector<std::pair<std::shared_ptr<StreamSink>, mesh::v1::DiscoveryResponse>> out;
  {
    std::lock_guard lock(mutex_);
    push_scheduled_ = false;
    std::vector<RegisteredWorkload> workloads;
    workloads.reserve(proxies_.size());
    for (const auto& [id, proxy] : proxies_) workloads.push_back(proxy->workload);
    auto resources =
        compile_view({&resources_, &workloads, trust_bundle_pem_, trust_domain_, signer_key_id_,
                      telemetry_.collector_url().empty() ? nullptr : &telemetry_});
    std::vector<std::string> pieces;
    pieces.reserve(resources.size());
    std::string bytes;
    for (const auto& r : resources) {
      pieces.push_back(resource_bytes(r));
      bytes += pieces.back();
    }
    if (!view_bytes_ || *view_bytes_ != bytes) {
      ++generation_;
      view_bytes_ = std::make_shared<const std::string>(std::move(bytes));
      reach_ = reach_of(resources);
      view_ = std::make_shared<const std::vector<mesh::v1::Resource>>(std::move(resources));
      pieces_ = std::move(pieces);
    }
    const std::string version = "v" + std::to_string(generation_);
    const auto now = std::chrono::steady_clock::now();
    std::size_t sent_resources = 0;
    for (auto& [id, proxy] : proxies_) {
      if (!proxy->sink) continue;
      // The proxy's part of the view: what is exported to its namespace and its Sidecar names.
      const auto& node = proxy->workload.node;
      const EgressScope scope = egress_scope(node, resources_);
      auto view = std::make_shared<std::vector<mesh::v1::Resource>>();
      std::string proxy_bytes;
      for (std::size_t i = 0; i < view_->size(); ++i) {
        if (!visible_to(reach_[i], node, scope)) continue;
        view->push_back((*view_)[i]);
        proxy_bytes += pieces_[i];
      }
      if (proxy->sent_bytes && *proxy->sent_bytes == proxy_bytes) continue;
      mesh::v1::DiscoveryResponse response;
      response.set_version_info(version);
      response.set_nonce("n" + std::to_string(++nonce_counter_));
      for (const auto& r : *view) *response.add_resources() = r;
      sent_resources += view->size();
      proxy->sent_version = version;
      proxy->sent_nonce = response.nonce();
      proxy->sent_at = now;
      proxy->sent_bytes = std::make_shared<const std::string>(std::move(proxy_bytes));
      proxy->sent_view = std::move(view);
      proxy->sidecar = scope.sidecar;
      ++pushes_;
      out.emplace_back(proxy->sink, std::move(response));
    }
    if (!out.empty())
      spdlog::info("push {}: {} resources to {} proxies ({} in the mesh's view)", version, sent_resources,
                   out.size(), view_->size());
  }
  for (auto& [sink, response] : out) sink->send(std::move(response));
}

namespace {

// What every other proxy will be told about this workload must be usable by all of them: one bad
// registration must not make the whole mesh's view unusable.
std::expected<void, std::string> check_node(const mesh::v1::Node& node) {
  if (node.workload().empty() || node.workload().size() > 253 ||
      !std::ranges::all_of(node.workload(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
      }))
    return std::unexpected("node.workload '" + node.workload() + "' must be lower-case letters, digits, '-' and '.'");
  auto address = proxy::parse_host_port(node.inbound_address());
  std::error_code ec;
  const auto ip = address ? asio::ip::make_address(address->host, ec) : asio::ip::address();
  if (!address || ec || address->port == 0)
    return std::unexpected("node.inbound_address '" + node.inbound_address() + "' must be IP:PORT");
  if (ip.is_unspecified())
    return std::unexpected("node.inbound_address " + node.inbound_address() +
                           " is not an address other sidecars can dial: start the proxy with --advertise-addr IP:PORT");
  for (const auto& port : node.ports()) {
    if (!is_dns_label(port.service()))
      return std::unexpected("node.ports: service name '" + port.service() + "' is not a DNS label");
    if (port.port() == 0 || port.port() > 65535)
      return std::unexpected("node.ports: " + port.service() + ": port " + std::to_string(port.port()) + " is out of range");
    if (!proxy::parse_protocol(port.protocol()))
      return std::unexpected("node.ports: " + port.service() + ": unknown protocol '" + port.protocol() + "'");
  }
  return {};
}

}  // namespace

std::expected<std::string, std::string> MeshHub::attach(const std::shared_ptr<StreamSink>& sink,
                                                        const mesh::v1::Node& node,
                                                        const std::string& identity) {
  auto spiffe = tls::parse_spiffe_id(identity);
  if (!spiffe) return std::unexpected("the client certificate has no valid SPIFFE ID");
  if (spiffe->trust_domain != trust_domain_)
    return std::unexpected("the client certificate " + identity + " is not of trust domain " + trust_domain_);
  if (node.namespace_() != spiffe->ns || node.service_account() != spiffe->service_account) {
    return std::unexpected("node namespace/service account " + node.namespace_() + "/" +
                           node.service_account() + " differ from the certificate's identity " + identity);
  }
  if (auto ok = check_node(node); !ok) return std::unexpected(ok.error());
  const std::string id = node.workload() + "." + node.namespace_();
  std::shared_ptr<StreamSink> replaced;
  {
    std::lock_guard lock(mutex_);
    auto& slot = proxies_[id];
    if (slot && slot->sink) {
      // A live registration is only replaced by the same instance reconnecting (same identity and
      // address): another identity, or a second instance with the same name, is refused.
      const auto& live = slot->workload;
      if (live.identity != identity)
        return std::unexpected("proxy " + id + " is registered by " + live.identity + ", not " + identity);
      if (live.node.inbound_address() != node.inbound_address())
        return std::unexpected("proxy " + id + " is already connected from " + live.node.inbound_address() +
                               ": give each instance its own --workload name");
    }
    if (!slot) slot = std::make_unique<ProxyState>();
    ProxyState& proxy = *slot;
    if (proxy.sink) {
      replaced = std::move(proxy.sink);
      ++streams_replaced_;
    }
    proxy.id = id;
    proxy.workload = {id, node, identity};
    proxy.sink = sink;
    taps_.stream_changed(id);  // a new stream starts untapped
    proxy.connected_at = std::chrono::system_clock::now();
    proxy.sent_bytes.reset();  // a new stream gets the whole view
    proxy.nack_error.clear();
  }
  if (replaced) replaced->close("replaced by a newer stream of proxy " + id);
  spdlog::info("proxy {} connected ({}, {})", id, identity, node.inbound_address());
  schedule_push();
  return id;
}

void MeshHub::answer(const StreamSink* sink, const mesh::v1::DiscoveryRequest& request) {
  if (request.leaving()) {
    {
      std::lock_guard lock(mutex_);
      auto it = std::ranges::find_if(proxies_, [&](const auto& entry) { return entry.second->sink.get() == sink; });
      if (it == proxies_.end()) return;
      spdlog::info("proxy {} is draining: removed from the registry", it->first);
      proxies_.erase(it);
    }
    schedule_push();
    return;
  }
  std::lock_guard lock(mutex_);
  auto it = std::ranges::find_if(proxies_, [&](const auto& entry) { return entry.second->sink.get() == sink; });
  if (it == proxies_.end()) return;
  ProxyState& proxy = *it->second;
  if (request.certificate_not_after_unix() > 0) proxy.certificate_not_after = request.certificate_not_after_unix();
  if (!request.certificate_issuer_key_id().empty())
    proxy.certificate_issuer_key_id = request.certificate_issuer_key_id();
  if (request.response_nonce().empty() || request.response_nonce() != proxy.sent_nonce) return;  // status, or stale
  if (!request.error_detail().empty()) {
    ++nacks_;
    proxy.nacked_nonce = request.response_nonce();
    proxy.nack_error = request.error_detail();
    spdlog::warn("proxy {} refused {} (keeps {}): {}", proxy.id, proxy.sent_version, request.version_info(),
                 request.error_detail());
    return;
  }
  ++acks_;
  proxy.acked_version = request.version_info();
  proxy.acked_nonce = request.response_nonce();
  proxy.acked_at = std::chrono::system_clock::now();
  proxy.acked_view = proxy.sent_view;
  proxy.acked_bundle = proxy.acked_view ? bundle_of(*proxy.acked_view) : std::string();
  proxy.nack_error.clear();
  proxy.last_ack_latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - proxy.sent_at).count();
  if (ack_latency_ms_.size() >= kLatencySamples) ack_latency_ms_.erase(ack_latency_ms_.begin());
  ack_latency_ms_.push_back(proxy.last_ack_latency_ms);
}

std::string MeshHub::proxy_id_of(const StreamSink* sink) const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, proxy] : proxies_) {
    if (proxy->sink.get() == sink) return id;
  }
  return {};
}

void MeshHub::report_traffic(const StreamSink* sink, const mesh::v1::TrafficReport& report) {
  if (traffic_ == nullptr) return;
  const std::string proxy_id = proxy_id_of(sink);
  if (proxy_id.empty()) return;
  std::vector<TrafficSeries> series;
  series.reserve(static_cast<std::size_t>(report.series_size()));
  for (const auto& r : report.series()) {
    TrafficSeries s;
    s.reported_by_source = r.reporter() == "source";
    s.source_workload = r.source_workload();
    s.source_namespace = r.source_namespace();
    s.source_app = r.source_app();
    s.destination_service = r.destination_service();
    s.destination_workload = r.destination_workload();
    s.destination_namespace = r.destination_namespace();
    s.destination_app = r.destination_app();
    s.protocol = r.protocol();
    s.response_code = r.response_code();
    s.grpc_status = r.grpc_status();
    s.response_flags = r.response_flags();
    s.mutual_tls = r.mutual_tls();
    s.requests = r.requests();
    for (int i = 0; i < r.duration_buckets_size() && i < static_cast<int>(kDurationBucketCount);
         ++i)
      s.duration_buckets[static_cast<std::size_t>(i)] = r.duration_buckets(i);
    series.push_back(std::move(s));
  }
  traffic_->record(proxy_id, TrafficStore::Clock::now(), series);
}

void MeshHub::report_tap(const StreamSink* sink, const mesh::v1::TapBatch& batch) {
  const std::string proxy_id = proxy_id_of(sink);
  if (!proxy_id.empty()) taps_.record(proxy_id, batch, std::chrono::steady_clock::now());
}

std::expected<nlohmann::json, std::string> MeshHub::tap_json(const std::string& proxy_id,
                                                             std::optional<std::uint64_t> after,
                                                             std::chrono::seconds lease,
                                                             std::size_t limit) {
  std::shared_ptr<StreamSink> sink;
  std::string version;
  bool can_tap = false;
  {
    std::lock_guard lock(mutex_);
    auto it = proxies_.find(proxy_id);
    if (it == proxies_.end()) return nlohmann::json();
    sink = it->second->sink;
    const auto& node = it->second->workload.node;
    version = node.proxy_version();
    can_tap = std::ranges::find(node.capabilities(), std::string_view("tap")) !=
              node.capabilities().end();
  }
  if (sink == nullptr)
    return std::unexpected("proxy " + proxy_id +
                           " is not connected (its stream ended): it cannot be tapped now");
  // A proxy from before taps would take a TapControl for an empty view.
  if (!can_tap)
    return std::unexpected("proxy " + proxy_id + " runs strait-proxy " + version +
                           ", which cannot be tapped: upgrade it");
  const auto now = std::chrono::steady_clock::now();
  // Told outside the hub's lock (nothing calls into gRPC while holding it), and recorded as told
  // only when the control was queued on a stream that still runs.
  if (taps_.renew(proxy_id, lease, now) &&
      sink->send_tap(static_cast<std::uint32_t>(lease.count())))
    taps_.told(proxy_id, lease, now);
  const TapStore::Page page = taps_.after(proxy_id, after, limit);
  nlohmann::json events = nlohmann::json::array();
  for (const auto& [number, event] : page.events) events.push_back(tap_event_json(number, event));
  return nlohmann::json{{"proxy", proxy_id},     {"leaseSeconds", lease.count()},
                        {"next", page.next},     {"dropped", page.dropped},
                        {"missed", page.missed}, {"events", std::move(events)}};
}

void MeshHub::detach(const StreamSink* sink) {
  std::lock_guard lock(mutex_);
  for (auto& [id, proxy] : proxies_) {
    if (proxy->sink.get() != sink) continue;
    if (traffic_ != nullptr) traffic_->forget(id);  // a new stream starts a new baseline
    proxy->sink.reset();
    proxy->disconnected_at = std::chrono::steady_clock::now();
    spdlog::info("proxy {} disconnected; it stays an endpoint for {} ms unless it returns", id,
                 options_.grace.count());
  }
}

void MeshHub::expire_disconnected() {
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    for (auto it = proxies_.begin(); it != proxies_.end();) {
      if (!it->second->sink && now - it->second->disconnected_at > options_.grace) {
        spdlog::info("proxy {} removed from the registry (gone for longer than the grace period)", it->first);
        it = proxies_.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
  }
  if (changed) schedule_push();
  grace_timer_.expires_after(std::chrono::seconds(1));
  grace_timer_.async_wait([this](std::error_code ec) {
    if (!ec) expire_disconnected();
  });
}

void MeshHub::count_certificate(bool issued) {
  std::lock_guard lock(mutex_);
  (issued ? certificates_issued_ : certificates_refused_)++;
}

json MeshHub::status_of(const ProxyState& proxy) const {
  std::string status;
  if (!proxy.sink) status = "DISCONNECTED";
  else if (push_scheduled_) status = "STALE";  // a change is about to be pushed
  else if (!proxy.nack_error.empty() && proxy.nacked_nonce == proxy.sent_nonce) status = "NACKED";
  else if (!proxy.sent_nonce.empty() && proxy.acked_nonce == proxy.sent_nonce) status = "SYNCED";
  else status = "STALE";
  const auto& node = proxy.workload.node;
  json services = json::array();
  for (const auto& p : node.ports()) services.push_back(p.service() + ":" + std::to_string(p.port()));
  json out = {
      {"id", proxy.id},
      {"workload", node.workload()},
      {"namespace", node.namespace_()},
      {"serviceAccount", node.service_account()},
      {"identity", proxy.workload.identity},
      {"address", node.inbound_address()},
      {"labels", json(std::map<std::string, std::string>(node.labels().begin(), node.labels().end()))},
      {"services", services},
      {"proxyVersion", node.proxy_version()},
      {"status", status},
      {"sentVersion", proxy.sent_version},
      {"ackedVersion", proxy.acked_version},
      {"connectedAt", utc_iso8601(proxy.connected_at)},
  };
  if (proxy.sent_view) out["resources"] = proxy.sent_view->size();
  if (!proxy.sidecar.empty()) out["sidecar"] = proxy.sidecar;
  if (!proxy.nack_error.empty()) out["error"] = proxy.nack_error;
  if (!proxy.certificate_issuer_key_id.empty())
    out["certificateIssuerKeyId"] = proxy.certificate_issuer_key_id;
  if (proxy.certificate_not_after > 0) {
    out["certificateExpiry"] = utc_iso8601_from_unix(proxy.certificate_not_after);
    out["certificateExpiresInSeconds"] =
        proxy.certificate_not_after - std::chrono::duration_cast<std::chrono::seconds>(
                                          std::chrono::system_clock::now().time_since_epoch()).count();
  }
  if (!proxy.acked_version.empty()) {
    out["ackedAt"] = utc_iso8601(proxy.acked_at);
    out["lastPushToAckMs"] = proxy.last_ack_latency_ms;
  }
  return out;
}

json MeshHub::proxies_json() const {
  std::lock_guard lock(mutex_);
  json items = json::array();
  for (const auto& [id, proxy] : proxies_) items.push_back(status_of(*proxy));
  return {{"version", "v" + std::to_string(generation_)}, {"items", items}};
}

json MeshHub::proxy_json(const std::string& proxy_id) const {
  std::lock_guard lock(mutex_);
  auto it = proxies_.find(proxy_id);
  return it == proxies_.end() ? json() : status_of(*it->second);
}

json MeshHub::proxy_config_json(const std::string& proxy_id) const {
  std::lock_guard lock(mutex_);
  auto it = proxies_.find(proxy_id);
  if (it == proxies_.end()) return json();
  const ProxyState& proxy = *it->second;
  json resources = json::array();
  if (proxy.acked_view) {
    for (const auto& r : *proxy.acked_view) resources.push_back(resource_json(r));
  }
  return {{"id", proxy.id}, {"version", proxy.acked_version}, {"status", status_of(proxy)["status"]},
          {"resources", resources}};
}

json MeshHub::service_json(const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mutex_);
  if (!view_) return json();
  for (const auto& resource : *view_) {
    mesh::v1::MeshService service;
    if (resource.namespace_() != ns || resource.name() != name || !resource.body().UnpackTo(&service)) continue;
    json ports = json::array();
    for (const auto& p : service.ports()) ports.push_back({{"port", p.port()}, {"protocol", p.protocol()}});
    json endpoints = json::array();
    for (const auto& e : service.endpoints()) {
      std::string health = "no sidecar (plaintext)";
      if (e.mtls()) {
        auto it = proxies_.find(e.workload() + "." + ns);
        health = it == proxies_.end() ? "unknown" : it->second->sink ? "healthy" : "disconnected (grace period)";
      }
      endpoints.push_back({{"address", e.address()},
                           {"workload", e.workload()},
                           {"identity", e.identity()},
                           {"labels", json(std::map<std::string, std::string>(e.labels().begin(), e.labels().end()))},
                           {"health", health}});
    }
    return {{"name", service.name()}, {"namespace", service.namespace_()}, {"hostname", service.hostname()},
            {"ports", ports}, {"endpoints", endpoints}};
  }
  return json();
}

void MeshHub::set_trust(std::string trust_bundle_pem, std::string signer_key_id) {
  {
    std::lock_guard lock(mutex_);
    trust_bundle_pem_ = std::move(trust_bundle_pem);
    signer_key_id_ = std::move(signer_key_id);
  }
  schedule_push();
}

void MeshHub::set_telemetry(mesh::v1::TelemetryEndpoints endpoints) {
  {
    std::lock_guard lock(mutex_);
    telemetry_ = std::move(endpoints);
  }
  schedule_push();
}

std::vector<std::string> MeshHub::proxies_without_bundle(const std::string& bundle_pem) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [id, proxy] : proxies_) {
    if (!proxy->acked_view || proxy->acked_bundle != bundle_pem) out.push_back(id);
  }
  return out;
}

std::vector<std::string> MeshHub::proxies_not_signed_by(const std::string& key_id) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [id, proxy] : proxies_) {
    if (proxy->certificate_issuer_key_id != key_id) out.push_back(id);
  }
  return out;
}

std::vector<RegisteredWorkload> MeshHub::registered_workloads() const {
  std::vector<RegisteredWorkload> out;
  out.reserve(proxies_.size());
  for (const auto& [id, proxy] : proxies_) out.push_back(proxy->workload);
  return out;
}

json MeshHub::workload_json(const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mutex_);
  const auto workloads = registered_workloads();
  return describe_workload({&resources_, &workloads, view_.get()}, {ns, name});
}

std::expected<json, std::string> MeshHub::mtls_check_json(const std::optional<WorkloadRef>& from,
                                                          const WorkloadRef& to,
                                                          std::uint16_t port) const {
  std::lock_guard lock(mutex_);
  const auto workloads = registered_workloads();
  return check_mtls({&resources_, &workloads, view_.get()}, from, to, port);
}

std::string MeshHub::metrics_text() const {
  std::lock_guard lock(mutex_);
  std::size_t connected = 0;
  for (const auto& [id, proxy] : proxies_) connected += proxy->sink ? 1 : 0;
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, double value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  metric("straitd_proxies_connected", "gauge", "Proxies with a live discovery stream.", static_cast<double>(connected));
  metric("straitd_proxies_registered", "gauge", "Proxies in the registry (connected or within the grace period).",
         static_cast<double>(proxies_.size()));
  metric("straitd_config_generation", "gauge", "Generation of the compiled view.", static_cast<double>(generation_));
  metric("straitd_pushes_total", "counter", "Views pushed to proxies.", static_cast<double>(pushes_));
  metric("straitd_acks_total", "counter", "Pushes acknowledged.", static_cast<double>(acks_));
  metric("straitd_nacks_total", "counter", "Pushes refused by a proxy.", static_cast<double>(nacks_));
  metric("straitd_certificates_issued_total", "counter", "Workload certificates signed.",
         static_cast<double>(certificates_issued_));
  metric("straitd_certificates_refused_total", "counter", "Certificate requests refused.",
         static_cast<double>(certificates_refused_));
  metric("straitd_streams_replaced_total", "counter", "Streams closed because the proxy opened a newer one.",
         static_cast<double>(streams_replaced_));
  if (!ack_latency_ms_.empty()) {
    auto sorted = ack_latency_ms_;
    std::ranges::sort(sorted);
    out += "# HELP straitd_push_ack_latency_ms Push-to-ACK latency over the recent pushes.\n"
           "# TYPE straitd_push_ack_latency_ms summary\n";
    for (double q : {0.5, 0.99}) {
      const auto index = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1));
      out += fmt::format("straitd_push_ack_latency_ms{{quantile=\"{}\"}} {}\n", q, sorted[index]);
    }
  }
  return out;
}

}  // namespace strait::control
