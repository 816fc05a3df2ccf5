// A request rate toward Harbor (--harbor-rate-limit): requests spaced 1/rate apart, a second's
// worth at once (GCRA). A request that could not go before its deadline is refused at once and
// reserves nothing, so a backlog never builds up behind a slow rate.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>

namespace hm::harbor {

class RequestRate {
 public:
  using Time = std::chrono::steady_clock::time_point;
  // `perSecond` > 0.
  explicit RequestRate(double perSecond);
  // When a request asked for at `now` may be sent; nullopt when that is after `deadline`.
  std::optional<Time> reserve(Time now, Time deadline);
  double perSecond() const { return perSecond_; }

 private:
  double perSecond_;
  std::chrono::nanoseconds interval_;
  std::chrono::nanoseconds burst_;  // how far ahead of now the schedule may run
  std::mutex mu_;
  Time next_{};  // the theoretical time of the next request
};

}  // namespace hm::harbor
