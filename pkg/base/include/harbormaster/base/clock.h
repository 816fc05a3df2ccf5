// The time source, injected wherever time decides behaviour (cache TTLs, expiries), so tests
// move time forward instead of sleeping.
//
//   const hm::Clock& clock = hm::Clock::system();
//   auto age = clock.steadyNow() - fetched;    // intervals: the monotonic clock
//   bool expired = clock.wallNow() >= expires;  // calendar times: the wall clock
//
// Deadlines of network calls stay on std::chrono::steady_clock: they bound real waits.
#pragma once

#include <chrono>

#include "harbormaster/base/time.h"

namespace hm {

class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual SteadyTime steadyNow() const = 0;
  virtual WallTime wallNow() const = 0;

  // The process's real clocks; lives for the whole program.
  static const Clock& system();
};

}  // namespace hm
