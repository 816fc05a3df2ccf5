// What the reconcilers share: clients, caches, options, the clock and the random source.
#pragma once

#include "harbormaster/kube/informer.h"

#include <algorithm>
#include <optional>
#include <set>

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
  std::shared_ptr<kube::Informer> projects;
  std::shared_ptr<kube::Informer> robots;
  std::shared_ptr<kube::Informer> namespaces;
  std::shared_ptr<kube::Informer> secrets;  // only those labelled managed-by harbormaster
  std::shared_ptr<kube::Informer> serviceAccounts;
  const Clock* clock = &Clock::system();
  // A new robot secret (Harbor wants an upper-case letter, a lower-case one and a digit).
  std::function<StatusOr<std::string>()> newSecret;

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

// The role label tells a robot's credential (operator namespace) from its pull secrets.
inline constexpr const char* kRoleLabel = "harbormaster.io/role";
inline constexpr const char* kRoleCredential = "robot-credential";
inline constexpr const char* kRolePull = "pull-secret";
nlohmann::json managedLabels(const std::string& owner, const std::string& role);

// Writes the pull secret into every target namespace (and the ServiceAccount entries), removes
// it where it no longer belongs. Returns the namespaces written and the conflicts
// ("ns/name" of Secrets we do not own).
boost::asio::awaitable<StatusOr<std::pair<int, std::vector<std::string>>>> fanOut(
    Context& ctx, const std::string& owner, const RobotAccountSpec& spec,
    const std::string& username, const std::string& password);
// Removes the given pull secrets (the owner's) and their ServiceAccount entries, except those
// in `keep` ("ns/name").
boost::asio::awaitable<Status> removeFanOut(Context& ctx, const std::vector<nlohmann::json>& owned,
                                            const std::set<std::string>& keep);

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
