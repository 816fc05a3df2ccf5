#include "harbormaster/kube/leader_election.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>

#include "harbormaster/base/log.h"
#include "harbormaster/base/time.h"

namespace hm::kube {

namespace asio = boost::asio;
using asio::awaitable;
using nlohmann::json;

namespace {

const Resource kLeases{"coordination.k8s.io", "v1", "leases"};

std::string holderOf(const json& lease) {
  return lease.is_object() && lease.contains("spec") && lease["spec"].is_object()
             ? lease["spec"].value("holderIdentity", "")
             : "";
}

// Network deadlines are real time, whatever clock judges the lease.
Deadline callDeadline(std::chrono::milliseconds budget) {
  return std::chrono::steady_clock::now() + budget;
}

}  // namespace

std::shared_ptr<LeaseFence> LeaseFence::open() {
  auto f = std::make_shared<LeaseFence>();
  f->extendTo(SteadyTime::max());
  return f;
}

LeaderElector::LeaderElector(std::shared_ptr<Client> kube, LeaderElectionOptions options)
    : kube_(std::move(kube)), options_(std::move(options)) {}

awaitable<bool> LeaderElector::tryAcquireOrRenew() {
  const int seconds = static_cast<int>(std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(options_.leaseDuration).count()));
  auto got = co_await kube_->get(kLeases, options_.nameSpace, options_.name,
                                 callDeadline(options_.retryPeriod));
  const std::string now = formatRfc3339Micro(options_.timers->wallNow());
  if (!got.ok()) {
    if (got.status().code() != StatusCode::kNotFound) {
      co_return false;
    }
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", options_.name}, {"namespace", options_.nameSpace}}},
                  {"spec",
                   {{"holderIdentity", options_.identity},
                    {"leaseDurationSeconds", seconds},
                    {"acquireTime", now},
                    {"renewTime", now},
                    {"leaseTransitions", 0}}}};
    auto created = co_await kube_->create(kLeases, options_.nameSpace, lease,
                                          callDeadline(options_.retryPeriod));
    if (!created.ok()) {
      co_return false;
    }
    observed_ = *created;
    observedAt_ = options_.timers->steadyNow();
    co_return true;
  }
  json lease = *got;
  if (lease != observed_) {
    observed_ = lease;
    observedAt_ = options_.timers->steadyNow();
  }
  const std::string holder = holderOf(lease);
  int64_t held = lease["spec"].value("leaseDurationSeconds", seconds);
  const bool expired = options_.timers->steadyNow() > observedAt_ + std::chrono::seconds(held);
  if (!holder.empty() && holder != options_.identity && !expired) {
    co_return false;
  }
  json& spec = lease["spec"];
  if (holder != options_.identity) {
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = spec.value("leaseTransitions", 0) + 1;
  }
  spec["holderIdentity"] = options_.identity;
  spec["leaseDurationSeconds"] = seconds;
  spec["renewTime"] = now;
  auto updated = co_await kube_->update(kLeases, options_.nameSpace, lease,
                                        callDeadline(options_.retryPeriod));
  if (!updated.ok()) {
    co_return false;  // Conflict: someone else wrote first
  }
  observed_ = *updated;
  observedAt_ = options_.timers->steadyNow();
  co_return true;
}

awaitable<void> LeaderElector::run(std::function<void()> onStartedLeading,
                                   std::function<void()> onStoppedLeading) {
  const net::Timers& timers = *options_.timers;
  onStopped_ = onStoppedLeading;
  running_ = true;
  Clock::SteadyTime lastRenew{};
  while (!stopping_) {
    // The fence counts from when the renewal was sent, not from its answer: the API server
    // may have written it at any moment in between.
    const auto attempt = timers.steadyNow();
    const bool ok = co_await tryAcquireOrRenew();
    if (stopping_) {
      break;
    }
    if (ok) {
      lastRenew = attempt;
      fence_->extendTo(attempt + options_.renewDeadline);
      if (!leading_) {
        leading_ = true;
        log::info("Became leader", {{"lease", options_.nameSpace + "/" + options_.name},
                                    {"identity", options_.identity}});
        onStartedLeading();
      }
    } else if (leading_ && timers.steadyNow() - lastRenew >= options_.renewDeadline) {
      // Stop at once: another replica may take over as soon as the lease expires. (The fence
      // closed at the deadline already, whenever this loop got to notice.)
      leading_ = false;
      fence_->close();
      log::warn("Lost leadership: the lease could not be renewed in time",
                {{"lease", options_.nameSpace + "/" + options_.name}});
      onStoppedLeading();
    }
    // A named deadline, not an expression in the co_await's arguments (docs/architecture.md,
    // "GCC 12 and coroutines").
    const auto next = timers.steadyNow() + options_.retryPeriod;
    co_await net::sleepUntil(timers, next, &retry_);
  }
  retry_.reset();
  if (leading_) {
    leading_ = false;
    fence_->close();
    onStoppedLeading();
  }
  running_ = false;
  if (runEnded_) {
    runEnded_->cancel();  // release() waits for this
  }
}

awaitable<Status> LeaderElector::release() {
  stopping_ = true;
  if (retry_) {
    retry_->cancel();  // run() ends now instead of after its retry period
  }
  // As client-go: the renew loop ends before the release is written, so a renewal in flight
  // cannot make the release conflict. run() stops leading (and calls onStoppedLeading) on its
  // way out: the reconcilers end before the lease is handed over.
  while (running_) {
    const auto next = options_.timers->steadyNow() + options_.retryPeriod;
    co_await net::sleepUntil(*options_.timers, next, &runEnded_);
  }
  if (leading_) {
    leading_ = false;
    fence_->close();
    if (onStopped_) {
      onStopped_();
    }
  }
  // Whatever the loop last wrote: an acquisition that landed as the loop stopped is handed
  // back too.
  if (!observed_.is_object() || holderOf(observed_) != options_.identity) {
    co_return okStatus();
  }
  json lease = observed_;
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = formatRfc3339Micro(options_.timers->wallNow());
  auto updated = co_await kube_->update(kLeases, options_.nameSpace, lease,
                                        callDeadline(options_.retryPeriod));
  if (!updated.ok()) {
    co_return updated.status().withContext("releasing the lease");
  }
  log::info("Released the lease", {{"lease", options_.nameSpace + "/" + options_.name}});
  co_return okStatus();
}

}  // namespace hm::kube
