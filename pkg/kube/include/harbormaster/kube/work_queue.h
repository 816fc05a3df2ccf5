// A de-duplicating work queue with per-item exponential backoff, as controllers use one.
//
//   auto q = WorkQueue::create(executor, {.workers = 2});
//   q->start([&](std::string key) -> awaitable<Status> { return reconcile(key); });
//   q->add("shop/web");
//
// An item is queued at most once; one added while a worker holds it is queued again when that
// worker finishes, so no two workers ever process the same item at once. A failed item comes
// back after 5 ms, 10 ms, 20 ms … (capped), and no sooner than the shared retry bucket allows;
// a success forgets its failures. All state lives on
// one strand; add() may be called from any thread.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>: every header
// that may bring it in includes <utility> first, so include order never matters.
#include <utility>

#include "harbormaster/net/server.h"

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "harbormaster/base/status.h"
#include "harbormaster/net/timers.h"

namespace hm::kube {

// What client-go's workqueue reports, under its metric names (workqueue_*{name}); the operator
// implements it over its metrics registry.
class WorkQueueMetrics {
 public:
  virtual ~WorkQueueMetrics() = default;
  virtual void added(const std::string& queue) = 0;                   // workqueue_adds_total
  virtual void depth(const std::string& queue, size_t depth) = 0;     // workqueue_depth
  virtual void waited(const std::string& queue, double seconds) = 0;  // …_queue_duration_seconds
  virtual void worked(const std::string& queue, double seconds) = 0;  // …_work_duration_seconds
  virtual void retried(const std::string& queue) = 0;                 // workqueue_retries_total
};

struct WorkQueueOptions {
  int workers = 1;
  std::chrono::milliseconds initialBackoff{5};
  std::chrono::milliseconds maxBackoff{60'000};
  // Retries across all items share a token bucket (as controller-runtime's default limiter), so
  // an outage that fails everything does not turn into a retry storm.
  double retryQps = 10;
  int retryBurst = 100;
  std::string name = {};  // the metrics' `name` label: the controller's name
  std::shared_ptr<WorkQueueMetrics> metrics = {};  // optional
  // Backoff, delayed adds, the retry bucket and the metrics' durations read this (tests move
  // it by hand).
  const net::Timers* timers = &net::Timers::system();
};

class WorkQueue : public std::enable_shared_from_this<WorkQueue> {
 public:
  using Process = std::function<boost::asio::awaitable<Status>(std::string key)>;

  static std::shared_ptr<WorkQueue> create(boost::asio::any_io_executor executor,
                                           WorkQueueOptions options);
  virtual ~WorkQueue() = default;

  virtual void start(Process process) = 0;
  virtual void add(std::string key) = 0;
  virtual void addAfter(std::string key, std::chrono::milliseconds delay) = 0;
  // Stops handing out items; `done` runs once in-flight items have finished.
  virtual void shutdown(std::function<void()> done) = 0;
  // For tests and metrics (read on the strand; approximate from elsewhere).
  virtual size_t queued() const = 0;
  // Keys waiting for an addAfter time (one each, the earliest).
  virtual size_t delayed() const = 0;
  virtual int failures(const std::string& key) const = 0;
  // Items whose processing threw (each is counted as a failure and retried).
  virtual uint64_t threw() const = 0;
  // Items being processed now: the sum of their running times and the longest one, in seconds
  // (workqueue_unfinished_work_seconds and workqueue_longest_running_processor_seconds). Safe
  // from any thread.
  struct InFlight {
    double unfinishedSeconds = 0;
    double longestSeconds = 0;
    int processing = 0;
  };
  virtual InFlight inFlight() const = 0;
};

}  // namespace hm::kube
