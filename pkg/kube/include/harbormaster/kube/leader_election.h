// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it.
//
//   LeaderElector elector(kube, {.nameSpace = "harbormaster", .name = "harbormaster-operator",
//                                .identity = podName});
//   co_spawn(ex, elector.run(startReconcilers, stopReconcilers), detached);
//   …
//   elector.release();  // on SIGTERM: a standby takes over without waiting for expiry
//
// Expiry is judged on this process's clock from when it last saw the Lease change (not from
// the holder's renewTime), so clock skew between nodes cannot shorten a lease. A leader that
// cannot renew for `renewDeadline` calls onStoppedLeading at once and keeps trying to lead.
//
// The fence: a leader may act until the start of its last successful renewal plus
// renewDeadline, a bound that holds whether or not the elector has noticed anything yet (it may
// be waiting on a slow API server). A standby can lead no sooner than leaseDuration after that
// renewal, so what respects the fence never overlaps another leader, with leaseDuration -
// renewDeadline to spare for clock rates and requests in flight.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>: every header
// that may bring it in includes <utility> first, so include order never matters.
#include <utility>

#include "harbormaster/kube/client.h"
#include "harbormaster/net/timers.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace hm::kube {

struct LeaderElectionOptions {
  std::string nameSpace;
  std::string name;
  std::string identity;  // unique per process: the pod name
  std::chrono::milliseconds leaseDuration{15'000};
  std::chrono::milliseconds renewDeadline{10'000};
  std::chrono::milliseconds retryPeriod{2'000};
  const net::Timers* timers = &net::Timers::system();  // renewals, expiry, the fence
};

// Until when this process may act as the leader (see above). Safe from any thread.
class LeaseFence {
 public:
  using SteadyTime = Clock::SteadyTime;
  // A fence that never closes: for a process that runs without leader election.
  static std::shared_ptr<LeaseFence> open();

  SteadyTime validUntil() const { return SteadyTime(SteadyTime::duration(until_.load())); }
  bool valid(SteadyTime now) const { return now < validUntil(); }
  void extendTo(SteadyTime until) { until_ = until.time_since_epoch().count(); }
  void close() { until_ = SteadyTime::min().time_since_epoch().count(); }

 private:
  std::atomic<SteadyTime::rep> until_{SteadyTime::min().time_since_epoch().count()};
};

class LeaderElector {
 public:
  LeaderElector(std::shared_ptr<Client> kube, LeaderElectionOptions options);

  // Runs until stop() or release(); the callbacks run on the coroutine's executor. Spawn run()
  // and release() on one strand: they share the observed Lease.
  boost::asio::awaitable<void> run(std::function<void()> onStartedLeading,
                                   std::function<void()> onStoppedLeading);
  // Calls onStoppedLeading, hands the lease back (holder cleared, 1 s duration) if held, and
  // ends run().
  boost::asio::awaitable<Status> release();
  // Ends run() without touching the lease (as a crash would).
  void stop() { stopping_ = true; }
  bool leading() const { return leading_; }
  // Shared with whatever must stop when leadership ends (the operator's calls).
  std::shared_ptr<const LeaseFence> fence() const { return fence_; }

 private:
  boost::asio::awaitable<bool> tryAcquireOrRenew();

  std::shared_ptr<Client> kube_;
  LeaderElectionOptions options_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> leading_{false};
  nlohmann::json observed_;  // the Lease as last seen
  std::function<void()> onStopped_;
  std::shared_ptr<net::TimerHandle> retry_;     // run()'s wait between attempts
  std::shared_ptr<net::TimerHandle> runEnded_;  // release()'s wait for run() to end
  bool running_ = false;                        // run() is looping (on the strand)
  Clock::SteadyTime observedAt_{};
  std::shared_ptr<LeaseFence> fence_ = std::make_shared<LeaseFence>();
};

}  // namespace hm::kube
