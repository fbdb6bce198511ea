#include "proxy/upstream_pool.h"

#include <poll.h>

namespace strait::proxy {
namespace {

constexpr auto kTrustedIdle = std::chrono::milliseconds(50);

// An idle connection must have nothing to read: readable means the peer closed it (EOF or reset)
// or sent bytes we did not ask for; either way it is not safe to send a request on it.
bool still_usable(UpstreamConnection& c) {
  if (!c.stream.is_open()) return false;
  pollfd p{.fd = c.stream.socket().native_handle(), .events = POLLIN | POLLRDHUP, .revents = 0};
  return ::poll(&p, 1, 0) == 0;
}

}  // namespace

std::unique_ptr<UpstreamConnection> UpstreamPool::take(const std::string& key,
                                                       std::chrono::milliseconds max_idle) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  const auto now = std::chrono::steady_clock::now();
  auto& list = it->second;
  while (!list.empty()) {
    auto connection = std::move(list.back());
    list.pop_back();
    // Checking for a peer close costs a syscall; a connection idle for only a few milliseconds is
    // taken as is (a close racing with reuse is retried for safe requests, see HttpSession).
    const auto idle = now - connection->idle_since;
    if (idle < max_idle && (idle < kTrustedIdle || still_usable(*connection))) {
      connection->reused = true;
      return connection;
    }
    connection->stream.close();
  }
  return nullptr;
}

void UpstreamPool::give_back(std::unique_ptr<UpstreamConnection> connection,
                             std::size_t max_per_key) {
  auto& list = idle_[connection->key];
  if (list.size() >= max_per_key || !connection->buffer.empty()) {
    connection->stream.close();
    return;
  }
  connection->buffer.shrink_if_idle(0);
  connection->idle_since = std::chrono::steady_clock::now();
  list.push_back(std::move(connection));
}

void UpstreamPool::clear() {
  for (auto& [key, list] : idle_) {
    for (auto& c : list) c->stream.close();
  }
  idle_.clear();
}

}  // namespace strait::proxy
