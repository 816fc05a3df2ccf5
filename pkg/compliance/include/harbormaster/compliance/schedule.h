// When the compliance pass runs again, as a pure function of the policies and the clock: at the
// periodic pass, or sooner at the instant something the policies grant expires (an
// ImageException, a spec.exceptions entry, a CVE allowlist entry), so a result turns from pass
// to fail when the exception ends rather than at the next period.
#pragma once

#include <chrono>
#include <optional>

#include "harbormaster/base/time.h"
#include "harbormaster/policy/policy.h"

namespace hm::compliance {

// The earliest expiry in `set` strictly after `after`; nullopt when nothing expires later.
std::optional<WallTime> nextExpiry(const policy::PolicySet& set, WallTime after);

struct PassSchedule {
  std::chrono::seconds interval{6 * 3600};  // the periodic pass (--compliance-interval)
};

// When the next pass is due after one that ran at `lastPass`: the periodic pass, or the next
// expiry after `lastPass` when that comes first. A time at or before `now` means now.
WallTime nextPass(const policy::PolicySet& set, WallTime lastPass, const PassSchedule& schedule);

}  // namespace hm::compliance
