// Coalescing concurrent work: one caller does it, later callers for the same key wait for its
// result (a "single flight"). Used by the caches in front of Harbor and the registry.
//
//   std::shared_ptr<Flight<T>> flight = …;        // one per key, kept in the cache's map
//   co_await flight->wait(); T result = flight->result();
//   …
//   flight->finish(result);                        // by the caller that did the work
//
// Waiting works from any executor: the completion handler is stored under the lock and posted
// to its own executor when the work finishes, so no wake-up can be lost.
#pragma once

#include <atomic>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace hm::net {

template <typename T>
class Flight {
 public:
  boost::asio::awaitable<void> wait() {
    namespace asio = boost::asio;
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [this](auto handler) {
          using Handler = decltype(handler);
          std::lock_guard lock(mu_);
          auto shared = std::make_shared<Handler>(std::move(handler));
          auto wake = [shared] {
            auto ex = asio::get_associated_executor(*shared);
            asio::post(ex, [shared]() mutable { (*shared)(); });
          };
          if (result_) {
            wake();
          } else {
            waiters_.push_back(std::move(wake));
          }
        },
        asio::use_awaitable);
  }

  void finish(T result) {
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard lock(mu_);
      result_ = std::move(result);
      waiters.swap(waiters_);
    }
    for (auto& wake : waiters) {
      wake();
    }
  }

  // Only after wait() returned or finish() was called.
  T result() {
    std::lock_guard lock(mu_);
    return *result_;
  }

 private:
  std::mutex mu_;
  std::optional<T> result_;
  std::vector<std::function<void()>> waiters_;
};

// Runs every task concurrently on the caller's executor and returns when all have finished, so
// a Pod's cold review costs its slowest lookup, not their sum. Tasks must not throw.
inline boost::asio::awaitable<void> runConcurrently(
    std::vector<std::function<boost::asio::awaitable<void>()>> tasks) {
  namespace asio = boost::asio;
  if (tasks.empty()) {
    co_return;
  }
  auto left = std::make_shared<std::atomic<size_t>>(tasks.size());
  auto done = std::make_shared<Flight<bool>>();
  auto executor = co_await asio::this_coro::executor;
  for (auto& task : tasks) {
    asio::co_spawn(
        executor,
        [task = std::move(task), left, done]() -> asio::awaitable<void> {
          co_await task();
          if (--*left == 0) {
            done->finish(true);
          }
        },
        asio::detached);
  }
  co_await done->wait();
}

}  // namespace hm::net
