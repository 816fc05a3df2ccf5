#include "harbormaster/kube/work_queue.h"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "harbormaster/base/log.h"
#include "harbormaster/net/task_group.h"

namespace hm::kube {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using Timer = asio::steady_timer;

class Queue final : public WorkQueue {
 public:
  Queue(asio::any_io_executor executor, WorkQueueOptions options)
      : strand_(asio::make_strand(executor)),
        options_(options),
        tokens_(options.retryBurst),
        bucketTime_(now()) {}

  void start(Process process) override {
    auto self = std::static_pointer_cast<Queue>(shared_from_this());
    asio::post(strand_, [self, process = std::move(process)]() mutable {
      self->process_ = std::move(process);
      for (int i = 0; i < std::max(1, self->options_.workers); ++i) {
        asio::co_spawn(self->strand_, self->worker(), net::LogFailure{"work queue worker"});
      }
    });
  }

  void add(std::string key) override {
    auto self = std::static_pointer_cast<Queue>(shared_from_this());
    asio::post(strand_, [self, key = std::move(key)] { self->addNow(key); });
  }

  void addAfter(std::string key, std::chrono::milliseconds delay) override {
    auto self = std::static_pointer_cast<Queue>(shared_from_this());
    asio::post(strand_, [self, key = std::move(key), delay] { self->addLater(key, delay); });
  }

  void shutdown(std::function<void()> done) override {
    auto self = std::static_pointer_cast<Queue>(shared_from_this());
    asio::post(strand_, [self, done = std::move(done)]() mutable {
      self->stopping_ = true;
      for (auto& t : self->idle_) {
        t->cancel();
      }
      self->idle_.clear();
      for (auto& [key, delayed] : self->delayed_) {
        delayed.handle->cancel();
      }
      self->delayed_.clear();
      if (self->running_ == 0) {
        done();
      } else {
        self->done_ = std::move(done);
      }
    });
  }

  size_t queued() const override { return queue_.size(); }
  size_t delayed() const override { return delayed_.size(); }

  uint64_t threw() const override { return threw_; }
  InFlight inFlight() const override {
    const auto current = now();
    InFlight out;
    std::lock_guard lock(startedMu_);
    for (const auto& [key, at] : started_) {
      const double s = std::chrono::duration<double>(current - at).count();
      out.unfinishedSeconds += s;
      out.longestSeconds = std::max(out.longestSeconds, s);
      ++out.processing;
    }
    return out;
  }
  Clock::SteadyTime now() const { return options_.timers->steadyNow(); }

  int failures(const std::string& key) const override {
    auto it = failures_.find(key);
    return it == failures_.end() ? 0 : it->second;
  }

 private:
  void addNow(const std::string& key) {
    if (stopping_ || !queued_.insert(key).second) {
      return;  // already waiting
    }
    if (options_.metrics) {
      options_.metrics->added(options_.name);
    }
    enqueuedAt_[key] = now();
    if (processing_.count(key)) {
      return;  // queued again when its worker finishes
    }
    queue_.push_back(key);
    reportDepth();
    wakeOne();
  }

  void reportDepth() {
    if (options_.metrics) {
      options_.metrics->depth(options_.name, queue_.size());
    }
  }

  // One timer per key, the earliest wins (as client-go's delaying queue): a controller that
  // asks again and again for the same key (every resync) holds one timer, not one per ask.
  void addLater(const std::string& key, std::chrono::milliseconds delay) {
    if (stopping_) {
      return;
    }
    const auto due = now() + delay;
    if (auto it = delayed_.find(key); it != delayed_.end()) {
      if (it->second.due <= due) {
        return;
      }
      it->second.handle->cancel();
      delayed_.erase(it);
    }
    auto self = std::static_pointer_cast<Queue>(shared_from_this());
    const uint64_t id = ++delayedIds_;
    auto handle = options_.timers->schedule(strand_, due, [self, key, id](bool fired) {
      if (auto it = self->delayed_.find(key); it != self->delayed_.end() && it->second.id == id) {
        self->delayed_.erase(it);
      }
      if (fired) {
        self->addNow(key);
      }
    });
    delayed_[key] = Delayed{due, id, std::move(handle)};
  }

  void wakeOne() {
    if (!idle_.empty()) {
      idle_.back()->cancel();
      idle_.pop_back();
    }
  }

