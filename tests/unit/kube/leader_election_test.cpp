// Leader election's timing rules on fake time, against a mocked API server: the fence closes at
// the renew deadline counted from when the last renewal was sent (even while a renewal hangs),
// a leader that cannot renew steps down, a standby waits out a held lease on its own clock,
// and release() waits for the renew loop before it hands the lease back. (Against kube-sim and
// between processes: tests/e2e/leader_election_e2e_test.cpp.)
#include "harbormaster/kube/leader_election.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "support/fake_timers.h"
#include "support/mock_clients.h"

namespace hm::kube {
namespace {

namespace asio = boost::asio;
using hm::testing::ready;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::_;
using ::testing::NiceMock;

class LeaderElectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.nameSpace = "harbormaster";
    options_.name = "harbormaster-operator";
    options_.identity = "pod-a";
    options_.leaseDuration = seconds(15);
    options_.renewDeadline = seconds(10);
    options_.retryPeriod = seconds(2);
    options_.timers = &timers_;
    // The API server: a Lease store with resourceVersions, unless a test breaks it.
    ON_CALL(*kube_, get(_, _, _, _)).WillByDefault([this](auto, auto, auto, auto) {
      return answer(lease_.is_null() ? StatusOr<json>(notFound("leases \"x\" not found"))
                                     : StatusOr<json>(lease_));
    });
    ON_CALL(*kube_, create(_, _, _, _)).WillByDefault([this](auto, auto, json o, auto) {
      o["metadata"]["resourceVersion"] = std::to_string(++version_);
      lease_ = o;
      return answer(StatusOr<json>(o));
    });
    ON_CALL(*kube_, update(_, _, _, _)).WillByDefault([this](auto, auto, json o, auto) {
      if (o["metadata"].value("resourceVersion", "") != lease_["metadata"]["resourceVersion"]) {
        return answer(StatusOr<json>(conflict("the object has been modified")));
      }
      ++updates_;
      o["metadata"]["resourceVersion"] = std::to_string(++version_);
      lease_ = o;
      return answer(StatusOr<json>(o));
    });
  }

  // What the API server answers: at once, or (hanging_) only after an hour of fake time.
  asio::awaitable<StatusOr<json>> answer(StatusOr<json> value) {
    if (hanging_) {
      const auto never = timers_.steadyNow() + std::chrono::hours(1);
      co_await net::sleepUntil(timers_, never);
      co_return StatusOr<json>(unavailable("timed out"));
    }
    if (failing_) {
      co_return StatusOr<json>(unavailable("connection refused"));
    }
    co_return value;
  }

  void start() {
    elector_ = std::make_unique<LeaderElector>(kube_, options_);
    asio::co_spawn(
        io_,
        [this]() -> asio::awaitable<void> {
          co_await elector_->run([this] { ++started_; }, [this] { ++stopped_; });
          ended_ = true;
        },
        asio::detached);
    run();
  }
  void run() {
    io_.restart();
    io_.poll();
  }
  void advance(milliseconds by) {
    timers_.advance(by);
    run();
  }
  bool fenceOpen() const { return elector_->fence()->valid(timers_.steadyNow()); }

  asio::io_context io_;
  hm::testing::FakeTimers timers_;
  std::shared_ptr<NiceMock<hm::testing::MockKubeClient>> kube_ =
      std::make_shared<NiceMock<hm::testing::MockKubeClient>>();
  LeaderElectionOptions options_;
  std::unique_ptr<LeaderElector> elector_;
  json lease_;
  int version_ = 0;
  int updates_ = 0;
  bool hanging_ = false;
  bool failing_ = false;
  int started_ = 0;
  int stopped_ = 0;
  bool ended_ = false;
};

