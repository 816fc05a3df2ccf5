#include "harbormaster/base/time.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm {
namespace {

TEST(TimeTest, ParsesRfc3339Forms) {
  auto z = parseRfc3339("2026-12-31T00:00:00Z");
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(formatRfc3339(*z), "2026-12-31T00:00:00Z");
  auto offset = parseRfc3339("2026-12-31T02:00:00+02:00");
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(*offset, *z);
  auto frac = parseRfc3339("2026-12-31T00:00:00.250Z");
  ASSERT_TRUE(frac.ok());
  EXPECT_EQ(formatRfc3339(*frac, true), "2026-12-31T00:00:00.250Z");
  auto date = parseRfc3339("2026-12-31");
  ASSERT_TRUE(date.ok());
  EXPECT_EQ(*date, *z);
}

TEST(TimeTest, RejectsMalformedTimes) {
  for (const char* bad :
       {"", "2026", "2026-13-01", "2026-02-30", "2026-12-31T25:00:00Z", "2026-12-31T00:00:00",
        "2026-12-31 00:00:00Z", "2026-12-31T00:00:00Zjunk", "2026-12-31T00:00:00+2", "tomorrow"}) {
    auto t = parseRfc3339(bad);
    EXPECT_FALSE(t.ok()) << bad;
  }
}

TEST(TimeTest, RefusesYearsTheClockCannotHold) {
  // Nanoseconds since 1970 in 64 bits overflow past 2262; "2999" is a tempting "never".
  auto far = parseRfc3339("2999-01-01T00:00:00Z");
  ASSERT_FALSE(far.ok());
  EXPECT_THAT(far.status().message(), ::testing::HasSubstr("use a year from 1678 to 2261"));
  EXPECT_FALSE(parseRfc3339("0001-01-01T00:00:00Z").ok());
  EXPECT_TRUE(parseRfc3339("2261-12-31T23:59:59Z").ok());
}

}  // namespace
}  // namespace hm