  std::chrono::milliseconds backoff(int failures) const {
    auto d = options_.initialBackoff;
    for (int i = 1; i < failures && d < options_.maxBackoff; ++i) {
      d *= 2;
    }
    return std::min(d, options_.maxBackoff);
  }

  // Reserves a token from the retry bucket; returns how long until it is available.
  std::chrono::milliseconds retryDelay() {
    const auto current = now();
    double elapsed = std::chrono::duration<double>(current - bucketTime_).count();
    bucketTime_ = current;
    tokens_ = std::min<double>(options_.retryBurst, tokens_ + elapsed * options_.retryQps);
    tokens_ -= 1;
    if (tokens_ >= 0 || options_.retryQps <= 0) {
      return std::chrono::milliseconds(0);
    }
    return std::chrono::milliseconds(static_cast<int64_t>(-tokens_ / options_.retryQps * 1000));
  }

  // The exception boundary: a process that throws is a failure like any other (logged, retried
  // with backoff), never a dead worker with its key stuck in processing_.
  awaitable<Status> processGuarded(const std::string& key) {
    std::string error;
    try {
      auto call = process_(key);
      Status result = co_await std::move(call);
      co_return result;
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }
    ++threw_;
    log::error("Work item processing threw; it will be retried", {{"key", key}, {"error", error}});
    co_return internalError("processing " + key + " threw: " + error);
  }

  awaitable<void> worker() {
    auto self = std::static_pointer_cast<Queue>(shared_from_this());
    ++running_;
    for (;;) {
      while (queue_.empty() && !stopping_) {
        auto timer = std::make_shared<Timer>(strand_, Timer::time_point::max());
        idle_.push_back(timer);
        boost::system::error_code ec;
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (stopping_) {
        break;
      }
      std::string key = queue_.front();
      queue_.pop_front();
      queued_.erase(key);
      reportDepth();
      const auto started = now();
      if (auto it = enqueuedAt_.find(key); it != enqueuedAt_.end()) {
        if (options_.metrics) {
          options_.metrics->waited(options_.name,
                                   std::chrono::duration<double>(started - it->second).count());
        }
        enqueuedAt_.erase(it);
      }
      processing_.insert(key);
      {
        std::lock_guard lock(startedMu_);
        started_[key] = started;
      }
      Status result = co_await processGuarded(key);
      {
        std::lock_guard lock(startedMu_);
        started_.erase(key);
      }
      processing_.erase(key);
      if (options_.metrics) {
        options_.metrics->worked(options_.name,
                                 std::chrono::duration<double>(now() - started).count());
      }
      if (result.ok()) {
        failures_.erase(key);
      } else {
        if (options_.metrics) {
          options_.metrics->retried(options_.name);
        }
        addLater(key, std::max(backoff(++failures_[key]), retryDelay()));
      }
      if (queued_.count(key)) {
        queue_.push_back(key);  // added while it was being processed
        wakeOne();
      }
    }
    if (--running_ == 0 && done_) {
      auto done = std::move(done_);
      done_ = nullptr;
      done();
    }
  }

  asio::strand<asio::any_io_executor> strand_;
  WorkQueueOptions options_;
  Process process_;
  std::deque<std::string> queue_;
  std::set<std::string> queued_;
  std::set<std::string> processing_;
  std::map<std::string, Clock::SteadyTime> enqueuedAt_;
  mutable std::mutex startedMu_;  // started_ is read by metrics scrapes from other threads
  std::map<std::string, Clock::SteadyTime> started_;
  std::atomic<uint64_t> threw_{0};
  std::map<std::string, int> failures_;
  double tokens_ = 0;  // the retry bucket; filled to retryBurst on creation
  Clock::SteadyTime bucketTime_;
  std::vector<std::shared_ptr<Timer>> idle_;
  struct Delayed {
    Clock::SteadyTime due;
    uint64_t id = 0;  // tells a cancelled timer's late callback from its replacement's
    std::shared_ptr<net::TimerHandle> handle;
  };
  std::map<std::string, Delayed> delayed_;  // by key: the earliest pending add
  uint64_t delayedIds_ = 0;
  bool stopping_ = false;
  int running_ = 0;
  std::function<void()> done_;
};

}  // namespace

std::shared_ptr<WorkQueue> WorkQueue::create(asio::any_io_executor executor,
                                             WorkQueueOptions options) {
  return std::make_shared<Queue>(std::move(executor), options);
}

}  // namespace hm::kube
