#pragma once

#include "harbormaster/net/server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace hm::testing {

template <typename T>
boost::asio::awaitable<void> deliver(boost::asio::awaitable<T> work, std::promise<T>* result) {
  // Two statements: GCC 12 mishandles a co_await inside a call's arguments in some frames.
  T value = co_await std::move(work);
  result->set_value(std::move(value));
}

template <typename T>
boost::asio::awaitable<void> deliver(boost::asio::awaitable<T> work,
                                     std::shared_ptr<std::promise<T>> result) {
  // Two statements: GCC 12 mishandles a co_await inside a call's arguments in some frames.
  T value = co_await std::move(work);
  result->set_value(std::move(value));
}

// Runs `work` on an io_context that other threads are running, and waits for its result. Work
// that has not finished within `timeout` fails the test (an exception GoogleTest reports with
// the test's name) instead of hanging the suite until CTest's timeout kills it without one.
template <typename T>
T runOn(boost::asio::io_context& ioc, boost::asio::awaitable<T> work,
        std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  // Shared with the coroutine: work that finishes after the timeout writes into a live promise.
  auto result = std::make_shared<std::promise<T>>();
  auto future = result->get_future();
  boost::asio::co_spawn(ioc, deliver(std::move(work), result), boost::asio::detached);
  if (future.wait_for(timeout) != std::future_status::ready) {
    throw std::runtime_error("runOn: the work did not finish within " +
                             std::to_string(timeout.count()) + " ms");
  }
  return future.get();
}

// An io_context run by two threads for the lifetime of the object.
class IoThreads {
 public:
  explicit IoThreads(int threads = 2) : guard_(ioc_.get_executor()) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }
  ~IoThreads() { stop(); }
  void stop() {
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
  }
  boost::asio::io_context& ioc() { return ioc_; }

 private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

}  // namespace hm::testing
