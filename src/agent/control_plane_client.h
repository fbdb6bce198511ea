// The proxy's side of straitd's gRPC port: its identity (a key made here, a CSR sent, renewals at
// half-life) and its config (the discovery stream: register, apply each pushed view, ACK or NACK).
//
// Threads: three of its own, beside the proxy's main thread and workers. The discovery thread holds
// the stream (blocking gRPC calls), hands each view to the main thread and waits for the verdict;
// the identity thread sleeps until the certificate's half-life, then renews it; the report
// thread writes a traffic report on the stream every 5 s (traffic_report.h) and, while straitd
// taps the proxy, the requests it saw every 250 ms (request_tap.h, tap_report.h). None touches
// the data path: new config and certificates reach the workers as snapshots, as from files.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "proxy/config.h"
#include "tls/credentials.h"

namespace strait::proxy {
class ProxyServer;
}

namespace strait::agent {

struct ControlPlaneOptions {
  std::string address;        // straitd's gRPC HOST:PORT
  std::string ca_bundle_pem;  // verifies straitd
  std::string join_token;
  proxy::ProxyConfig base;    // from the flags
  std::string advertise_address;  // HOST:PORT other sidecars dial ("" : the bound inbound address)
};

class ControlPlaneClient {
 public:
  explicit ControlPlaneClient(ControlPlaneOptions options);
  ~ControlPlaneClient();
  ControlPlaneClient(const ControlPlaneClient&) = delete;
  ControlPlaneClient& operator=(const ControlPlaneClient&) = delete;

  // The first certificate, with the join token. Retries (jittered backoff) while straitd cannot be
  // reached, until `give_up_after`; a refusal (bad token, bad CSR) fails at once.
  [[nodiscard]] std::expected<tls::Credentials, std::string> first_certificate(std::chrono::seconds give_up_after);

  // Starts the discovery and identity threads for a started server.
  void start(proxy::ProxyServer& server);
  // Ends both threads soon, telling straitd the proxy is leaving (thread-safe, does not block);
  // the destructor joins them.
  void request_stop();

 private:
  struct State;
  void discovery_loop();
  void identity_loop();
  void report_loop();
  void renew_until_stopped();
  void farewell();
  std::unique_ptr<State> state_;
  std::thread discovery_thread_;
  std::thread identity_thread_;
  std::thread report_thread_;
};

}  // namespace strait::agent
