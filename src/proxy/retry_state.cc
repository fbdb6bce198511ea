#include "proxy/retry_state.h"

#include "net/sleep.h"

namespace strait::proxy {

RetryState::RetryState(Worker& worker, const RetryPolicy* policy, const ResolvedCluster* cluster)
    : worker_(worker), policy_(policy) {
  if (policy_ == nullptr || cluster == nullptr || policy_->attempts <= 0) return;
  cluster_ = cluster;
  load_ = &worker_.retry_load(cluster->name);
  budget_ = &cluster->settings->retry_budget;
  ++load_->active_requests;
  load_->count_first_try(*budget_, Clock::now());
}

RetryState::~RetryState() {
  if (load_ == nullptr) return;
  --load_->active_requests;
  if (holds_retry_slot_) --load_->active_retries;
}

asio::awaitable<bool> RetryState::again(AttemptFailure failure, Clock::time_point deadline) {
  if (policy_ == nullptr || !retriable(*policy_, failure)) co_return false;
  co_return co_await admit(deadline);
}

asio::awaitable<bool> RetryState::again_for_response(Clock::time_point deadline) {
  co_return co_await admit(deadline);
}

asio::awaitable<bool> RetryState::admit(Clock::time_point deadline) {
  if (load_ == nullptr || retries_ >= policy_->attempts) co_return false;
  const auto wait = retry_backoff(*policy_, retries_ + 1, worker_.random());
  if (deadline != Clock::time_point::max() && Clock::now() + wait >= deadline) co_return false;
  // The in-flight budget admits a request's retries once (it keeps its slot until it ends); a
  // budget over an interval counts every retry, so each one asks.
  if (!holds_retry_slot_ || budget_->interval.count() > 0) {
    if (!load_->admits_retry(*budget_, Clock::now())) {
      worker_.stats().retry_budget_exhausted.add();
      co_return false;
    }
  }
  if (!holds_retry_slot_) {
    retry_slot_ = CircuitSlot(cluster_->circuit->retries, cluster_->pool().max_retries);
    if (!retry_slot_.held()) {
      worker_.stats().retry_overflows.add();
      co_return false;
    }
    holds_retry_slot_ = true;
    ++load_->active_retries;
  }
  ++retries_;
  load_->count_retry(*budget_, Clock::now());
  worker_.stats().request_retries.add();
  if (wait.count() > 0) co_await net::sleep_for(wait);
  co_return true;
}

}  // namespace strait::proxy
