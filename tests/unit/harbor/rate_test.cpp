// --harbor-rate-limit's schedule as a pure function of the time asked and the deadline.
#include "harbormaster/harbor/rate.h"

#include <gtest/gtest.h>

namespace hm::harbor {
namespace {

using std::chrono::milliseconds;

TEST(RequestRateTest, ASecondsWorthGoesAtOnceAndTheRestIsSpaced) {
  RequestRate rate(10);
  const RequestRate::Time t0 = std::chrono::steady_clock::now();
  const RequestRate::Time far = t0 + std::chrono::hours(1);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(rate.reserve(t0, far), t0) << "request " << i << " of the burst";
  }
  EXPECT_EQ(rate.reserve(t0, far), t0 + milliseconds(100));
  EXPECT_EQ(rate.reserve(t0, far), t0 + milliseconds(200));
  // Refused when the slot is past the deadline, and nothing is reserved by the refusal.
  EXPECT_FALSE(rate.reserve(t0, t0 + milliseconds(250)).has_value());
  EXPECT_EQ(rate.reserve(t0, far), t0 + milliseconds(300));
  // Idle time refills the burst, no more than a second's worth.
  const RequestRate::Time later = t0 + std::chrono::seconds(10);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(rate.reserve(later, far), later) << i;
  }
  EXPECT_EQ(rate.reserve(later, far), later + milliseconds(100));
}

}  // namespace
}  // namespace hm::harbor
