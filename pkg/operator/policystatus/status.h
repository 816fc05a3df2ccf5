// Status of ClusterImagePolicy, ImagePolicy and ImageException resources, as the operator
// writes it: pure functions from what was loaded (and, for exceptions, their standing against
// the policies) to the status object, so the controller only reads, compares and writes.
//
//   policy:    Ready True (Valid) | False (InvalidSpec: the loader's message, and which
//              generation stays in force); observedGeneration, enforcedGeneration.
//   exception: state Active | Expired | Rejected with the reason (NotAllowed,
//              ExceedsMaxDuration, PolicyNotFound, InvalidSpec); Ready True only when Active.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "harbormaster/base/status.h"
#include "harbormaster/base/time.h"
#include "harbormaster/policy/policy.h"

namespace hm::op {

// Condition and event reasons of the policy status controller.
namespace policyreason {
inline constexpr std::string_view kValid = "Valid";
inline constexpr std::string_view kInvalidSpec = "InvalidSpec";
inline constexpr std::string_view kActive = "Active";
}  // namespace policyreason

// `load` is the newest generation's load; `enforced` the generation in force (0: none) and
// `enforcedPolicy` what it holds (null: none), whose checks the status lists.
nlohmann::json policyStatus(const nlohmann::json& object, const Status& load, int64_t enforced,
                            const policy::ImagePolicy* enforcedPolicy, WallTime now);
// "digest,vulnerabilities": the checks a policy makes, for kubectl get's Checks column.
std::string checksOf(const policy::ImagePolicy& policy);
nlohmann::json exceptionStatus(const nlohmann::json& object, const Status& load,
                               const policy::ExceptionStanding& standing, WallTime now);

}  // namespace hm::op
