// FactCache without a registry or a simulator: fake lookups, a fake clock, real coroutines.
#include "harbormaster/facts/fact_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <stdexcept>
#include <thread>

#include "harbormaster/net/task_group.h"
#include "support/async.h"
#include "support/fake_clock.h"

namespace hm::facts {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using hm::testing::FakeClock;
using hm::testing::runOn;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

using Cache = FactCache<std::string>;
using Deadline = Cache::Deadline;

Deadline in(std::chrono::milliseconds d) {
  return std::chrono::steady_clock::now() + d;
}

// A lookup that counts its calls and returns `value` (positive unless told otherwise).
struct Counted {
  std::atomic<int> calls{0};
  Cache::Lookup make(std::string value, bool positive = true) {
    return [this, value, positive]() -> awaitable<StatusOr<Looked<std::string>>> {
      ++calls;
      co_return Looked<std::string>{std::make_shared<std::string>(value), positive};
    };
  }
};

// A lookup that waits until released: the test decides when a flight lands.
struct Gate {
  std::shared_ptr<net::Flight<bool>> open = std::make_shared<net::Flight<bool>>();
  std::atomic<int> started{0};
  Cache::Lookup make(std::string value) {
    return [this, value]() -> awaitable<StatusOr<Looked<std::string>>> {
      ++started;
      co_await open->wait();
      co_return Looked<std::string>{std::make_shared<std::string>(value), true};
    };
  }
};

void waitFor(const std::function<bool()>& condition) {
  for (int i = 0; i < 2000 && !condition(); ++i) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(condition()) << "the condition was not reached within 10 s";
}

class FactCacheTest : public ::testing::Test {
 protected:
  Got<std::string> get(Cache& cache, const std::string& key, Cache::Lookup lookup,
                       Cache::Accept accept = {}) {
    return runOn(io_.ioc(), cache.get(key, in(10s), std::move(lookup), std::move(accept)));
  }

