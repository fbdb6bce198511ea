#include "control/root_rotation.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/time_text.h"

namespace strait::control {
namespace {

constexpr std::chrono::milliseconds kTick{200};
// At least this long between steps: straitd's gRPC server re-reads its credentials every second.
constexpr std::chrono::milliseconds kServerReload{2'000};
constexpr std::size_t kHistory = 32;
// And this long after the last proxy caught up: its workers switch to what it reported a moment
// after it reports it.
constexpr std::chrono::milliseconds kSettle{500};

}  // namespace

RootRotation::RootRotation(asio::io_context& io, ca::CertificateAuthority& ca, MeshHub& hub,
                           MeshServer& server, std::chrono::milliseconds registry_settles)
    : timer_(io), ca_(ca), hub_(hub), server_(server), registry_settles_(registry_settles) {}

void RootRotation::record(std::string what) {
  spdlog::info("root rotation: {}", what);
  if (history_.size() == kHistory) history_.erase(history_.begin());
  history_.emplace_back(utc_iso8601(std::chrono::system_clock::now()), std::move(what));
}

void RootRotation::resume() {
  if (ca_.phase() == ca::RotationPhase::kIdle) return;
  record(std::string("resumed at ") + std::string(ca::name_of(ca_.phase())) +
         "; no step until the registry holds the reconnected proxies");
  step_taken_at_ = std::chrono::steady_clock::now();
  // The registry starts empty: "every proxy caught up" means nothing until they are back.
  hold_until_ = step_taken_at_ + registry_settles_;
  hold_until_wall_ = std::chrono::system_clock::now() + registry_settles_;
  running_ = true;
  schedule();
}

std::expected<void, std::string> RootRotation::start() {
  if (running_)
    return std::unexpected("a root rotation is already under way (straitctl ca status)");
  if (auto ok = ca_.trust_next_root(); !ok) return ok;
  hub_.set_trust(ca_.trust_bundle(), ca_.signer_key_id());
  history_.clear();  // the status tells this rotation's story
  record("step 1: a new root is trusted beside the old one");
  step_taken_at_ = std::chrono::steady_clock::now();
  caught_up_at_.reset();
  running_ = true;
  removing_ = false;
  error_.clear();
  schedule();
  return {};
}

void RootRotation::schedule() {
  timer_.expires_after(kTick);
  timer_.async_wait([this](std::error_code ec) {
    if (!ec) step();
  });
}

void RootRotation::step() {
  const auto now = std::chrono::steady_clock::now();
  const std::string bundle = ca_.trust_bundle();
  auto signer_now = [&] { return ca_.signer_key_id(); };
  auto failed = [&](const std::string& what, const std::string& why) {
    if (error_ != why) spdlog::error("root rotation: {}: {}", what, why);
    error_ = why;
    schedule();  // retried at the next tick
  };
  // Whether every proxy has caught up with the last step, for long enough to take the next.
  auto ready = [&] {
    if (!waiting_for_.empty()) {
      caught_up_at_.reset();
      return false;
    }
    if (!caught_up_at_) caught_up_at_ = now;
    return now - step_taken_at_ >= kServerReload && now - *caught_up_at_ >= kSettle;
  };
  if (now < hold_until_) {
    waiting_for_.clear();
    schedule();
    return;
  }
  switch (ca_.phase()) {
    case ca::RotationPhase::kTrustingNext:
      waiting_for_ = hub_.proxies_without_bundle(bundle);
      if (!ready()) break;
      if (auto ok = ca_.sign_with_next_root(); !ok) return failed("step 2", ok.error());
      record("step 2: the new root signs; every proxy renews its certificate");
      step_taken_at_ = now;
      caught_up_at_.reset();
      reissued_for_.clear();
      [[fallthrough]];
    case ca::RotationPhase::kReissuing:
      // straitd's own certificate and the views follow the new signer (again after a failure or a
      // restart: this is repeated until it holds).
      if (reissued_for_ != signer_now()) {
        if (auto ok = server_.reissue_serving_certificate(); !ok)
          return failed("step 2", ok.error());
        hub_.set_trust(ca_.trust_bundle(), signer_now());
        reissued_for_ = signer_now();
        step_taken_at_ = now;
        caught_up_at_.reset();
      }
      waiting_for_ = hub_.proxies_not_signed_by(signer_now());
      if (!ready()) break;
      if (auto ok = ca_.retire_previous_root(); !ok) return failed("step 3", ok.error());
      hub_.set_trust(ca_.trust_bundle(), signer_now());
      record("step 3: the old root leaves the trust bundle");
      step_taken_at_ = now;
      caught_up_at_.reset();
      removing_ = true;
      waiting_for_.clear();
      break;
    case ca::RotationPhase::kIdle:
      waiting_for_ = hub_.proxies_without_bundle(bundle);
      if (!waiting_for_.empty()) break;
      record("done: every proxy trusts the new root only");
      running_ = false;
      removing_ = false;
      error_.clear();
      return;
  }
  schedule();
}

nlohmann::json RootRotation::status_json() const {
  nlohmann::json roots = nlohmann::json::array();
  for (const auto& r : ca_.roots()) {
    roots.push_back({{"role", r.role},
                     {"subject", r.subject},
                     {"keyId", r.key_id},
                     {"sha256", r.sha256},
                     {"notAfter", r.not_after}});
  }
  std::string phase(ca::name_of(ca_.phase()));
  if (running_ && removing_) phase = "removing-old-root";
  nlohmann::json history = nlohmann::json::array();
  for (const auto& [at, what] : history_) history.push_back({{"at", at}, {"step", what}});
  nlohmann::json out = {{"phase", phase},           {"rotating", running_},
                        {"plugged", ca_.plugged()}, {"signerKeyId", ca_.signer_key_id()},
                        {"roots", roots},           {"waitingFor", waiting_for_},
                        {"history", history}};
  if (!error_.empty()) out["lastError"] = error_;
  if (running_ && std::chrono::steady_clock::now() < hold_until_)
    out["holdingUntil"] = utc_iso8601(hold_until_wall_);
  return out;
}

}  // namespace strait::control
