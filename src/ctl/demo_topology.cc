#include "ctl/demo_topology.h"

namespace strait::ctl {

// loadgen -> frontend -> catalog (v1 80% / v2 20%), inventory (two instances, one flaky), reviews
// (gRPC). scanner calls catalog directly, which only frontend may do.
const std::vector<DemoWorkload>& demo_workloads() {
  static const std::vector<DemoWorkload> workloads = {
      {.name = "catalog-v1",
       .app = "catalog",
       .version = "v1",
       .service_account = "catalog",
       .latency_ms = 5},
      {.name = "catalog-v2",
       .app = "catalog",
       .version = "v2",
       .service_account = "catalog",
       .latency_ms = 25},
      {.name = "inventory-1",
       .app = "inventory",
       .version = "v1",
       .service_account = "inventory",
       .latency_ms = 3},
      {.name = "inventory-2",
       .app = "inventory",
       .version = "v1",
       .service_account = "inventory",
       .latency_ms = 3,
       .fail_percent = 50},
      {.name = "reviews-v1",
       .app = "reviews",
       .version = "v1",
       .service_account = "reviews",
       .serves_grpc = true,
       .latency_ms = 10},
      {.name = "frontend-v1",
       .app = "frontend",
       .version = "v1",
       .service_account = "frontend",
       .calls = {"http://catalog.demo:8080/items", "http://inventory.demo:8080/stock",
                 "grpc://reviews.demo:9090"}},
      {.name = "loadgen",
       .app = "",
       .version = "v1",
       .service_account = "loadgen",
       .calls = {"http://frontend.demo:8080/"},
       .generate_per_second = 5},
      {.name = "scanner",
       .app = "",
       .version = "v1",
       .service_account = "scanner",
       .calls = {"http://catalog.demo:8080/admin"},
       .generate_per_second = 1},
  };
  return workloads;
}

std::string_view demo_config_yaml() {
  return R"(# strait demo: applied by `straitctl demo` before the workloads start.
# Every sidecar accepts mutual TLS only.
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: strait-system}
spec:
  mtls: {mode: STRICT}
---
# One call in ten is traced (Istio's default is 1%), so that the dashboard and straitctl traces
# have recent traces to show.
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: demo-tracing, namespace: demo}
spec:
  tracing:
  - providers: [{name: strait}]
    randomSamplingPercentage: 10
---
# The canary: 80% of catalog's traffic to v1, 20% to v2.
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: catalog, namespace: demo}
spec:
  host: catalog
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: catalog, namespace: demo}
spec:
  hosts: [catalog]
  http:
  - route:
    - {destination: {host: catalog, subset: v1}, weight: 80}
    - {destination: {host: catalog, subset: v2}, weight: 20}
---
# inventory-2 fails half its requests: retries hide it from callers, outlier detection ejects it.
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: inventory, namespace: demo}
spec:
  host: inventory
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 15s, maxEjectionPercent: 50}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: inventory, namespace: demo}
spec:
  hosts: [inventory]
  http:
  - route: [{destination: {host: inventory}}]
    retries: {attempts: 3, perTryTimeout: 1s, retryOn: "5xx,connect-failure"}
---
# Only frontend may call catalog: scanner's calls are refused with 403.
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: catalog-callers, namespace: demo}
spec:
  selector: {matchLabels: {app: catalog}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/demo/sa/frontend]}}]
)";
}

}  // namespace strait::ctl
