#include "harbormaster/base/time.h"

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

}  // namespace
}  // namespace hm
