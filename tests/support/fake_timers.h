// Timers on a clock tests move by hand: advance() runs, on their executors, the callbacks of
// every timer that came due. Nothing sleeps; a test that waits for an effect runs its
// io_context (poll()) after advancing.
#pragma once

#include <algorithm>
#include <boost/asio/post.hpp>
#include <mutex>
#include <vector>

#include "harbormaster/net/timers.h"
#include "support/fake_clock.h"

namespace hm::testing {

class FakeTimers final : public net::Timers {
 public:
  FakeTimers() = default;
  FakeTimers(const FakeTimers&) = delete;
  FakeTimers& operator=(const FakeTimers&) = delete;
  // Waits still pending are abandoned, as an io_context abandons its timers' waits: their
  // callbacks are destroyed uncalled. (A waiter's frame holds its handle, which holds the
  // entry, which holds the callback that owns the frame: without this, a cycle.)
  ~FakeTimers() override {
    std::vector<std::shared_ptr<Entry>> abandoned;
    {
      std::lock_guard lock(mu_);
      abandoned.swap(pending_);
    }
    for (auto& e : abandoned) {
      e->abandon();
    }
  }

  SteadyTime steadyNow() const override { return clock_.steadyNow(); }
  WallTime wallNow() const override { return clock_.wallNow(); }

  std::shared_ptr<net::TimerHandle> schedule(boost::asio::any_io_executor ex, SteadyTime due,
                                             std::function<void(bool)> fn) const override {
    auto entry = std::make_shared<Entry>(std::move(ex), due, std::move(fn));
    {
      std::lock_guard lock(mu_);
      // A time already passed fires at once, as an asio timer's does (under the lock: an
      // advance() on another thread either sees this entry or has moved time first).
      if (due > clock_.steadyNow()) {
        pending_.push_back(entry);
        return entry;
      }
    }
    entry->finish(true);
    return entry;
  }

  // Moves time forward and fires what came due.
  void advance(std::chrono::milliseconds by) {
    std::vector<std::shared_ptr<Entry>> due;
    {
      std::lock_guard lock(mu_);
      clock_.advance(by);
      auto it = std::stable_partition(pending_.begin(), pending_.end(),
                                      [&](const auto& e) { return e->due > clock_.steadyNow(); });
      due.assign(it, pending_.end());
      pending_.erase(it, pending_.end());
    }
    for (auto& e : due) {
      e->finish(true);
    }
  }
  // Timers scheduled and neither fired nor cancelled.
  size_t pending() const {
    std::lock_guard lock(mu_);
    return static_cast<size_t>(
        std::count_if(pending_.begin(), pending_.end(), [](const auto& e) { return !e->done; }));
  }

 private:
  struct Entry final : net::TimerHandle {
    Entry(boost::asio::any_io_executor e, SteadyTime d, std::function<void(bool)> f)
        : ex(std::move(e)), due(d), fn(std::move(f)) {}
    void cancel() override { finish(false); }
    void abandon() {
      if (!done.exchange(true)) {
        std::function<void(bool)> dropped = std::move(fn);
      }
    }
    void finish(bool fired) {
      if (!done.exchange(true)) {
        boost::asio::post(ex, [fn = std::move(fn), fired] { fn(fired); });
      }
    }
    boost::asio::any_io_executor ex;
    SteadyTime due;
    std::function<void(bool)> fn;
    std::atomic<bool> done{false};
  };

  FakeClock clock_;
  mutable std::mutex mu_;
  mutable std::vector<std::shared_ptr<Entry>> pending_;
};

}  // namespace hm::testing