  FakeClock clock_;
  hm::testing::IoThreads io_;
};

TEST_F(FactCacheTest, PositiveAndNegativeValuesLiveTheirOwnTtl) {
  Cache cache({.positiveTtl = 60s, .negativeTtl = 10s}, clock_);
  Counted good, bad;
  EXPECT_FALSE(get(cache, "good", good.make("g")).hit);
  EXPECT_FALSE(get(cache, "bad", bad.make("b", false)).hit);
  clock_.advance(9s);
  EXPECT_TRUE(get(cache, "good", good.make("g")).hit);
  EXPECT_TRUE(get(cache, "bad", bad.make("b", false)).hit);
  clock_.advance(1s);
  EXPECT_TRUE(get(cache, "good", good.make("g")).hit);
  EXPECT_FALSE(get(cache, "bad", bad.make("b", false)).hit) << "negative TTL over";
  clock_.advance(50s);
  auto again = get(cache, "good", good.make("g2"));
  EXPECT_FALSE(again.hit) << "positive TTL over";
  EXPECT_EQ(*again.value, "g2");
  EXPECT_EQ(good.calls, 2);
  EXPECT_EQ(bad.calls, 2);
}

TEST_F(FactCacheTest, KeepsAtMostMaxEntriesEvictingTheLeastRecentlyUsed) {
  Cache cache({.maxEntries = 2}, clock_);
  Counted c;
  get(cache, "a", c.make("a"));
  get(cache, "b", c.make("b"));
  EXPECT_TRUE(get(cache, "a", c.make("a")).hit);  // a is now the most recent
  get(cache, "c", c.make("c"));                   // evicts b
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(get(cache, "a", c.make("a")).hit);
  EXPECT_FALSE(get(cache, "b", c.make("b")).hit);
}

TEST_F(FactCacheTest, FailuresAreNotCachedAndAFailedRefreshServesTheStaleValue) {
  Cache cache({.positiveTtl = 60s, .staleFor = 3600s}, clock_);
  Counted c;
  get(cache, "k", c.make("old"));
  clock_.advance(61s);
  auto failing = []() -> awaitable<StatusOr<Looked<std::string>>> {
    co_return unavailable("Harbor is down");
  };
  auto stale = get(cache, "k", failing);
  EXPECT_TRUE(stale.stale());
  EXPECT_EQ(*stale.value, "old");
  EXPECT_THAT(stale.status.message(), HasSubstr("Harbor is down"));
  auto fresh = get(cache, "k", c.make("new"));
  EXPECT_FALSE(fresh.hit) << "the failure was not remembered";
  EXPECT_EQ(*fresh.value, "new");
  clock_.advance(61s + 3600s);
  auto tooOld = get(cache, "k", failing);
  EXPECT_EQ(tooOld.value, nullptr) << "past the stale window nothing is served";
  auto none = get(cache, "never", failing);
  EXPECT_EQ(none.value, nullptr);
  EXPECT_FALSE(none.status.ok());
}

TEST_F(FactCacheTest, AcceptMayRefuseACachedValue) {
  Cache cache({}, clock_);
  Counted c;
  get(cache, "k", c.make("unscanned"));
  auto refused = get(cache, "k", c.make("scan requested"),
                     [](const std::string& v) { return v != "unscanned"; });
  EXPECT_FALSE(refused.hit);
  EXPECT_EQ(*refused.value, "scan requested");
  EXPECT_TRUE(get(cache, "k", c.make("x")).hit);
}

TEST_F(FactCacheTest, PeekAnswersFromTheCacheAloneAndHonoursTtlAndAccept) {
  Cache cache({.positiveTtl = 60s}, clock_);
  Counted c;
  EXPECT_EQ(cache.peek("k"), nullptr);
  get(cache, "k", c.make("v"));
  ASSERT_NE(cache.peek("k"), nullptr);
  EXPECT_EQ(*cache.peek("k"), "v");
  EXPECT_EQ(cache.peek("k", [](const std::string& v) { return v != "v"; }), nullptr);
  clock_.advance(60s);
  EXPECT_EQ(cache.peek("k"), nullptr) << "expired";
  EXPECT_EQ(c.calls, 1) << "peek never looks up";
}

TEST_F(FactCacheTest, EraseIfForgetsMatchingKeys) {
  Cache cache({}, clock_);
  Counted c;
  get(cache, "repo@sha256:1", c.make("1"));
  get(cache, "repo@sha256:2", c.make("2"));
  cache.eraseIf([](const std::string& k) { return k.ends_with("sha256:1"); });
  EXPECT_FALSE(get(cache, "repo@sha256:1", c.make("1")).hit);
  EXPECT_TRUE(get(cache, "repo@sha256:2", c.make("2")).hit);
}

TEST_F(FactCacheTest, ConcurrentCallersShareOneLookup) {
  Cache cache({}, clock_);
  Gate gate;
  std::vector<std::future<Got<std::string>>> waiting;
  std::vector<std::promise<Got<std::string>>> results(16);
  for (auto& p : results) {
    waiting.push_back(p.get_future());
    asio::co_spawn(io_.ioc(), hm::testing::deliver(cache.get("k", in(30s), gate.make("v")), &p),
                   asio::detached);
  }
  waitFor([&] { return gate.started == 1; });
  gate.open->finish(true);
  for (auto& f : waiting) {
    Got<std::string> got = f.get();
    ASSERT_TRUE(got.status.ok());
    EXPECT_EQ(*got.value, "v");
  }
  EXPECT_EQ(gate.started, 1) << "one lookup for sixteen callers";
}

TEST_F(FactCacheTest, AWaiterReturnsAtItsOwnDeadlineNotTheLeaders) {
  Cache cache({}, clock_);
  Gate gate;
  std::promise<Got<std::string>> leader;
  auto leaderResult = leader.get_future();
  asio::co_spawn(io_.ioc(), hm::testing::deliver(cache.get("k", in(60s), gate.make("v")), &leader),
                 asio::detached);
  waitFor([&] { return gate.started == 1; });
  auto waiter = runOn(io_.ioc(), cache.get("k", in(50ms), gate.make("never")));
  EXPECT_EQ(waiter.status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(waiter.status.message(), HasSubstr("still running"));
  EXPECT_EQ(leaderResult.wait_for(0s), std::future_status::timeout) << "the leader goes on";
  gate.open->finish(true);
  EXPECT_EQ(*leaderResult.get().value, "v");
}

TEST_F(FactCacheTest, ALeaderThatThrowsWakesItsWaitersWithTheError) {
  Cache cache({}, clock_);
  auto open = std::make_shared<net::Flight<bool>>();
  std::atomic<int> started{0};
  auto throwing = [&]() -> awaitable<StatusOr<Looked<std::string>>> {
    ++started;
    co_await open->wait();
    throw std::runtime_error("parser exploded");
  };
  std::promise<Got<std::string>> leader, waiter;
  auto leaderResult = leader.get_future(), waiterResult = waiter.get_future();
  asio::co_spawn(io_.ioc(), hm::testing::deliver(cache.get("k", in(30s), throwing), &leader),
                 asio::detached);
  waitFor([&] { return started == 1; });
  Counted unused;
  // On one strand the waiter has joined the flight (it suspends there) before the lookup is
  // released: otherwise the leader may land first and the "waiter" leads a lookup of its own.
  auto strand = asio::make_strand(io_.ioc());
  asio::co_spawn(strand, hm::testing::deliver(cache.get("k", in(30s), unused.make("x")), &waiter),
                 asio::detached);
  asio::post(strand, [open] { open->finish(true); });
  for (auto* f : {&leaderResult, &waiterResult}) {
    Got<std::string> got = f->get();
    EXPECT_EQ(got.status.code(), StatusCode::kInternal);
    EXPECT_THAT(got.status.message(), HasSubstr("parser exploded"));
  }
  EXPECT_EQ(unused.calls, 0);
  EXPECT_FALSE(get(cache, "k", unused.make("after")).hit) << "the failure was not cached";
}

TEST_F(FactCacheTest, ALeaderDestroyedMidLookupStillCompletesItsFlight) {
  Cache cache({}, clock_);
  std::atomic<int> started{0};
  auto forever = [&]() -> awaitable<StatusOr<Looked<std::string>>> {
    ++started;
    asio::steady_timer never(co_await asio::this_coro::executor, std::chrono::hours(24));
    co_await never.async_wait(asio::use_awaitable);
    co_return internalError("unreachable");
  };
  {
    // The leader runs on its own io_context, destroyed (with the leader's frame) mid-lookup.
    auto own = std::make_unique<asio::io_context>();
    asio::co_spawn(*own, cache.get("k", in(24h), forever), asio::detached);
    std::thread runner([&] { own->run_for(2s); });
    waitFor([&] { return started == 1; });
    std::promise<Got<std::string>> waiter;
    auto result = waiter.get_future();
    Counted unused;
    // One thread runs handlers in order: once the marker ran, the waiter has joined the flight
    // (its get() suspends in its first step), so it cannot become a leader itself.
    hm::testing::IoThreads waiterIo(1);
    asio::co_spawn(waiterIo.ioc(),
                   hm::testing::deliver(cache.get("k", in(60s), unused.make("x")), &waiter),
                   asio::detached);
    std::promise<void> joined;
    asio::post(waiterIo.ioc(), [&] { joined.set_value(); });
    joined.get_future().get();
    own->stop();
    runner.join();
    own.reset();  // destroys the suspended leader
    Got<std::string> got = result.get();
    EXPECT_EQ(got.status.code(), StatusCode::kUnavailable);
    EXPECT_THAT(got.status.message(), HasSubstr("abandoned"));
    EXPECT_EQ(unused.calls, 0) << "the waiter joined the flight, it did not lead one";
  }
  Counted next;
  EXPECT_EQ(*get(cache, "k", next.make("fresh")).value, "fresh") << "a new flight starts";
}

TEST(TaskGroupTest, ATaskThatThrowsIsReportedAndTheOthersFinish) {
  hm::testing::IoThreads io;
  auto ran = std::make_shared<std::atomic<int>>(0);
  auto outcomes = runOn(io.ioc(), net::runConcurrently(net::tasks(
                                      [ran]() -> awaitable<void> {
                                        ++*ran;
                                        co_return;
                                      },
                                      []() -> awaitable<void> {
                                        throw std::runtime_error("boom");
                                        co_return;
                                      },
                                      [ran]() -> awaitable<void> {
                                        ++*ran;
                                        co_return;
                                      })));
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0].state, net::TaskOutcome::State::kFinished);
  EXPECT_EQ(outcomes[1].state, net::TaskOutcome::State::kThrew);
  EXPECT_EQ(outcomes[1].error, "boom");
  EXPECT_EQ(outcomes[2].state, net::TaskOutcome::State::kFinished);
  EXPECT_EQ(*ran, 2);
}

TEST(TaskGroupTest, TasksRunTogetherAndAHangingOneIsCutAtTheDeadline) {
  hm::testing::IoThreads io;
  // Each of the first two waits for the other to start: they finish only if run concurrently.
  auto a = std::make_shared<net::Flight<bool>>(), b = std::make_shared<net::Flight<bool>>();
  auto never = std::make_shared<net::Flight<bool>>();
  auto outcomes = runOn(
      io.ioc(), net::runConcurrently(net::tasks(
                                         [a, b]() -> awaitable<void> {
                                           a->finish(true);
                                           co_await b->wait();
                                         },
                                         [a, b]() -> awaitable<void> {
                                           b->finish(true);
                                           co_await a->wait();
                                         },
                                         [never]() -> awaitable<void> { co_await never->wait(); }),
                                     in(300ms)));
  EXPECT_EQ(outcomes[0].state, net::TaskOutcome::State::kFinished);
  EXPECT_EQ(outcomes[1].state, net::TaskOutcome::State::kFinished);
  EXPECT_EQ(outcomes[2].state, net::TaskOutcome::State::kCut);
  never->finish(true);  // the cut task ends on its own; its group outlives the call
}

}  // namespace
}  // namespace hm::facts
