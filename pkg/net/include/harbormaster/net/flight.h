// Coalescing concurrent work: one caller does it, later callers for the same key wait for its
// result (a "single flight"). facts::FactCache keeps one per key in flight.
//
//   auto flight = std::make_shared<Flight<T>>();  // one per key, kept in the cache's map
//   if (co_await flight->wait(deadline)) { T result = flight->result(); }  // a waiter
//   flight->finish(result);                        // by the caller that did the work
//
// Waiting works from any executor: the completion handler is stored under the lock and posted
// to its own executor when the work finishes or the waiter's own deadline passes, whichever
// comes first, so no wake-up is lost and no waiter outstays its deadline.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <atomic>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace hm::net {

template <typename T>
class Flight {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  // True when the work finished, false when `deadline` passed first.
  boost::asio::awaitable<bool> wait(Deadline deadline = Deadline::max()) {
    namespace asio = boost::asio;
    // No locals in this frame beyond the result, and two statements: GCC 12 destroys a
    // coroutine's locals twice around some `co_await` expressions.
    const bool finished = co_await asio::async_initiate<decltype(asio::use_awaitable), void(bool)>(
        [this, deadline](auto handler) { start(std::move(handler), deadline); },
        asio::use_awaitable);
    co_return finished;
  }

  void finish(T result) {
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard lock(mu_);
      if (result_) {
        return;  // the first result stands
      }
      result_ = std::move(result);
      waiters.swap(waiters_);
    }
    for (auto& wake : waiters) {
      wake();
    }
  }

  // Only after wait() returned true or finish() was called.
  T result() {
    std::lock_guard lock(mu_);
    return *result_;
  }

 private:
  template <typename Handler>
  void start(Handler handler, Deadline deadline) {
    namespace asio = boost::asio;
    auto executor = asio::get_associated_executor(handler);
    auto shared = std::make_shared<Handler>(std::move(handler));
    auto once = std::make_shared<std::atomic<bool>>(false);
    auto complete = [shared, once, executor](bool finished) {
      if (once->exchange(true)) {
        return;
      }
      // Invoked as an rvalue, moved out of the shared slot: the coroutine it resumes may run to
      // its end inside the call.
      asio::post(executor, [shared, finished]() mutable {
        Handler resume = std::move(*shared);
        std::move(resume)(finished);
      });
    };
    if (deadline == Deadline::max()) {
      std::lock_guard lock(mu_);
      if (result_) {
        complete(true);
      } else {
        waiters_.push_back([complete] { complete(true); });
      }
      return;
    }
    // The timer lives on a strand so that cancelling it from the finishing thread is ordered
    // with its own completion.
    auto strand = asio::make_strand(executor);
    auto timer = std::make_shared<asio::steady_timer>(strand);
    {
      std::lock_guard lock(mu_);
      if (result_) {
        complete(true);
        return;
      }
      waiters_.push_back([complete, timer, strand] {
        complete(true);
        asio::post(strand, [timer] { timer->cancel(); });
      });
    }
    timer->expires_at(deadline);
    timer->async_wait([complete, timer](const boost::system::error_code& ec) {
      if (!ec) {
        complete(false);
      }
    });
  }

  std::mutex mu_;
  std::optional<T> result_;
  std::vector<std::function<void()>> waiters_;
};

}  // namespace hm::net
