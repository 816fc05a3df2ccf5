// Time that waits: the injected clock (hm::Clock) plus timers on it, so what sleeps in
// production (work-queue backoff, lease renewal) moves in tests only when the test moves it.
//
//   const net::Timers& timers = net::Timers::system();
//   std::shared_ptr<net::TimerHandle> handle;
//   bool fired = co_await net::sleepUntil(timers, timers.steadyNow() + 2s, &handle);
//   …elsewhere: handle->cancel();  // the sleeper wakes with fired == false
//
// Deadlines of network calls stay on std::chrono::steady_clock (they bound real waits); in
// production Timers::system()'s steady time is that clock, so the two compare.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <mutex>

#include "harbormaster/base/clock.h"

namespace hm::net {

class TimerHandle {
 public:
  virtual ~TimerHandle() = default;
  // The callback runs with `false` unless it already ran; safe from any thread.
  virtual void cancel() = 0;
};

class Timers : public Clock {
 public:
  // Runs `fn(true)` on `ex` once steadyNow() reaches `due`, or `fn(false)` on cancel(); exactly
  // once either way, never inline.
  virtual std::shared_ptr<TimerHandle> schedule(boost::asio::any_io_executor ex, SteadyTime due,
                                                std::function<void(bool fired)> fn) const = 0;

  // std::chrono::steady_clock and asio's steady_timer; lives for the whole program.
  static const Timers& system();
};

namespace detail {

// The handle sleepUntil hands out before it sleeps: the waiter's own code sets it (on the
// waiter's executor), so a cancel() that comes before the timer exists is kept and applied.
class SleepHandle final : public TimerHandle {
 public:
  void cancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    if (timer_) {
      timer_->cancel();
    }
  }
  void arm(std::shared_ptr<TimerHandle> timer) {
    std::lock_guard lock(mu_);
    timer_ = std::move(timer);
    if (cancelled_) {
      timer_->cancel();
    }
  }

 private:
  std::mutex mu_;
  bool cancelled_ = false;
  std::shared_ptr<TimerHandle> timer_;
};

}  // namespace detail

// Suspends until `due` (true) or until the handle stored in `*handle` is cancelled (false).
// The waiter resumes on its own executor: schedule() posts the callback there.
inline boost::asio::awaitable<bool> sleepUntil(const Timers& timers, Clock::SteadyTime due,
                                               std::shared_ptr<TimerHandle>* handle = nullptr) {
  boost::asio::any_io_executor ex = co_await boost::asio::this_coro::executor;
  auto sleep = std::make_shared<detail::SleepHandle>();
  if (handle != nullptr) {
    *handle = sleep;  // before the wait starts, by the waiter itself
  }
  const Timers* source = &timers;
  // A named initiation, not a temporary inside the co_await: GCC 12 mishandles those frames.
  auto initiation = [source, ex, due, sleep](auto handler) {
    // Locals only from here on: once scheduled, the callback may resume the waiter on another
    // thread, which destroys the frame this lambda (and its captures) lives in.
    const Timers* src = source;
    auto exec = ex;
    auto when = due;
    auto armed = sleep;
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    // Invoked as asio invokes a completion handler: moved out of its storage, then called.
    armed->arm(src->schedule(std::move(exec), when, [h](bool fired) {
      auto local = std::move(*h);
      local(fired);
    }));
  };
  const bool fired =
      co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(bool)>(
          std::move(initiation), boost::asio::use_awaitable);
  co_return fired;
}

}  // namespace hm::net
