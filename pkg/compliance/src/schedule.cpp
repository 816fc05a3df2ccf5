#include "harbormaster/compliance/schedule.h"

namespace hm::compliance {
namespace {

void consider(std::optional<WallTime>& best, const std::optional<WallTime>& t, WallTime after) {
  if (t && *t > after && (!best || *t < *best)) {
    best = t;
  }
}

}  // namespace

std::optional<WallTime> nextExpiry(const policy::PolicySet& set, WallTime after) {
  std::optional<WallTime> best;
  for (const policy::ImagePolicy& p : set.policies) {
    for (const policy::PolicyException& ex : p.exceptions) {
      consider(best, ex.expires, after);
    }
    if (p.vulnerabilities) {
      for (const policy::AllowedCve& cve : p.vulnerabilities->allowlist) {
        consider(best, cve.expires, after);
      }
    }
  }
  for (const auto& [ns, list] : set.exceptions) {
    for (const policy::ImageException& ex : list) {
      consider(best, ex.expiresAt, after);
    }
  }
  return best;
}

WallTime nextPass(const policy::PolicySet& set, WallTime lastPass, const PassSchedule& schedule) {
  const WallTime periodic = lastPass + schedule.interval;
  const auto expiry = nextExpiry(set, lastPass);
  return expiry && *expiry < periodic ? *expiry : periodic;
}

}  // namespace hm::compliance
