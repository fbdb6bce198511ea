#include "proxy/outlier_detection.h"

#include <algorithm>

#include "proxy/snapshot.h"
#include "proxy/stats.h"

namespace strait::proxy {

OutlierTracker::ServiceHealth* OutlierTracker::find(const ResolvedCluster& cluster) {
  auto it = services_.find(cluster.name);
  return it == services_.end() ? nullptr : &it->second;
}

void OutlierTracker::return_expired(ServiceHealth& health, Clock::time_point now) {
  if (now < health.next_return) return;
  health.next_return = Clock::time_point::max();
  health.ejected = 0;
  for (auto& [address, endpoint] : health.endpoints) {
    if (endpoint.ejected_until == Clock::time_point{}) continue;
    if (endpoint.ejected_until <= now) {
      // Back in the pool with a clean slate; its ejection count decays while it stays healthy.
      endpoint.healthy_since = endpoint.ejected_until;
      endpoint.ejected_until = {};
      endpoint.consecutive_5xx = endpoint.consecutive_gateway = endpoint.consecutive_local = 0;
    } else {
      ++health.ejected;
      health.next_return = std::min(health.next_return, endpoint.ejected_until);
    }
  }
}

bool OutlierTracker::ejecting(const ResolvedCluster& cluster, Clock::time_point now) {
  const auto& policy = cluster.settings->outlier;
  if (!policy) return false;
  ServiceHealth* health = find(cluster);
  if (health == nullptr || health->ejected == 0) return false;
  return_expired(*health, now);
  if (health->ejected == 0) return false;
  const double total = static_cast<double>(cluster.set->members.size());
  const double healthy = total - static_cast<double>(health->ejected);
  return healthy > 0 && healthy * 100.0 >= policy->min_health_percent * total;
}

bool OutlierTracker::ejected(const ResolvedCluster& cluster, std::size_t index,
                             Clock::time_point now) {
  ServiceHealth* health = find(cluster);
  if (health == nullptr) return false;
  auto it = health->endpoints.find(cluster.service->endpoint_names[index]);
  return it != health->endpoints.end() && it->second.ejected_until > now;
}

void OutlierTracker::maybe_eject(const ResolvedCluster& cluster, ServiceHealth& health,
                                 EndpointHealth& endpoint, Clock::time_point now) {
  const OutlierPolicy& policy = *cluster.settings->outlier;
  const bool by_5xx = policy.consecutive_5xx > 0 && endpoint.consecutive_5xx >= policy.consecutive_5xx;
  const bool by_gateway = policy.consecutive_gateway > 0 && endpoint.consecutive_gateway >= policy.consecutive_gateway;
  const bool by_local = policy.split_local_origin && policy.consecutive_local_origin > 0 &&
                        endpoint.consecutive_local >= policy.consecutive_local_origin;
  if (!(by_5xx || by_gateway || by_local) || endpoint.ejected_until > now) return;
  return_expired(health, now);
  // maxEjectionPercent, but one endpoint may always be ejected (as Envoy does).
  const double total = static_cast<double>(cluster.set->members.size());
  const auto allowed = std::max<std::uint32_t>(1, static_cast<std::uint32_t>(total * policy.max_ejection_percent / 100.0));
  if (health.ejected >= allowed) return;
  // The multiplier decays by one for each interval the endpoint stayed healthy since it returned.
  if (endpoint.ejections > 0 && endpoint.healthy_since != Clock::time_point{} && policy.interval.count() > 0) {
    const auto healthy_intervals = static_cast<std::uint32_t>((now - endpoint.healthy_since) / policy.interval);
    endpoint.ejections -= std::min(endpoint.ejections, healthy_intervals);
  }
  ++endpoint.ejections;
  endpoint.ejected_until = now + policy.base_ejection * endpoint.ejections;
  endpoint.consecutive_5xx = endpoint.consecutive_gateway = endpoint.consecutive_local = 0;
  ++health.ejected;
  health.next_return = std::min(health.next_return, endpoint.ejected_until);
  stats_.outlier_ejections.add();
}

void OutlierTracker::record_status(const ResolvedCluster& cluster, std::size_t index, int status,
                                   Clock::time_point now) {
  if (!cluster.settings->outlier) return;
  const bool error = status >= 500;
  ServiceHealth* health = find(cluster);
  if (!error && health == nullptr) return;  // nothing to reset
  if (health == nullptr) health = &services_[cluster.name];
  auto& endpoint = health->endpoints[cluster.service->endpoint_names[index]];
  if (!error) {
    endpoint.consecutive_5xx = endpoint.consecutive_gateway = endpoint.consecutive_local = 0;
    return;
  }
  ++endpoint.consecutive_5xx;
  if (status == 502 || status == 503 || status == 504) {
    ++endpoint.consecutive_gateway;
  } else {
    endpoint.consecutive_gateway = 0;
  }
  maybe_eject(cluster, *health, endpoint, now);
}

void OutlierTracker::record_local_failure(const ResolvedCluster& cluster, std::size_t index,
                                          Clock::time_point now) {
  if (!cluster.settings->outlier) return;
  auto& health = services_[cluster.name];
  auto& endpoint = health.endpoints[cluster.service->endpoint_names[index]];
  if (cluster.settings->outlier->split_local_origin) {
    ++endpoint.consecutive_local;
  } else {
    // Counted as a gateway error (and so as a 5xx), as Envoy does without the split.
    ++endpoint.consecutive_5xx;
    ++endpoint.consecutive_gateway;
  }
  maybe_eject(cluster, health, endpoint, now);
}

}  // namespace strait::proxy
