// net::Timers and sleepUntil on the real clock (the fake one is what other tests use), and the
// test helper runOn failing a test whose work never finishes instead of hanging it.
#include "harbormaster/net/timers.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "support/async.h"
#include "support/fake_timers.h"

namespace hm::net {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

TEST(TimersTest, SleepUntilWakesAtItsTimeOrWhenCancelled) {
  asio::io_context io;
  const Timers& timers = Timers::system();
  std::optional<bool> early, late;
  std::shared_ptr<TimerHandle> handle;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const auto soon = timers.steadyNow() + milliseconds(1);
        late = co_await sleepUntil(timers, soon);
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const auto later = timers.steadyNow() + std::chrono::hours(1);
        early = co_await sleepUntil(timers, later, &handle);
      },
      asio::detached);
  io.poll();
  ASSERT_NE(handle, nullptr);
  handle->cancel();
  io.run();  // returns once both have woken: an hour-long sleep would hold it
  EXPECT_EQ(late, std::optional<bool>(true));
  EXPECT_EQ(early, std::optional<bool>(false));
}

TEST(TimersTest, FakeTimersFireOnlyWhenTimeIsMovedAndExactlyOnce) {
  asio::io_context io;
  hm::testing::FakeTimers timers;
  int fired = 0, cancelled = 0;
  auto handle = timers.schedule(io.get_executor(), timers.steadyNow() + milliseconds(10),
                                [&](bool f) { ++(f ? fired : cancelled); });
  io.poll();
  timers.advance(milliseconds(9));
  io.restart();
  io.poll();
  EXPECT_EQ(fired, 0);
  timers.advance(milliseconds(1));
  handle->cancel();  // too late: it fired already
  io.restart();
  io.poll();
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(cancelled, 0);
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(RunOnTest, WorkThatNeverFinishesFailsTheTestInsteadOfHangingIt) {
  hm::testing::IoThreads io;
  auto never = []() -> asio::awaitable<int> {
    const auto later = Timers::system().steadyNow() + std::chrono::hours(1);
    co_await sleepUntil(Timers::system(), later);
    co_return 1;
  };
  EXPECT_THROW(hm::testing::runOn(io.ioc(), never(), milliseconds(50)), std::runtime_error);
  auto quick = []() -> asio::awaitable<int> { co_return 7; };
  EXPECT_EQ(hm::testing::runOn(io.ioc(), quick()), 7);
}

}  // namespace
}  // namespace hm::net
