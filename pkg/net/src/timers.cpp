#include "harbormaster/net/timers.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace hm::net {
namespace {

namespace asio = boost::asio;

// The pending wait owns its timer; a handle only points at it. So no timer outlives its wait
// in whatever keeps the handle (an object torn down after the io_context stopped would
// otherwise destroy a timer while asio's services shut down).
class SteadyHandle final : public TimerHandle {
 public:
  explicit SteadyHandle(std::weak_ptr<asio::steady_timer> timer) : timer_(std::move(timer)) {}
  // Through the timer's executor: a steady_timer is not safe to touch from two threads. A
  // timer already gone has fired; there is nothing to cancel. (The handle holds no executor
  // either: destroying one after the io_context's services shut down is a use after free.)
  void cancel() override {
    if (auto t = timer_.lock()) {
      asio::post(t->get_executor(), [t] { t->cancel(); });
    }
  }

 private:
  std::weak_ptr<asio::steady_timer> timer_;
};

class SystemTimers final : public Timers {
 public:
  SteadyTime steadyNow() const override { return Clock::system().steadyNow(); }
  WallTime wallNow() const override { return Clock::system().wallNow(); }
  std::shared_ptr<TimerHandle> schedule(asio::any_io_executor ex, SteadyTime due,
                                        std::function<void(bool)> fn) const override {
    auto timer = std::make_shared<asio::steady_timer>(ex, due);
    std::weak_ptr<asio::steady_timer> weak = timer;
    timer->async_wait(
        [timer, fn = std::move(fn)](const boost::system::error_code& ec) { fn(!ec); });
    return std::make_shared<SteadyHandle>(std::move(weak));
  }
};

}  // namespace

const Timers& Timers::system() {
  static const SystemTimers timers;
  return timers;
}

}  // namespace hm::net
