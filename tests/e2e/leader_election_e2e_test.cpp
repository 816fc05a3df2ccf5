// Leader election against kube-sim and between real processes: handover on release, takeover
// after a crash, a leader that cannot renew stepping down. (The timing rules themselves are
// unit-tested on fake time in tests/unit/kube/leader_election_test.cpp.)
#include "harbormaster/kube/leader_election.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <future>

#include "support/async.h"
#include "support/kube_rig.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace hm::kube {
namespace {

namespace asio = boost::asio;

struct Candidate {
  Candidate(hm::testing::IoThreads& io, const std::string& kubeconfig, LeaderElectionOptions o)
      : strand(asio::make_strand(io.ioc())) {
    auto config = loadKubeconfig({kubeconfig}, "");
    auto c = Client::create(io.ioc().get_executor(), *config);
    elector = std::make_unique<LeaderElector>(std::shared_ptr<Client>(std::move(*c)), o);
  }
  // The run() coroutine must end before the elector goes away.
  ~Candidate() {
    if (running) {
      elector->stop();
      finished.get_future().wait();
    }
  }
  void start() {
    running = true;
    asio::co_spawn(
        strand,
        [this]() -> asio::awaitable<void> {
          co_await elector->run([this] { ++started; }, [this] { ++stopped; });
          finished.set_value();
        },
        asio::detached);
  }
  Status release() {
    std::promise<Status> result;
    asio::co_spawn(
        strand,
        [&]() -> asio::awaitable<void> {
          Status s = co_await elector->release();
          result.set_value(s);
        },
        asio::detached);
    return result.get_future().get();
  }
  asio::strand<asio::io_context::executor_type> strand;
  std::unique_ptr<LeaderElector> elector;
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
  bool running = false;
  std::promise<void> finished;
};

LeaderElectionOptions options(const std::string& identity, std::chrono::seconds lease) {
  LeaderElectionOptions o;
  o.nameSpace = "default";
  o.name = "operator-lock";
  o.identity = identity;
  o.leaseDuration = lease;
  o.renewDeadline = std::chrono::milliseconds(600);
  o.retryPeriod = std::chrono::milliseconds(100);
  return o;
}

TEST(LeaderElectionTest, ReleaseHandsOverWithoutWaitingForExpiry) {
  hm::testing::KubeSimRig rig;
  hm::testing::IoThreads io;
  // A 60 s lease: the standby can only lead within the test's patience through the release.
  Candidate a(io, rig.kubeconfig(), options("pod-a", std::chrono::seconds(60)));
  Candidate b(io, rig.kubeconfig(), options("pod-b", std::chrono::seconds(60)));
  a.start();
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return a.elector->leading(); }));
  b.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(b.elector->leading()) << "a holds a valid lease";
  Status released = a.release();
  ASSERT_TRUE(released.ok()) << released.toString();
  EXPECT_TRUE(hm::testing::eventually(5, [&] { return b.elector->leading(); }));
  EXPECT_EQ(a.stopped.load(), 1);
}

TEST(LeaderElectionTest, AStandbyTakesOverWhenTheLeaderDies) {
  hm::testing::KubeSimRig rig;
  hm::testing::IoThreads io;
  Candidate a(io, rig.kubeconfig(), options("pod-a", std::chrono::seconds(1)));
  Candidate b(io, rig.kubeconfig(), options("pod-b", std::chrono::seconds(1)));
  a.start();
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return a.elector->leading(); }));
  b.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // longer than the lease
  EXPECT_FALSE(b.elector->leading()) << "a renews, so its lease never expires";
  a.elector->stop();  // a crash: no release
  EXPECT_TRUE(hm::testing::eventually(10, [&] { return b.elector->leading(); }));
}

TEST(LeaderElectionTest, ALeaderThatCannotRenewStepsDownAtOnce) {
  hm::testing::KubeSimRig rig;
  hm::testing::IoThreads io;
  Candidate a(io, rig.kubeconfig(), options("pod-a", std::chrono::seconds(2)));
  a.start();
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return a.elector->leading(); }));
  rig.control("POST", "/sim/faults", R"({"status":500,"count":-1})");
  EXPECT_TRUE(hm::testing::eventually(5, [&] { return a.stopped.load() == 1; }));
  EXPECT_FALSE(a.elector->leading());
  rig.control("DELETE", "/sim/faults");
  EXPECT_TRUE(hm::testing::eventually(5, [&] { return a.elector->leading(); }))
      << "it leads again once the API server answers";
  // leading() turns true just before the start callback runs on the elector's strand.
  EXPECT_TRUE(hm::testing::eventually(5, [&] { return a.started.load() == 2; }));
  EXPECT_EQ(a.started.load(), 2);
}

// Two real processes: kill -9 the leader and the standby leads once the lease expires; SIGTERM
// the new leader and it hands the lease back at once.
TEST(LeaderElectionTest, HandoverBetweenTwoProcesses) {
  hm::testing::KubeSimRig rig;
  hm::testing::TempDir dir;
  auto start = [&](const std::string& id) {
    return std::make_unique<hm::testing::Process>(
        std::vector<std::string>{HM_ELECT, "--kubeconfig", rig.kubeconfig(), "--identity", id,
                                 "--lease-seconds", "2"},
        dir.file(id + ".log"));
  };
  auto a = start("pod-a");
  ASSERT_TRUE(hm::testing::eventually(10, [&] {
    return a->output().find("leading") != std::string::npos;
  })) << a->output();
  auto b = start("pod-b");
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(b->output().find("leading"), std::string::npos) << "a renews its lease";
  a->signal(SIGKILL);
  a->wait(5);
  EXPECT_TRUE(hm::testing::eventually(10, [&] {
    return b->output().find("leading") != std::string::npos;
  })) << b->output();
  auto c = start("pod-c");
  b->signal(SIGTERM);
  EXPECT_TRUE(hm::testing::eventually(10, [&] {
    return b->output().find("released") != std::string::npos;
  })) << b->output();
  EXPECT_TRUE(hm::testing::eventually(10, [&] {
    return c->output().find("leading") != std::string::npos;
  })) << c->output();
  c->signal(SIGTERM);
  c->wait(5);
}

}  // namespace
}  // namespace hm::kube
