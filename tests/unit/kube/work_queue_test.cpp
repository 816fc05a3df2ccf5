// WorkQueue: de-duplication, one worker per item, per-item backoff, clean shutdown.
#include "harbormaster/kube/work_queue.h"

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <future>
#include <mutex>

#include "support/async.h"
#include "support/process.h"

namespace hm::kube {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

asio::awaitable<void> sleepFor(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

struct Recorder {
  std::mutex mu;
  std::map<std::string, int> calls;
  std::map<std::string, int> active;
  int maxActiveSameKey = 0;
  std::vector<Clock::time_point> times;

  int count(const std::string& k) {
    std::lock_guard lock(mu);
    return calls[k];
  }
};

TEST(WorkQueueTest, DeduplicatesQueuedItems) {
  hm::testing::IoThreads io;
  Recorder rec;
  auto q = WorkQueue::create(io.ioc().get_executor(), {});
  for (const char* k : {"a", "a", "b", "a", "b"}) {
    q->add(k);
  }
  q->start([&](std::string key) -> asio::awaitable<Status> {
    std::lock_guard lock(rec.mu);
    ++rec.calls[key];
    co_return okStatus();
  });
  ASSERT_TRUE(
      hm::testing::eventually(5, [&] { return rec.count("a") == 1 && rec.count("b") == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(rec.count("a"), 1) << "queued five times, processed once";
  std::promise<void> done;
  q->shutdown([&] { done.set_value(); });
  done.get_future().get();
}

// addAfter keeps one pending add per key, the earliest: asking again (every resync) neither
// piles up timers nor postpones what is already due sooner.
TEST(WorkQueueTest, AddAfterKeepsTheEarliestTimePerKey) {
  hm::testing::IoThreads io;
  Recorder rec;
  auto q = WorkQueue::create(io.ioc().get_executor(), {});
  q->start([&](std::string key) -> asio::awaitable<Status> {
    std::lock_guard lock(rec.mu);
    ++rec.calls[key];
    co_return okStatus();
  });
  for (int i = 0; i < 100; ++i) {
    q->addAfter("a", std::chrono::hours(1));
  }
  q->addAfter("b", std::chrono::hours(1));
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return q->delayed() == 2; }))
      << q->delayed() << " timers for two keys";
  q->addAfter("a", std::chrono::milliseconds(20));  // sooner: replaces the hour
  q->addAfter("b", std::chrono::hours(2));          // later: ignored
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return rec.count("a") == 1; }));
  EXPECT_TRUE(hm::testing::eventually(5, [&] { return q->delayed() == 1; })) << "b is left";
  EXPECT_EQ(rec.count("b"), 0);
  std::promise<void> done;
  q->shutdown([&] { done.set_value(); });
  done.get_future().get();
}

// An exception thrown by a reconcile is a failure: logged, counted, retried with backoff. The
// single worker survives it and goes on with other items.
TEST(WorkQueueTest, AProcessThatThrowsIsRetriedAndTheWorkerSurvives) {
  hm::testing::IoThreads io;
  Recorder rec;
  auto q = WorkQueue::create(io.ioc().get_executor(), {.workers = 1});
  q->start([&](std::string key) -> asio::awaitable<Status> {
    int call = 0;
    {
      std::lock_guard lock(rec.mu);
      call = ++rec.calls[key];
    }
    if (key == "bad" && call == 1) {
      throw std::runtime_error("reconcile exploded");
    }
    co_return okStatus();
  });
  q->add("bad");
  q->add("good");
  ASSERT_TRUE(
      hm::testing::eventually(5, [&] { return rec.count("bad") == 2 && rec.count("good") == 1; }));
  EXPECT_EQ(q->threw(), 1u);
  q->add("later");
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return rec.count("later") == 1; }));
  std::promise<void> done;
  q->shutdown([&] { done.set_value(); });
  done.get_future().get();
}

TEST(WorkQueueTest, AnItemAddedWhileProcessingRunsAgainButNeverConcurrently) {
  hm::testing::IoThreads io;
  Recorder rec;
  auto q = WorkQueue::create(io.ioc().get_executor(), {.workers = 4});
  q->start([&](std::string key) -> asio::awaitable<Status> {
    {
      std::lock_guard lock(rec.mu);
      ++rec.calls[key];
      rec.maxActiveSameKey = std::max(rec.maxActiveSameKey, ++rec.active[key]);
    }
    co_await sleepFor(std::chrono::milliseconds(30));
    {
      std::lock_guard lock(rec.mu);
      --rec.active[key];
    }
    co_return okStatus();
  });
  q->add("k");
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return rec.count("k") == 1; }));
  q->add("k");  // while the first run sleeps
  q->add("k");
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return rec.count("k") == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(rec.count("k"), 2);
  std::lock_guard lock(rec.mu);
  EXPECT_EQ(rec.maxActiveSameKey, 1) << "four workers, but one item is only ever in one";
}

TEST(WorkQueueTest, FailuresBackOffExponentiallyUpToTheCap) {
  hm::testing::IoThreads io;
  Recorder rec;
  auto q =
      WorkQueue::create(io.ioc().get_executor(), {.workers = 1,
                                                  .initialBackoff = std::chrono::milliseconds(20),
                                                  .maxBackoff = std::chrono::milliseconds(80)});
  q->start([&](std::string key) -> asio::awaitable<Status> {
    std::lock_guard lock(rec.mu);
    rec.times.push_back(Clock::now());
    co_return ++rec.calls[key] <= 4 ? unavailable("not yet") : okStatus();
  });
  q->add("x");
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return rec.count("x") == 5; }));
  std::lock_guard lock(rec.mu);
  // Waits of at least 20, 40, 80 and 80 (capped) ms between attempts.
  const int expected[] = {20, 40, 80, 80};
  for (int i = 0; i < 4; ++i) {
    auto gap =
        std::chrono::duration_cast<std::chrono::milliseconds>(rec.times[i + 1] - rec.times[i]);
    EXPECT_GE(gap.count(), expected[i]) << "attempt " << i + 2;
  }
}

