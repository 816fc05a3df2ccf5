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

// Cases from Go's src/time/time_test.go parseDurationTests, in milliseconds (Go's
// Duration.Milliseconds truncates, so do we).
TEST(GoDurationTest, ReadsEveryFormGoReads) {
  using std::chrono::milliseconds;
  const std::pair<const char*, int64_t> cases[] = {
      {"0", 0},
      {"5s", 5000},
      {"30s", 30000},
      {"1478s", 1478000},
      {"+5s", 5000},
      {"-0", 0},
      {"+0", 0},
      {"5.0s", 5000},
      {"5.6s", 5600},
      {"5.s", 5000},
      {".5s", 500},
      {"1.0s", 1000},
      {"1.00s", 1000},
      {"1.004s", 1004},
      {"1.0040s", 1004},
      {"100.00100s", 100001},
      {"10ns", 0},
      {"11us", 0},
      {"12µs", 0},
      {"12μs", 0},
      {"1500us", 1},
      {"13ms", 13},
      {"14s", 14000},
      {"15m", 900000},
      {"16h", 57600000},
      {"3h30m", 12600000},
      {"10.5s4m", 250500},
      {"1h2m3s4ms", 3723004},
      {"39h9m14.425s", 140954425},
      {"52763797000ns", 52763},
      {"0.3333333333333333333h", 1200000},
      {"9007199254740993ns", 9007199254},
      {"9223372036854775807ns", 9223372036854},
      {"2562047h", 9223369200000},
      {"0.100000000000000000000h", 360000},
  };
  for (const auto& [text, ms] : cases) {
    auto d = parseGoDuration(text);
    ASSERT_TRUE(d.ok()) << text << ": " << d.status().toString();
    EXPECT_EQ(*d, milliseconds(ms)) << text;
  }
}

TEST(GoDurationTest, RefusesWhatGoRefusesAndNegatives) {
  for (const char* bad : {"", "3", "10", "-", "s", ".", "-.", ".s", "+.s", "1d", "5d", "1h 30m",
                          "1h30", "3 s", "1e3s", "1.2.3s", "1ss", "1H", "\xC2s"}) {
    auto d = parseGoDuration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_THAT(d.status().message(), ::testing::HasSubstr("is not a duration like")) << bad;
  }
  for (const char* huge : {"9223372036854775808ns", "2562048h", "9223372036854775.808us",
                           "9223372036854ms9223372036854ms", "11111111111111111111111111h"}) {
    auto d = parseGoDuration(huge);
    ASSERT_FALSE(d.ok()) << huge;
    EXPECT_THAT(d.status().message(), ::testing::HasSubstr("out of range")) << huge;
  }
  auto negative = parseGoDuration("-1h30m");
  ASSERT_FALSE(negative.ok());
  EXPECT_THAT(negative.status().message(), ::testing::HasSubstr("is negative"));
  // A tenant's megabyte of digits is refused and quoted in part, never whole.
  auto long_ = parseGoDuration(std::string(1 << 20, '1') + "h");
  ASSERT_FALSE(long_.ok());
  EXPECT_LT(long_.status().message().size(), 200u);
}

}  // namespace
}  // namespace hm
