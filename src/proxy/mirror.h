// Request mirroring (VirtualService mirror, mirrors, mirrorPercentage): a copy of a request goes to
// another service, fire and forget. The copy's Host/:authority carries Istio's "-shadow" suffix on
// its host; its answer is read and dropped; its failure never touches the original request. Only a
// request whose whole body the sidecar holds is mirrored (the same bound as retries).
#pragma once

#include <asio/awaitable.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http2/h2_connection.h"
#include "proxy/router.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"

namespace strait::proxy {

// Where one copy goes: a mesh service port (and subset).
struct MirrorCopy {
  Destination destination;
};

// The mirrors of the matched route that this request is drawn for (each by its percentage),
// resolved in the snapshot; mirrors that name no service of the mesh are counted and left out.
[[nodiscard]] std::vector<MirrorCopy> mirror_copies(const Destination& d, const Snapshot& snapshot, Worker& worker);

// "reviews:9080" -> "reviews-shadow:9080" (IPv6 literals keep their brackets).
[[nodiscard]] std::string shadow_authority(std::string_view authority);

// Sends `request` (an HTTP/1.1 head and its whole body) and drops the answer.
asio::awaitable<void> send_h1_mirror(Worker& worker, std::shared_ptr<const Snapshot> snapshot, MirrorCopy copy,
                                     std::string request);

// Sends an HTTP/2 request (head, whole body, trailers) and drops the answer.
asio::awaitable<void> send_h2_mirror(Worker& worker, std::shared_ptr<const Snapshot> snapshot, MirrorCopy copy,
                                     http2::HeaderList headers, std::string body, http2::HeaderList trailers);

}  // namespace strait::proxy
