// Rotating the mesh's root CA without a failed request: three steps, each taken only once every
// registered proxy has caught up with the previous one (main thread, checked every 200 ms).
//  1. A new root is trusted beside the old one (the trust bundle holds both); the old one signs.
//     Wait until every proxy has acknowledged a view carrying that bundle.
//  2. The new root signs (straitd's own serving certificate is reissued by it too); views name the
//     new signer, and each proxy renews its certificate at once. Wait until every proxy reports a
//     certificate signed by the new root.
//  3. The old root leaves the bundle. Wait until every proxy has acknowledged that bundle.
// A proxy that was signed by the old root and trusts the new one can talk to every other at every
// moment, so no handshake fails. The CA's files say which step it is at: a restart resumes.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <expected>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ca/certificate_authority.h"
#include "control/mesh_hub.h"
#include "control/mesh_server.h"

namespace strait::control {

class RootRotation {
 public:
  // `registry_settles` (the registry's warm-up plus its grace period): after a restart, how long
  // before the registry again holds every proxy that must catch up (it starts empty).
  RootRotation(asio::io_context& io, ca::CertificateAuthority& ca, MeshHub& hub, MeshServer& server,
               std::chrono::milliseconds registry_settles);
  RootRotation(const RootRotation&) = delete;
  RootRotation& operator=(const RootRotation&) = delete;

  // Main thread: continues a rotation the CA's files say is under way (after a restart).
  void resume();
  // Main thread: starts one; fails when one is under way or the CA is plugged in.
  [[nodiscard]] std::expected<void, std::string> start();
  // Main thread: the phase, the roots, and who a step waits for.
  [[nodiscard]] nlohmann::json status_json() const;

 private:
  void schedule();
  void step();
  void record(std::string what);

  asio::steady_timer timer_;
  ca::CertificateAuthority& ca_;
  MeshHub& hub_;
  MeshServer& server_;
  bool running_ = false;
  bool removing_ = false;  // step 3 taken: waiting for every proxy to drop the old root
  std::chrono::steady_clock::time_point step_taken_at_;
  std::optional<std::chrono::steady_clock::time_point> caught_up_at_;
  std::chrono::milliseconds registry_settles_;
  std::chrono::steady_clock::time_point hold_until_;  // resumed: no step before this
  std::chrono::system_clock::time_point hold_until_wall_;
  std::string reissued_for_;  // the signer straitd's serving certificate and the views follow
  std::vector<std::string> waiting_for_;
  std::string error_;  // the last step that failed (it is retried)
  std::vector<std::pair<std::string, std::string>> history_;  // (UTC time, what happened)
};

}  // namespace strait::control
