// WorkQueue: de-duplication, one worker per item, per-item backoff, the shared retry bucket,
// clean shutdown. On fake time: the queue runs on an io_context this thread polls, and time
// moves only when a test advances it, so every wait is asserted exactly and nothing sleeps.
#include "harbormaster/kube/work_queue.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>

#include "support/fake_timers.h"

namespace hm::kube {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

struct Rig {
  asio::io_context io;
  hm::testing::FakeTimers timers;
  std::map<std::string, int> calls;
  std::map<std::string, int> active;
  int maxActiveSameKey = 0;

  std::shared_ptr<WorkQueue> queue(WorkQueueOptions o = {}) {
    o.timers = &timers;
    return WorkQueue::create(io.get_executor(), o);
  }
  // Runs every handler that is ready now, and what those make ready, until none is left.
  void run() {
    io.restart();
    io.poll();
  }
  void advance(milliseconds by) {
    timers.advance(by);
    run();
  }
  asio::awaitable<void> sleep(milliseconds d) {
    const auto until = timers.steadyNow() + d;
    co_await net::sleepUntil(timers, until);
  }
  bool shutdown(WorkQueue& q) {
    bool done = false;
    q.shutdown([&] { done = true; });
    run();
    return done;
  }
};

TEST(WorkQueueTest, DeduplicatesQueuedItems) {
  Rig rig;
  auto q = rig.queue();
  for (const char* k : {"a", "a", "b", "a", "b"}) {
    q->add(k);
  }
  q->start([&](std::string key) -> asio::awaitable<Status> {
    ++rig.calls[key];
    co_return okStatus();
  });
  rig.run();
  rig.advance(std::chrono::hours(1));
  EXPECT_EQ(rig.calls["a"], 1) << "queued three times, processed once";
  EXPECT_EQ(rig.calls["b"], 1);
  EXPECT_TRUE(rig.shutdown(*q));
}

// addAfter keeps one pending add per key, the earliest: asking again (every resync) neither
// piles up timers nor postpones what is already due sooner.
TEST(WorkQueueTest, AddAfterKeepsTheEarliestTimePerKey) {
  Rig rig;
  auto q = rig.queue();
  q->start([&](std::string key) -> asio::awaitable<Status> {
    ++rig.calls[key];
    co_return okStatus();
  });
  for (int i = 0; i < 100; ++i) {
    q->addAfter("a", std::chrono::hours(1));
  }
  q->addAfter("b", std::chrono::hours(1));
  rig.run();
  EXPECT_EQ(q->delayed(), 2u) << "timers for two keys";
  EXPECT_EQ(rig.timers.pending(), 2u);
  q->addAfter("a", milliseconds(20));       // sooner: replaces the hour
  q->addAfter("b", std::chrono::hours(2));  // later: ignored
  rig.run();                                // adds are posted to the queue's strand
  rig.advance(milliseconds(19));
  EXPECT_EQ(rig.calls["a"], 0);
  rig.advance(milliseconds(1));
  EXPECT_EQ(rig.calls["a"], 1);
  EXPECT_EQ(q->delayed(), 1u) << "b is left";
  EXPECT_EQ(rig.timers.pending(), 1u) << "a's hour was cancelled";
  EXPECT_EQ(rig.calls["b"], 0);
  rig.advance(std::chrono::hours(1));
  EXPECT_EQ(rig.calls["b"], 1) << "at its first time, not the later one asked for";
  EXPECT_EQ(rig.calls["a"], 1);
  EXPECT_TRUE(rig.shutdown(*q));
}

// An exception thrown by a reconcile is a failure: logged, counted, retried with backoff. The
// single worker survives it and goes on with other items.
TEST(WorkQueueTest, AProcessThatThrowsIsRetriedAndTheWorkerSurvives) {
  Rig rig;
  WorkQueueOptions o;
  o.workers = 1;
  auto q = rig.queue(o);
  q->start([&](std::string key) -> asio::awaitable<Status> {
    if (++rig.calls[key] == 1 && key == "bad") {
      throw std::runtime_error("reconcile exploded");
    }
    co_return okStatus();
  });
  q->add("bad");
  q->add("good");
  rig.run();
  EXPECT_EQ(rig.calls["bad"], 1);
  EXPECT_EQ(rig.calls["good"], 1) << "the worker went on";
  EXPECT_EQ(q->threw(), 1u);
  EXPECT_EQ(q->failures("bad"), 1);
  rig.advance(o.initialBackoff);
  EXPECT_EQ(rig.calls["bad"], 2) << "retried after its backoff";
  EXPECT_EQ(q->failures("bad"), 0) << "a success forgets the failures";
  q->add("later");
  rig.run();
  EXPECT_EQ(rig.calls["later"], 1);
  EXPECT_TRUE(rig.shutdown(*q));
}

TEST(WorkQueueTest, AnItemAddedWhileProcessingRunsAgainButNeverConcurrently) {
  Rig rig;
  WorkQueueOptions o;
  o.workers = 4;
  auto q = rig.queue(o);
  q->start([&](std::string key) -> asio::awaitable<Status> {
    ++rig.calls[key];
    rig.maxActiveSameKey = std::max(rig.maxActiveSameKey, ++rig.active[key]);
    co_await rig.sleep(milliseconds(30));
    --rig.active[key];
    co_return okStatus();
  });
  q->add("k");
  rig.run();
  EXPECT_EQ(rig.calls["k"], 1);
  q->add("k");  // while the first run sleeps, with three workers idle
  q->add("k");
  rig.run();
  EXPECT_EQ(rig.calls["k"], 1) << "not while it is in flight";
  rig.advance(milliseconds(30));
  EXPECT_EQ(rig.calls["k"], 2) << "once more, for both adds";
  rig.advance(milliseconds(30));
  rig.advance(std::chrono::hours(1));
  EXPECT_EQ(rig.calls["k"], 2);
  EXPECT_EQ(rig.maxActiveSameKey, 1) << "four workers, but one item is only ever in one";
  EXPECT_TRUE(rig.shutdown(*q));
}

TEST(WorkQueueTest, FailuresBackOffExponentiallyUpToTheCap) {
  Rig rig;
  WorkQueueOptions o;
  o.workers = 1;
  o.initialBackoff = milliseconds(20);
  o.maxBackoff = milliseconds(80);
  auto q = rig.queue(o);
  q->start([&](std::string key) -> asio::awaitable<Status> {
    co_return ++rig.calls[key] <= 4 ? unavailable("not yet") : okStatus();
  });
  q->add("x");
  rig.run();
  ASSERT_EQ(rig.calls["x"], 1);
  // Waits of exactly 20, 40, 80 and 80 (capped) ms between attempts.
  int attempt = 1;
  for (int wait : {20, 40, 80, 80}) {
    rig.advance(milliseconds(wait - 1));
    EXPECT_EQ(rig.calls["x"], attempt) << "not before " << wait << " ms";
    rig.advance(milliseconds(1));
    EXPECT_EQ(rig.calls["x"], ++attempt) << "after " << wait << " ms";
  }
  rig.advance(std::chrono::hours(1));
  EXPECT_EQ(rig.calls["x"], 5) << "the fifth attempt succeeded";
  EXPECT_TRUE(rig.shutdown(*q));
}

TEST(WorkQueueTest, RetriesOfAllItemsShareATokenBucket) {
  Rig rig;
  // Ten tokens a second, two at once: the third and later retries wait for tokens even though
  // each item's own backoff is 1 ms.
  WorkQueueOptions o;
  o.workers = 4;
  o.initialBackoff = milliseconds(1);
  o.maxBackoff = milliseconds(1);
  o.retryQps = 10;
  o.retryBurst = 2;
  auto q = rig.queue(o);
  int retried = 0;
  q->start([&](std::string key) -> asio::awaitable<Status> {
    if (++rig.calls[key] == 1) {
      co_return unavailable("first attempt fails");
    }
    ++retried;
    co_return okStatus();
  });
  for (const char* k : {"a", "b", "c", "d", "e"}) {
    q->add(k);
  }
  rig.run();
  rig.advance(milliseconds(1));
  EXPECT_EQ(retried, 2) << "the burst";
  rig.advance(milliseconds(98));
  EXPECT_EQ(retried, 2);
  rig.advance(milliseconds(1));
  EXPECT_EQ(retried, 3) << "one token per 100 ms";
  rig.advance(milliseconds(100));
  EXPECT_EQ(retried, 4);
  rig.advance(milliseconds(100));
  EXPECT_EQ(retried, 5);
  EXPECT_TRUE(rig.shutdown(*q));
}

TEST(WorkQueueTest, ShutdownWaitsForItemsInFlight) {
  Rig rig;
  bool finished = false;
  auto q = rig.queue();
  q->start([&](std::string key) -> asio::awaitable<Status> {
    ++rig.calls[key];
    co_await rig.sleep(milliseconds(100));
    finished = true;
    co_return okStatus();
  });
  q->add("slow");
  rig.run();
  bool done = false;
  q->shutdown([&] { done = finished; });
  rig.run();
  EXPECT_FALSE(done) << "not while the item runs";
  rig.advance(milliseconds(100));
  EXPECT_TRUE(done) << "done runs after the item finished";
  q->add("late");  // ignored after shutdown
  q->addAfter("later", milliseconds(1));
  rig.advance(milliseconds(10));
  EXPECT_EQ(rig.calls["late"], 0);
  EXPECT_EQ(rig.calls["later"], 0);
}

// What a queue reports, by the name it was given.
struct RecordedMetrics final : WorkQueueMetrics {
  std::vector<std::string> events;
  size_t lastDepth = 99;
  std::vector<double> waitedSeconds;
  void added(const std::string& q) override { events.push_back("added " + q); }
  void depth(const std::string&, size_t d) override { lastDepth = d; }
  void waited(const std::string& q, double s) override {
    events.push_back("waited " + q);
    waitedSeconds.push_back(s);
  }
  void worked(const std::string& q, double) override { events.push_back("worked " + q); }
  void retried(const std::string& q) override { events.push_back("retried " + q); }
  int count(const std::string& e) const {
    return static_cast<int>(std::count(events.begin(), events.end(), e));
  }
};

TEST(WorkQueueMetricsTest, AddsWaitsWorkRetriesAndWorkInFlightAreReported) {
  Rig rig;
  auto metrics = std::make_shared<RecordedMetrics>();
  WorkQueueOptions o;
  o.name = "robotaccount";
  o.metrics = metrics;
  auto q = rig.queue(o);
  int calls = 0;
  q->start([&](std::string key) -> asio::awaitable<Status> {
    if (key == "slow") {
      co_await rig.sleep(std::chrono::hours(1));  // holds this worker while the test reads
      co_return okStatus();
    }
    co_return ++calls == 1 ? unavailable("Harbor is down") : okStatus();
  });
  q->add("flaky");
  rig.run();
  rig.advance(o.initialBackoff);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(metrics->count("added robotaccount"), 2) << "the add and the retry's add";
  EXPECT_EQ(metrics->count("retried robotaccount"), 1);
  EXPECT_EQ(metrics->count("waited robotaccount"), 2);
  EXPECT_EQ(metrics->count("worked robotaccount"), 2);
  q->add("slow");
  rig.run();
  EXPECT_EQ(q->inFlight().processing, 1);
  rig.advance(milliseconds(20));
  auto f = q->inFlight();
  EXPECT_DOUBLE_EQ(f.longestSeconds, 0.02);
  EXPECT_EQ(f.unfinishedSeconds, f.longestSeconds) << "one item in flight";
  rig.advance(std::chrono::hours(1));
  EXPECT_EQ(q->inFlight().processing, 0);
  EXPECT_EQ(metrics->lastDepth, 0u);
  EXPECT_TRUE(rig.shutdown(*q));
}

}  // namespace
}  // namespace hm::kube