TEST(WorkQueueTest, RetriesOfAllItemsShareATokenBucket) {
  hm::testing::IoThreads io;
  Recorder rec;
  // Ten tokens a second, two at once: the third and later retries wait for tokens even though
  // each item's own backoff is 1 ms.
  auto q =
      WorkQueue::create(io.ioc().get_executor(), {.workers = 4,
                                                  .initialBackoff = std::chrono::milliseconds(1),
                                                  .maxBackoff = std::chrono::milliseconds(1),
                                                  .retryQps = 10,
                                                  .retryBurst = 2});
  const auto started = Clock::now();
  std::map<std::string, Clock::time_point> retried;
  q->start([&](std::string key) -> asio::awaitable<Status> {
    std::lock_guard lock(rec.mu);
    if (++rec.calls[key] == 1) {
      co_return unavailable("first attempt fails");
    }
    retried[key] = Clock::now();
    co_return okStatus();
  });
  for (const char* k : {"a", "b", "c", "d", "e"}) {
    q->add(k);
  }
  ASSERT_TRUE(hm::testing::eventually(10, [&] {
    std::lock_guard lock(rec.mu);
    return retried.size() == 5;
  }));
  std::lock_guard lock(rec.mu);
  std::vector<Clock::time_point> times;
  for (const auto& [_, t] : retried) {
    times.push_back(t);
  }
  std::sort(times.begin(), times.end());
  // Two tokens at once, then one per 100 ms: the last retry is at least 300 ms in.
  EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(times[4] - started).count(), 290);
}

TEST(WorkQueueTest, ShutdownWaitsForItemsInFlight) {
  hm::testing::IoThreads io;
  std::atomic<bool> finished{false};
  auto q = WorkQueue::create(io.ioc().get_executor(), {});
  q->start([&](std::string) -> asio::awaitable<Status> {
    co_await sleepFor(std::chrono::milliseconds(100));
    finished = true;
    co_return okStatus();
  });
  q->add("slow");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::promise<bool> done;
  q->shutdown([&] { done.set_value(finished.load()); });
  EXPECT_TRUE(done.get_future().get()) << "done runs after the item finished";
  q->add("late");  // ignored after shutdown
}

}  // namespace
}  // namespace hm::kube

namespace hm::kube {
namespace {

// What a queue reports, by the name it was given.
struct RecordedMetrics final : WorkQueueMetrics {
  std::mutex mu;
  std::vector<std::string> events;
  size_t lastDepth = 99;
  void note(const std::string& e) {
    std::lock_guard lock(mu);
    events.push_back(e);
  }
  void added(const std::string& q) override { note("added " + q); }
  void depth(const std::string&, size_t d) override {
    std::lock_guard lock(mu);
    lastDepth = d;
  }
  void waited(const std::string& q, double s) override {
    note("waited " + q + (s >= 0 ? "" : " negative"));
  }
  void worked(const std::string& q, double s) override {
    note("worked " + q + (s >= 0 ? "" : " negative"));
  }
  void retried(const std::string& q) override { note("retried " + q); }
  int count(const std::string& e) {
    std::lock_guard lock(mu);
    return static_cast<int>(std::count(events.begin(), events.end(), e));
  }
};

TEST(WorkQueueMetricsTest, AddsWaitsWorkRetriesAndWorkInFlightAreReported) {
  hm::testing::IoThreads io;
  auto metrics = std::make_shared<RecordedMetrics>();
  WorkQueueOptions o;
  o.name = "robotaccount";
  o.metrics = metrics;
  auto q = WorkQueue::create(io.ioc().get_executor(), o);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> calls{0};
  q->start([&](std::string key) -> asio::awaitable<Status> {
    if (key == "slow") {
      released.wait();  // holds this worker: the test reads inFlight meanwhile
      co_return okStatus();
    }
    co_return ++calls == 1 ? unavailable("Harbor is down") : okStatus();
  });
  q->add("flaky");
  // The second run's work is recorded after it returns: wait for that, not for the call.
  ASSERT_TRUE(
      hm::testing::eventually(5, [&] { return metrics->count("worked robotaccount") == 2; }));
  EXPECT_EQ(metrics->count("added robotaccount"), 2) << "the add and the retry's add";
  EXPECT_EQ(metrics->count("retried robotaccount"), 1);
  EXPECT_EQ(metrics->count("waited robotaccount"), 2);
  EXPECT_EQ(metrics->count("worked robotaccount"), 2);
  q->add("slow");
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return q->inFlight().processing == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto f = q->inFlight();
  EXPECT_GT(f.longestSeconds, 0.0);
  EXPECT_EQ(f.unfinishedSeconds, f.longestSeconds) << "one item in flight";
  release.set_value();
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return q->inFlight().processing == 0; }));
  EXPECT_EQ(metrics->lastDepth, 0u);
  std::promise<void> done;
  q->shutdown([&] { done.set_value(); });
  done.get_future().get();
}

}  // namespace
}  // namespace hm::kube
