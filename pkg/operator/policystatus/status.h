// Status of ClusterImagePolicy, ImagePolicy and ImageException resources, as the operator
// writes it: pure functions from what was loaded (and, for exceptions, their standing against
// the policies) to the status object, so the controller only reads, compares and writes.
//
//   policy:    Ready True (Valid) | False (InvalidSpec: the loader's message, and which
//              generation stays in force; CannotBeEnforced: a file it names does not load);
//              observedGeneration, enforcedGeneration, warnings (e.g. an unanchored pattern).
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
// A key or trusted-root file the policy names does not load: it is judged, never skipped, and
// every image it selects is "not checked" under its mode (Enforce denies).
inline constexpr std::string_view kCannotBeEnforced = "CannotBeEnforced";
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

// Who may have applied an object: the field managers of its spec and metadata in
// metadata.managedFields ("kubectl-client-side-apply", "argocd-controller"), status writers
// left out. The API server records no user there; an audit log does.
std::string appliedBy(const nlohmann::json& object);
// What an active exception waives, for its Event and the log: "waives signatures,
// vulnerabilities of policies production for images harbor.example.com/shop/** in namespace
// shop until 2026-12-31T00:00:00Z (reason: …; owner: …; ticket: …); applied by kubectl".
std::string waiverDescription(const nlohmann::json& object, const policy::ImageException& ex);

}  // namespace hm::op
