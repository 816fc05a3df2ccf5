// A clock tests move by hand: time passes only when the test says so.
#pragma once

#include <atomic>
#include <chrono>

#include "harbormaster/base/clock.h"

namespace hm::testing {

class FakeClock final : public Clock {
 public:
  SteadyTime steadyNow() const override { return SteadyTime(SteadyTime::duration(steady_.load())); }
  WallTime wallNow() const override { return WallTime(WallTime::duration(wall_.load())); }

  void advance(std::chrono::milliseconds by) {
    steady_ += std::chrono::duration_cast<SteadyTime::duration>(by).count();
    wall_ += std::chrono::duration_cast<WallTime::duration>(by).count();
  }

 private:
  // Ticks, so that tests may read the clock from the io threads while moving it.
  std::atomic<SteadyTime::rep> steady_{
      std::chrono::duration_cast<SteadyTime::duration>(std::chrono::hours(1)).count()};
  std::atomic<WallTime::rep> wall_{
      std::chrono::duration_cast<WallTime::duration>(std::chrono::hours(24 * 365 * 56)).count()};
};

}  // namespace hm::testing
