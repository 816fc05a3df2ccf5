// `harbormaster operator`: HarborProject and RobotAccount custom resources reconciled into
// Harbor, robot credentials kept in the operator's namespace and fanned out as image pull
// secrets; and the status of ClusterImagePolicy, ImagePolicy and ImageException resources.
// See docs/operator.md for the behaviour and the Harbor permissions it needs.
//
//   Operator op(kube, harbor, metrics, options, {harborproject::setup, robotaccount::setup});
//   co_spawn(strand, op.run(), detached);  // informers, queues, leader election
//   …
//   co_await op.shutdown();                // stop reconcilers, release the lease
#pragma once

#include "harbormaster/kube/client.h"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "harbormaster/harbor/client.h"
#include "harbormaster/metrics/metrics.h"
#include "harbormaster/net/timers.h"

namespace hm::review {
class Engine;
}

namespace hm::op {

// Digests Harbor said changed (its notifications on the operator's /harbor-events: a scan that
// finished, an artifact pushed or deleted): the compliance controller judges again what runs
// them. Subscribers are added at setup, before anything is published.
class DigestChanges {
 public:
  using Subscriber = std::function<void(const std::vector<std::string>& digests)>;
  void subscribe(Subscriber s) {
    std::lock_guard lock(mu_);
    subscribers_.push_back(std::move(s));
  }
  void publish(const std::vector<std::string>& digests) const {
    std::vector<Subscriber> to;
    {
      std::lock_guard lock(mu_);
      to = subscribers_;
    }
    for (const auto& s : to) {
      s(digests);
    }
  }

 private:
  mutable std::mutex mu_;
  std::vector<Subscriber> subscribers_;
};

// What already runs, judged again (pkg/operator/compliance): off without an engine.
struct ComplianceOptions {
  // The webhook's review engine on the operator's own Harbor connection; null: no compliance.
  std::shared_ptr<review::Engine> engine;
  std::chrono::seconds interval{6 * 3600};  // the periodic pass
  // wgpolicyk8s.io/v1alpha2 (PolicyReport, ClusterPolicyReport) or openreports.io/v1alpha1
  // (Report, ClusterReport).
  std::string reportApiVersion = "wgpolicyk8s.io/v1alpha2";
  // Harbor's notifications, when the operator serves /harbor-events; may be null.
  std::shared_ptr<DigestChanges> changes;
};

// Harbor's notifications to the operator: each HarborProject (unless its spec.notifications
// says otherwise) gets a Harbor webhook policy that posts scan and artifact events here.
struct NotificationOptions {
  std::string url;         // where Harbor posts: the operator's /harbor-events; empty: not managed
  std::string authHeader;  // the shared secret, sent by Harbor as Authorization
  bool skipCertVerify = false;
  std::string payloadFormat = "Default";  // or CloudEvents
};

struct OperatorOptions {
  std::string nameSpace = "harbormaster";  // where robot credentials and the Lease live
  // The operator's own Harbor account: spec.members never removes it from a project, nor
  // changes its role (that could lock the operator out of the project).
  std::string harborUser;
  std::vector<std::string> registryHosts;  // the pull secrets' auths keys
  std::chrono::milliseconds resync{600'000};
  // How long a rotated-out robot keeps working, for nodes whose kubelet still holds the old
  // Secret content.
  std::chrono::milliseconds rotationGrace{300'000};
  bool leaderElect = true;
  // The Lease timings, as kube-controller-manager's --leader-elect-* flags: a dead leader's
  // lease is taken over after leaseDuration; a leader that cannot renew within renewDeadline
  // stops; candidates retry every retryPeriod.
  std::chrono::milliseconds leaseDuration{15'000};
  std::chrono::milliseconds renewDeadline{10'000};
  std::chrono::milliseconds retryPeriod{2'000};
  std::string identity;  // leader-election identity: the pod name
  int workers = 4;
  std::chrono::milliseconds callTimeout{10'000};  // each Harbor and Kubernetes call
  // All the calls of one reconcile: a reconcile that hangs on a slow peer gives up its worker
  // (and is retried with backoff) instead of holding it.
  std::chrono::milliseconds reconcileTimeout{120'000};
  std::chrono::milliseconds maxBackoff{300'000};
  // Validate ClusterImagePolicy, ImagePolicy and ImageException resources and write their
  // status (needs their CRDs).
  bool policyStatus = true;
  // How often the key and trusted-root files policies name are compared, as the webhook does: a
  // file that appears, changes or goes reloads the policies that read it and their status.
  std::chrono::milliseconds policyCheckInterval{2'000};
  // On shutdown, reconciles in flight get this long to finish while the lease is still held;
  // then every call they have not started is refused and the lease is released once they end
  // (each call in flight ends by its own deadline, callTimeout at most). Chosen with the chart's
  // terminationGracePeriodSeconds (30 s): grace + callTimeout fit inside it.
  std::chrono::milliseconds shutdownGrace{15'000};
  ComplianceOptions compliance;
  NotificationOptions notifications;
  // Backoff, lease renewal and the fences read this (tests move it by hand).
  const net::Timers* timers = &net::Timers::system();
};

// A controller folder's `setup(Manager&)` (pkg/operator/manager/manager.h): what it
// reconciles, owns and watches, and its reconciler. cmd/ lists the setups.
class Manager;
using ControllerSetup = std::function<void(Manager&)>;

class Operator {
 public:
  // `harbor` may be null: controllers that need Harbor then stay off (their setup sees it).
  Operator(std::shared_ptr<kube::Client> kube, std::shared_ptr<harbor::Client> harbor,
           std::shared_ptr<metrics::Registry> metrics, OperatorOptions options,
           std::vector<ControllerSetup> controllers);
  ~Operator();
  Operator(const Operator&) = delete;
  Operator& operator=(const Operator&) = delete;

  // Runs until shutdown(). Spawn once, on a strand.
  boost::asio::awaitable<void> run();
  // Stops handing out work, lets reconciles in flight finish (within shutdownGrace), then
  // releases the lease (a standby takes over at once): the lease is never handed over while
  // this process may still write.
  boost::asio::awaitable<void> shutdown();
  // Informers synced and, with leader election, leading or standing by.
  bool ready() const;
  bool leading() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::vector<ControllerSetup> setups_;
};

}  // namespace hm::op
