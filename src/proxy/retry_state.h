// One request's retries: how many its route's policy still allows, whether the destination's retry
// budget has room, and the backoff between tries. Shared by the HTTP/1 and HTTP/2 paths.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>

#include "proxy/retry_policy.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"

namespace strait::proxy {

class RetryState {
 public:
  using Clock = std::chrono::steady_clock;

  // Counts the request in its worker's load on `cluster` for as long as it lives (a null policy
  // or cluster: no retries, nothing counted).
  RetryState(Worker& worker, const RetryPolicy* policy, const ResolvedCluster* cluster);
  ~RetryState();
  RetryState(const RetryState&) = delete;
  RetryState& operator=(const RetryState&) = delete;

  // Whether to try again after a try that got no response head, or got a response the policy
  // retries: the policy covers it, tries remain, the budget admits it (a request holds its retry
  // slot until it ends) and its backoff ends before `deadline`. When so, waits out the backoff.
  asio::awaitable<bool> again(AttemptFailure failure, Clock::time_point deadline);
  asio::awaitable<bool> again_for_response(Clock::time_point deadline);

  [[nodiscard]] int retries() const { return retries_; }

 private:
  asio::awaitable<bool> admit(Clock::time_point deadline);

  Worker& worker_;
  const RetryPolicy* policy_;
  RetryLoad* load_ = nullptr;
  const RetryBudget* budget_ = nullptr;
  const ResolvedCluster* cluster_ = nullptr;
  CircuitSlot retry_slot_;  // a unit of the cluster's connectionPool.http.maxRetries
  int retries_ = 0;
  bool holds_retry_slot_ = false;
};

}  // namespace strait::proxy
