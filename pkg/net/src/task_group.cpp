#include "harbormaster/net/task_group.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <exception>
#include <mutex>

#include "harbormaster/base/log.h"
#include "harbormaster/net/flight.h"

namespace hm::net {
namespace {

namespace asio = boost::asio;

struct Group {
  std::mutex mu;
  std::vector<TaskOutcome> outcomes;
  size_t left = 0;
  Flight<bool> done;

  void record(size_t i, TaskOutcome outcome) {
    bool last = false;
    {
      std::lock_guard lock(mu);
      outcomes[i] = std::move(outcome);
      last = --left == 0;
    }
    if (last) {
      done.finish(true);
    }
  }
};

asio::awaitable<void> runOne(std::shared_ptr<Group> group, size_t i, Task task) {
  TaskOutcome outcome{TaskOutcome::State::kFinished, ""};
  try {
    co_await task();
  } catch (const std::exception& e) {
    outcome = {TaskOutcome::State::kThrew, e.what()};
  } catch (...) {
    outcome = {TaskOutcome::State::kThrew, "unknown exception"};
  }
  group->record(i, std::move(outcome));
}

}  // namespace

asio::awaitable<std::vector<TaskOutcome>> runConcurrently(
    std::vector<Task> tasks, std::chrono::steady_clock::time_point deadline) {
  if (tasks.empty()) {
    co_return std::vector<TaskOutcome>{};
  }
  auto group = std::make_shared<Group>();
  group->outcomes.resize(tasks.size());
  group->left = tasks.size();
  auto executor = co_await asio::this_coro::executor;
  for (size_t i = 0; i < tasks.size(); ++i) {
    // runOne catches everything its task throws; the handler only sees what runOne itself
    // could throw (allocation), which must not end the process either.
    asio::co_spawn(executor, runOne(group, i, std::move(tasks[i])), [](std::exception_ptr) {});
  }
  co_await group->done.wait(deadline);
  std::lock_guard lock(group->mu);
  co_return group->outcomes;
}

namespace {
std::atomic<uint64_t> failures{0};
}  // namespace

void LogFailure::operator()(std::exception_ptr e) const {
  if (!e) {
    return;
  }
  ++failures;
  std::string error = "unknown exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    error = x.what();
  } catch (...) {
  }
  log::error("A background task ended by an exception", {{"task", what}, {"error", error}});
}

uint64_t detachedFailures() {
  return failures.load();
}

}  // namespace hm::net
