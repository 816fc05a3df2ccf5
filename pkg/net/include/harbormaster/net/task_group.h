// Running independent work concurrently, with an exception boundary per task and one deadline
// for the group.
//
//   std::vector<TaskOutcome> done = co_await runConcurrently(std::move(tasks), deadline);
//   // done[i].state: kFinished, kThrew (done[i].error says what), or kCut at the deadline
//
// Every task is spawned on the caller's executor, so a Pod's cold review costs its slowest
// lookup, not their sum. A task that throws is reported, never a dead coroutine; a task still
// running at the deadline is left to finish on its own: it must own (share) everything it
// writes to, since the caller has moved on.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace hm::net {

struct TaskOutcome {
  enum class State { kCut, kFinished, kThrew };
  State state = State::kCut;
  std::string error;  // kThrew: the exception's what()
};

using Task = std::function<boost::asio::awaitable<void>()>;

// tasks(a, b, …): the list runConcurrently takes. (GCC 12 refuses a braced list of lambdas as a
// co_await operand.)
template <typename... Fs>
std::vector<Task> tasks(Fs&&... fs) {
  std::vector<Task> out;
  out.reserve(sizeof...(fs));
  (out.emplace_back(std::forward<Fs>(fs)), ...);
  return out;
}

boost::asio::awaitable<std::vector<TaskOutcome>> runConcurrently(
    std::vector<Task> tasks,
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

// The completion handler of every detached co_spawn in the project:
//   co_spawn(ex, informer->run(), net::LogFailure{"informer harborprojects"});
// An exception thrown out of the coroutine is logged with `what` and counted, never rethrown out
// of io_context::run() (asio::detached rethrows it there, ending the thread that runs it).
struct LogFailure {
  std::string what;
  void operator()(std::exception_ptr e) const;
};
// How many detached coroutines ended by an exception since the process started.
uint64_t detachedFailures();

}  // namespace hm::net
