// Per-worker counters. Each worker is the only writer of its own WorkerStats, so an increment is a
// relaxed load and store (no locked instruction); the admin thread reads them with relaxed loads and
// sums over workers when scraped.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "proxy/local_reply.h"

namespace strait::proxy {

class Counter {
 public:
  void add(std::uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void add(std::int64_t n) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  [[nodiscard]] std::int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

enum class ListenerKind : std::uint8_t { kOutbound, kInbound, kUpstreamBinding, kCount };
[[nodiscard]] std::string_view name_of(ListenerKind kind);

struct ListenerStats {
  Counter connections_total;
  Gauge connections_active;
  Counter requests_total;
  Counter tls_handshake_failures;   // inbound: refused clients (no/foreign certificate, not TLS 1.3)
  Counter plaintext_connections;    // inbound: connections that arrived without TLS
  Counter parse_errors;
  Counter tunnels_total;            // CONNECT, upgrades and opaque TCP
  Counter bytes_received;
  Counter bytes_sent;
};

struct WorkerStats {
  std::array<ListenerStats, static_cast<std::size_t>(ListenerKind::kCount)> listeners;
  std::array<Counter, static_cast<std::size_t>(LocalReason::kCount)> local_replies;
  Counter upstream_connections_total;
  Counter upstream_connect_failures;
  Counter upstream_identity_mismatches;
  Counter upstream_requests_total;
  Counter upstream_connections_reused;
  Counter upstream_retries;            // another endpoint or a fresh connection after a failure
  Counter fault_delays;                // requests held back by a route's fault.delay
  Counter request_retries;             // tries after the first, by the route's retry policy
  Counter retry_budget_exhausted;      // retries the policy wanted and the retry budget refused
  Counter retry_overflows;             // retries refused by connectionPool.http.maxRetries
  Counter route_timeouts;              // requests cut off by the route's timeout
  Counter per_try_timeouts;            // tries cut off by perTryTimeout
  Counter outlier_ejections;           // endpoints ejected by outlier detection
  Counter mirror_requests;             // copies sent to a route's mirrors
  Counter mirror_failures;             // copies that got no answer (or could not be sent)
  Counter mirror_skipped;              // requests not mirrored: their body was not held whole
  Counter rbac_denied;          // inbound requests and connections an AuthorizationPolicy denied
  Counter rbac_dry_run_denied;  // ... a dry-run policy would have denied (they were allowed)
  Counter rbac_audited;         // ... an AUDIT policy matched
  Counter jwt_refused;          // inbound requests refused for their JWT (401)

  ListenerStats& listener(ListenerKind kind) { return listeners[static_cast<std::size_t>(kind)]; }
  void count(LocalReason reason) { local_replies[static_cast<std::size_t>(reason)].add(); }
};

}  // namespace strait::proxy
