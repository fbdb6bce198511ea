// straitd's live traffic view, behind ConfigApi (which routes and authenticates the calls):
//   GET /api/v1/traffic?window=1m[&namespace=NS]
//       {"windowSeconds", "bucketSeconds", "services": [...], "edges": [...]}: per service and per
//       edge (caller workload -> service and workload), requests per second, failure share, 4xx
//       count, p50/p95/p99 in ms (null without requests) and whether every call was mTLS
//   GET /api/v1/traffic/series?service=HOST&window=5m
//       {"service", "bucketSeconds", "points": [{"start", "rps", "failureShare", "p99Ms"}]}
// The window is 10s to 15m (default 1m), in whole buckets of 10 s that have ended.
#pragma once

#include <map>
#include <string>

#include "control/config_api.h"
#include "control/traffic_store.h"

namespace strait::control {

class TrafficApi {
 public:
  explicit TrafficApi(const TrafficStore& store) : store_(store) {}

  [[nodiscard]] ApiResponse summary(const std::map<std::string, std::string>& query) const;
  [[nodiscard]] ApiResponse series(const std::map<std::string, std::string>& query) const;

 private:
  const TrafficStore& store_;
};

}  // namespace strait::control
