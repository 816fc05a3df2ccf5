// metav1.Condition bookkeeping: `Ready` summarises, `Synced` says whether Harbor matches the
// spec; lastTransitionTime moves only when the status value changes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "harbormaster/base/time.h"

namespace hm::op {

struct Condition {
  std::string type;    // Ready, Synced
  std::string status;  // True, False, Unknown
  std::string reason;  // CamelCase
  std::string message;
};

// Sets `condition` in status.conditions (created if needed) for `generation`.
void setCondition(nlohmann::json& status, const Condition& condition, int64_t generation,
                  WallTime now);
// The condition's status ("True", …) or reason, or "" when absent.
std::string conditionStatus(const nlohmann::json& object, const std::string& type);
std::string conditionReason(const nlohmann::json& object, const std::string& type);
// Whether the condition was True for this generation: what Harbor holds for it now and differs
// was changed outside Harbormaster (drift), not by a spec change.
bool conditionHeldFor(const nlohmann::json& object, const std::string& type, int64_t generation);
// Drops the condition (a section the spec no longer declares).
void removeCondition(nlohmann::json& status, const std::string& type);

}  // namespace hm::op
