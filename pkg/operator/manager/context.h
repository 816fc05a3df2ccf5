// What the reconcilers share: clients, options, the clock, the fences. Caches are not here: each
// controller asks the manager for the informers it reads (manager.h).
#pragma once

#include "harbormaster/kube/informer.h"

#include <algorithm>
#include <optional>

#include "harbormaster/base/clock.h"
#include "harbormaster/kube/events.h"
#include "harbormaster/kube/leader_election.h"
#include "harbormaster/operator/conditions.h"
#include "harbormaster/operator/operator.h"
#include "harbormaster/operator/reasons.h"
#include "harbormaster/operator/reconciler.h"
#include "harbormaster/operator/spec.h"

namespace hm::op {

inline const kube::Resource kProjects{kGroup, kVersion, "harborprojects", false};
inline const kube::Resource kRobots{kGroup, kVersion, "robotaccounts", false};
inline const kube::Resource kNamespaces{"", "v1", "namespaces", false};
inline const kube::Resource kSecrets{"", "v1", "secrets"};
inline const kube::Resource kServiceAccounts{"", "v1", "serviceaccounts"};

// A reconcile's result from a step's status: done, or retried with backoff.
inline Result resultOf(Status error, std::optional<std::chrono::milliseconds> requeue = {}) {
  Result r;
  r.error = std::move(error);
  if (r.error.ok()) {
    r.requeueAfter = requeue;
  }
  return r;
}

struct Context {
  std::shared_ptr<kube::Client> kube;
  std::shared_ptr<harbor::Client> harbor;
  std::shared_ptr<kube::EventRecorder> events;
  OperatorOptions options;
  const Clock* clock = &Clock::system();

  // Set for one reconcile (forReconcile()): no call outlives it.
  std::optional<kube::Deadline> bound;
  // The fences every call stays inside: the lease's (closed at the renew deadline; see
  // leader_election.h) and the process's own (closed when shutdown's grace is over). A call
  // that would start past either gets a deadline already passed, so the clients refuse it
  // before sending anything, and a call in flight is cut when its fence closes.
  std::shared_ptr<const kube::LeaseFence> leaseFence = kube::LeaseFence::open();
  std::shared_ptr<const kube::LeaseFence> runFence = kube::LeaseFence::open();

  // Each Harbor or Kubernetes call's deadline: callTimeout, within the reconcile's bound and
  // the fences.
  kube::Deadline deadline() const {
    kube::Deadline call = clock->steadyNow() + options.callTimeout;
    if (bound) {
      call = std::min(call, *bound);
    }
    return std::min({call, leaseFence->validUntil(), runFence->validUntil()});
  }
  // Whether this process may still act: a reconcile checks before it starts.
  bool mayAct() const {
    const auto now = clock->steadyNow();
    return leaseFence->valid(now) && runFence->valid(now);
  }
  // A copy for one reconcile, bounded by options.reconcileTimeout in total.
  Context forReconcile() const {
    Context c = *this;
    c.bound = clock->steadyNow() + options.reconcileTimeout;
    return c;
  }
};

// Shared steps.
bool hasFinalizer(const nlohmann::json& object);
// Adds or removes our finalizer with an update that fails on a stale resourceVersion.
boost::asio::awaitable<Status> setFinalizer(Context& ctx, const kube::Resource& r,
                                            nlohmann::json object, bool present);
// Writes `status` (whole) unless it already equals the object's.
boost::asio::awaitable<Status> writeStatus(Context& ctx, const kube::Resource& r,
                                           nlohmann::json object, nlohmann::json status);
boost::asio::awaitable<void> recordEvent(Context& ctx, const nlohmann::json& object,
                                         std::string type, std::string reason, std::string note);

}  // namespace hm::op
