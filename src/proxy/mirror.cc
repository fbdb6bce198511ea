#include "proxy/mirror.h"

#include <algorithm>

#include "http/parser.h"
#include "net/watchdog.h"
#include "proxy/h2_upstreams.h"
#include "proxy/upstream_connector.h"

namespace strait::proxy {

std::vector<MirrorCopy> mirror_copies(const Destination& d, const Snapshot& snapshot, Worker& worker) {
  std::vector<MirrorCopy> out;
  if (d.route == nullptr || d.route->mirrors.empty()) return out;
  for (const auto& mirror : d.route->mirrors) {
    if (!share_drawn(mirror.percent, worker.random())) continue;
    const ResolvedService* service = snapshot.find_service(mirror.host);
    const std::uint16_t wanted = mirror.port != 0 ? mirror.port : d.port;
    const EndpointSubset* subset = nullptr;
    if (service != nullptr && !mirror.subset.empty()) {
      for (const auto& s : service->subsets) {
        if (s.name == mirror.subset) subset = &s;
      }
    }
    if (service == nullptr || (!mirror.subset.empty() && subset == nullptr) || service->service->ports.empty()) {
      worker.stats().mirror_failures.add();
      continue;
    }
    const auto& ports = service->service->ports;
    auto port = std::ranges::find_if(ports, [&](const ServicePort& p) { return p.port == wanted; });
    if (port == ports.end()) port = ports.begin();
    MirrorCopy copy;
    copy.destination.service = service;
    copy.destination.subset = subset;
    copy.destination.port = port->port;
    copy.destination.protocol = port->protocol;
    out.push_back(copy);
  }
  return out;
}

std::string shadow_authority(std::string_view authority) {
  std::size_t host_end = authority.size();
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    host_end = close == std::string_view::npos ? authority.size() : close + 1;
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host_end = colon;
  }
  std::string out(authority.substr(0, host_end));
  out.append("-shadow").append(authority.substr(host_end));
  return out;
}

asio::awaitable<void> send_h1_mirror(Worker& worker, std::shared_ptr<const Snapshot> snapshot, MirrorCopy copy,
                                     std::string request) {
  worker.stats().mirror_requests.add();
  const Destination& d = copy.destination;
  auto outcome = co_await connect_to_service(worker, *snapshot, *d.service, d.port, tls::kAlpnHttp11, true, d.subset);
  if (!outcome.connection) {
    worker.stats().mirror_failures.add();
    co_return;
  }
  auto& up = *outcome.connection;
  const Limits& limits = snapshot->config->limits;
  net::Watchdog watchdog(worker.io().get_executor());
  watchdog.arm(limits.stream_idle_timeout, &up.stream);
  if (co_await up.stream.write_all(asio::buffer(request))) {
    worker.stats().mirror_failures.add();
    co_return;
  }
  // Read the answer's head and drop the connection: what the mirror says does not matter, and a
  // connection whose response body was not read cannot go back to the pool.
  const http::ParserLimits parser_limits{limits.max_request_line, limits.max_head_size, limits.max_header_count};
  http::ResponseHead response;
  while (true) {
    if (!up.buffer.empty()) {
      const auto parsed = http::parse_response_head(up.buffer.data(), parser_limits, "GET", response);
      if (parsed.status == http::ParseStatus::kComplete) break;
      if (parsed.status == http::ParseStatus::kError || up.buffer.full()) {
        worker.stats().mirror_failures.add();
        break;
      }
    }
    auto [ec, n] = co_await up.stream.read_some(up.buffer.prepare(16 * 1024));
    if (ec) {
      worker.stats().mirror_failures.add();
      break;
    }
    up.buffer.commit(n);
  }
  watchdog.disarm();
  up.stream.close();
}

asio::awaitable<void> send_h2_mirror(Worker& worker, std::shared_ptr<const Snapshot> snapshot, MirrorCopy copy,
                                     http2::HeaderList headers, std::string body, http2::HeaderList trailers) {
  worker.stats().mirror_requests.add();
  auto upstream = co_await h2_upstream(worker, *snapshot, copy.destination);
  if (!upstream.connection) {
    worker.stats().mirror_failures.add();
    co_return;
  }
  const bool ends_with_head = body.empty() && trailers.empty();
  auto stream = upstream.connection->open(headers, ends_with_head);
  if (!stream) {
    worker.stats().mirror_failures.add();
    co_return;
  }
  if (!ends_with_head) {
    bool sent = true;
    if (!body.empty()) sent = co_await stream->send_data(body, trailers.empty());
    if (sent && !trailers.empty()) stream->send_trailers(trailers);
  }
  // Drain the answer so that the stream's flow-control window is released; a reset ends it too.
  while (true) {
    auto event = co_await stream->receive();
    if (event.kind == http2::H2Stream::Received::Kind::kReset) {
      worker.stats().mirror_failures.add();
      break;
    }
    if (event.kind == http2::H2Stream::Received::Kind::kEnd ||
        (event.kind == http2::H2Stream::Received::Kind::kHeaders && event.end_stream))
      break;
  }
}

}  // namespace strait::proxy
