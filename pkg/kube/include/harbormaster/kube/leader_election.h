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
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>: every header
// that may bring it in includes <utility> first, so include order never matters.
#include <utility>

#include "harbormaster/kube/client.h"

#include <atomic>
#include <boost/asio/steady_timer.hpp>
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

 private:
  boost::asio::awaitable<bool> tryAcquireOrRenew();

  std::shared_ptr<Client> kube_;
  LeaderElectionOptions options_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> leading_{false};
  nlohmann::json observed_;  // the Lease as last seen
  std::function<void()> onStopped_;
  boost::asio::steady_timer* timer_ = nullptr;  // run()'s retry timer while it runs
  std::chrono::steady_clock::time_point observedAt_{};
};

}  // namespace hm::kube
