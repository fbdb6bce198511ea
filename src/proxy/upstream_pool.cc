#include "proxy/upstream_pool.h"

#include <poll.h>

namespace strait::proxy {
namespace {

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
    if (now - connection->idle_since < max_idle && still_usable(*connection)) {
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
