// The demo's mesh: which workloads run, what each sample instance is told to do, and the config
// applied to them (a canary split, retries, an ejected flaky instance, an authorization policy,
// STRICT mTLS). Data only; `straitctl demo` (demo.cc) starts it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace strait::ctl {

inline constexpr std::string_view kDemoNamespace = "demo";
inline constexpr int kDemoHttpPort = 8080;  // every service's HTTP port
inline constexpr int kDemoGrpcPort = 9090;  // reviews' gRPC port

struct DemoWorkload {
  std::string name;                // workload name, e.g. "catalog-v2"
  std::string app;                 // the service it serves ("" for a pure client) and its app label
  std::string version;             // version label
  std::string service_account;     // its identity: spiffe://cluster.local/ns/demo/sa/<this>
  bool serves_grpc = false;        // also serves <app>:9090 over gRPC
  std::vector<std::string> calls;  // http://SERVICE.demo:PORT/PATH, or grpc://SERVICE.demo:PORT
  int latency_ms = 0;
  double fail_percent = 0;
  double generate_per_second = 0;  // > 0: a traffic generator, started last, serving nothing
};

[[nodiscard]] const std::vector<DemoWorkload>& demo_workloads();

// The Istio resources of the demo (YAML, several documents), applied before the workloads start.
[[nodiscard]] std::string_view demo_config_yaml();

}  // namespace strait::ctl
