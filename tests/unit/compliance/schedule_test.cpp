// The pass schedule as a pure function: the periodic pass, or the instant an exception or an
// allowlist entry expires when that comes first.
#include "harbormaster/compliance/schedule.h"

#include <gtest/gtest.h>

namespace hm::compliance {
namespace {

using namespace std::chrono_literals;

const WallTime kT0 = *parseRfc3339("2026-12-06T12:00:00Z");

TEST(ScheduleTest, ThePeriodicPassOrTheNextExpiryWhicheverComesFirst) {
  policy::PolicySet set;
  PassSchedule every6h;
  EXPECT_EQ(nextPass(set, kT0, every6h), kT0 + 6h);
  EXPECT_FALSE(nextExpiry(set, kT0));

  policy::ImagePolicy p;
  p.exceptions.push_back({{}, {}, {policy::Check::kDigest}, kT0 + 2h, "OPS-1"});
  p.exceptions.push_back({{}, {}, {policy::Check::kDigest}, std::nullopt, "forever"});
  p.vulnerabilities = policy::VulnerabilityRule{};
  p.vulnerabilities->allowlist.push_back({"CVE-1", kT0 + 90min, "until the fix ships"});
  p.vulnerabilities->allowlist.push_back({"CVE-2", kT0 - 1h, "already over"});
  set.policies.push_back(p);
  policy::ImageException ex;
  ex.nameSpace = "shop";
  ex.name = "legacy";
  ex.expiresAt = kT0 + 30min;
  set.exceptions["shop"].push_back(ex);

  EXPECT_EQ(nextExpiry(set, kT0), kT0 + 30min);
  EXPECT_EQ(nextPass(set, kT0, every6h), kT0 + 30min);
  // After each expiry, the next one; an expiry at the instant of the pass is already judged.
  EXPECT_EQ(nextPass(set, kT0 + 30min, every6h), kT0 + 90min);
  EXPECT_EQ(nextPass(set, kT0 + 90min, every6h), kT0 + 2h);
  EXPECT_EQ(nextPass(set, kT0 + 2h, every6h), kT0 + 8h);
  // A short period wins over a later expiry.
  EXPECT_EQ(nextPass(set, kT0, PassSchedule{10min}), kT0 + 10min);
}

}  // namespace
}  // namespace hm::compliance
