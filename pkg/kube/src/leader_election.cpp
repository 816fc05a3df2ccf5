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
using Clock = std::chrono::steady_clock;

namespace {

const Resource kLeases{"coordination.k8s.io", "v1", "leases"};

std::string holderOf(const json& lease) {
  return lease.is_object() && lease.contains("spec") && lease["spec"].is_object()
             ? lease["spec"].value("holderIdentity", "")
             : "";
}

Deadline callDeadline(std::chrono::milliseconds budget) {
  return Clock::now() + budget;
}

}  // namespace

LeaderElector::LeaderElector(std::shared_ptr<Client> kube, LeaderElectionOptions options)
    : kube_(std::move(kube)), options_(std::move(options)) {}

awaitable<bool> LeaderElector::tryAcquireOrRenew() {
  const int seconds = static_cast<int>(std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(options_.leaseDuration).count()));
  auto got = co_await kube_->get(kLeases, options_.nameSpace, options_.name,
                                 callDeadline(options_.retryPeriod));
  const std::string now = formatRfc3339Micro(std::chrono::system_clock::now());
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
    observedAt_ = Clock::now();
    co_return true;
  }
  json lease = *got;
  if (lease != observed_) {
    observed_ = lease;
    observedAt_ = Clock::now();
  }
  const std::string holder = holderOf(lease);
  int64_t held = lease["spec"].value("leaseDurationSeconds", seconds);
  const bool expired = Clock::now() > observedAt_ + std::chrono::seconds(held);
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
  observedAt_ = Clock::now();
  co_return true;
}

awaitable<void> LeaderElector::run(std::function<void()> onStartedLeading,
                                   std::function<void()> onStoppedLeading) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer_ = &timer;
  onStopped_ = onStoppedLeading;
  Clock::time_point lastRenew{};
  while (!stopping_) {
    const bool ok = co_await tryAcquireOrRenew();
    if (stopping_) {
      break;
    }
    if (ok) {
      lastRenew = Clock::now();
      if (!leading_) {
        leading_ = true;
        log::info("Became leader", {{"lease", options_.nameSpace + "/" + options_.name},
                                    {"identity", options_.identity}});
        onStartedLeading();
      }
    } else if (leading_ && Clock::now() - lastRenew > options_.renewDeadline) {
      // Stop at once: another replica may take over as soon as the lease expires.
      leading_ = false;
      log::warn("Lost leadership: the lease could not be renewed in time",
                {{"lease", options_.nameSpace + "/" + options_.name}});
      onStoppedLeading();
    }
    timer.expires_after(options_.retryPeriod);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  timer_ = nullptr;
  if (leading_) {
    leading_ = false;
    onStoppedLeading();
  }
}

awaitable<Status> LeaderElector::release() {
  stopping_ = true;
  if (timer_) {
    timer_->cancel();  // run() ends now instead of after its retry period
  }
  if (!leading_ || !observed_.is_object() || holderOf(observed_) != options_.identity) {
    co_return okStatus();
  }
  // Stop leading before anyone else can: the reconcilers end before the lease is handed over.
  leading_ = false;
  if (onStopped_) {
    onStopped_();
  }
  json lease = observed_;
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = formatRfc3339Micro(std::chrono::system_clock::now());
  auto updated = co_await kube_->update(kLeases, options_.nameSpace, lease,
                                        callDeadline(options_.retryPeriod));
  if (!updated.ok()) {
    co_return updated.status().withContext("releasing the lease");
  }
  log::info("Released the lease", {{"lease", options_.nameSpace + "/" + options_.name}});
  co_return okStatus();
}

}  // namespace hm::kube