TEST_F(LeaderElectorTest, TheFenceClosesAtTheRenewDeadlineEvenWhileARenewalHangs) {
  start();
  ASSERT_TRUE(elector_->leading());
  EXPECT_EQ(started_, 1);
  EXPECT_EQ(lease_["spec"]["holderIdentity"], "pod-a");
  EXPECT_EQ(lease_["spec"]["leaseDurationSeconds"], 15);
  const auto acquired = timers_.steadyNow();
  EXPECT_EQ(elector_->fence()->validUntil(), acquired + seconds(10));
  advance(seconds(2));  // a renewal, sent at +2 s
  EXPECT_EQ(elector_->fence()->validUntil(), acquired + seconds(12));
  hanging_ = true;  // the API server stops answering: the renewal sent at +4 s hangs
  advance(seconds(2));
  advance(milliseconds(7'999));
  EXPECT_TRUE(fenceOpen()) << "10 s after the last good renewal was sent (+2 s), less 1 ms";
  advance(milliseconds(1));
  EXPECT_FALSE(fenceOpen()) << "closed at the renew deadline";
  EXPECT_TRUE(elector_->leading()) << "the renew loop has not noticed yet: the fence does not wait";
  EXPECT_EQ(stopped_, 0);
}

TEST_F(LeaderElectorTest, ALeaderThatCannotRenewStepsDownAndLeadsAgainLater) {
  start();
  ASSERT_TRUE(elector_->leading());
  failing_ = true;
  for (int i = 0; i < 4; ++i) {
    advance(seconds(2));  // failed renewals at +2, +4, +6, +8 s
  }
  EXPECT_TRUE(elector_->leading());
  EXPECT_TRUE(fenceOpen());
  advance(seconds(2));  // +10 s: the deadline
  EXPECT_FALSE(elector_->leading());
  EXPECT_EQ(stopped_, 1);
  EXPECT_FALSE(fenceOpen());
  failing_ = false;
  advance(seconds(2));
  EXPECT_TRUE(elector_->leading()) << "its own lease, unchanged: it renews and leads again";
  EXPECT_EQ(started_, 2);
  EXPECT_TRUE(fenceOpen());
}

TEST_F(LeaderElectorTest, AStandbyWaitsOutAHeldLeaseOnItsOwnClock) {
  lease_ = {{"apiVersion", "coordination.k8s.io/v1"},
            {"kind", "Lease"},
            {"metadata", {{"name", "harbormaster-operator"}, {"resourceVersion", "7"}}},
            // A renewTime far in the past: the holder's clock says nothing to a standby.
            {"spec",
             {{"holderIdentity", "pod-b"},
              {"leaseDurationSeconds", 15},
              {"renewTime", "2020-01-01T00:00:00.000000Z"},
              {"leaseTransitions", 3}}}};
  version_ = 7;
  start();
  EXPECT_FALSE(elector_->leading());
  EXPECT_FALSE(fenceOpen());
  advance(seconds(14));
  EXPECT_FALSE(elector_->leading()) << "15 s from when this process first saw the lease";
  advance(seconds(2));
  ASSERT_TRUE(elector_->leading());
  EXPECT_EQ(lease_["spec"]["holderIdentity"], "pod-a");
  EXPECT_EQ(lease_["spec"]["leaseTransitions"], 4);
  EXPECT_TRUE(fenceOpen());
}

TEST_F(LeaderElectorTest, ReleaseWaitsForTheRenewLoopThenHandsTheLeaseBack) {
  start();
  ASSERT_TRUE(elector_->leading());
  hanging_ = true;
  advance(seconds(2));  // a renewal in flight when the release comes
  Status released = internalError("not yet");
  bool releaseDone = false;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        released = co_await elector_->release();
        releaseDone = true;
      },
      asio::detached);
  run();
  EXPECT_FALSE(releaseDone) << "not while the loop's renewal is in flight";
  EXPECT_EQ(stopped_, 0);
  hanging_ = false;
  advance(std::chrono::hours(1));  // the renewal gives up; the loop ends; the release writes
  ASSERT_TRUE(releaseDone);
  EXPECT_TRUE(released.ok()) << released.toString();
  EXPECT_TRUE(ended_);
  EXPECT_EQ(stopped_, 1) << "stopped once, before the lease was handed back";
  EXPECT_FALSE(fenceOpen());
  EXPECT_EQ(lease_["spec"]["holderIdentity"], "");
  EXPECT_EQ(lease_["spec"]["leaseDurationSeconds"], 1);
}

}  // namespace
}  // namespace hm::kube
