#include "proxy/worker.h"

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>

namespace strait::proxy {

Worker::Worker(int index) : index_(index), rng_(std::random_device{}()) {
  label_buffer_.reserve(2 * kMaxSeriesLabels);
}

Worker::~Worker() {
  stop();
  // Sockets must go before the io_context they are registered with (io_ is destroyed first).
  pool_.clear();
  acceptors_.clear();
  h2_upstreams_.clear();
}

void Worker::set_snapshot(std::shared_ptr<const Snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  std::erase_if(endpoint_requests_, [](const auto& entry) { return entry.second == 0; });
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(retry_loads_, [&](const auto& entry) {
    return entry.second.active_requests == 0 && !entry.second.window_matters(now);
  });
}

void Worker::begin_drain() {
  draining_ = true;
  for (auto& acceptor : acceptors_) {
    std::error_code ignored;
    acceptor->close(ignored);
  }
  for (TrackedConnection* c : tracked_) {
    if (c->on_drain) {
      c->on_drain();
    } else if (c->idle) {
      c->stream->cancel();
    }
  }
  for (auto& [key, connection] : h2_upstreams_) connection->shutdown_gracefully();
  pool_.clear();
}

std::int64_t Worker::active_connections() const {
  std::int64_t total = 0;
  for (const auto& l : stats_.listeners) total += l.connections_active.value();
  return total;
}

void Worker::start() {
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
}

void Worker::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace strait::proxy
