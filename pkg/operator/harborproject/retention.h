// The tag retention policy a HarborProject declares (spec.retention): what to send given the
// policy the project's metadata `retention_id` names. Pure.
#pragma once

#include <optional>
#include <string>

#include "harbormaster/harbor/model.h"
#include "harbormaster/operator/spec.h"

namespace hm::op::harborproject {

struct RetentionPlan {
  enum class Action { kNone, kCreate, kUpdate };
  Action action = Action::kNone;
  harbor::RetentionPolicy policy;  // the declared policy; update: with the held id
  // The project names a policy Harbor no longer has (deleted through the API: Harbor leaves
  // retention_id behind and refuses a new policy while it is there): drop it before creating.
  bool unbind = false;
  std::string changes;  // what differs, for the Event: "schedule none → 0 0 2 * * *; rules …"
};

// `boundId`: the project's retention_id (0 when none); `held`: the policy under that id, or
// nullopt when Harbor has none.
RetentionPlan planRetention(const RetentionSpec& desired, int64_t projectId, int64_t boundId,
                            const std::optional<harbor::RetentionPolicy>& held);

// "2 rules, runs at 0 0 2 * * *" for the condition.
std::string describeRetention(const RetentionSpec& spec);

}  // namespace hm::op::harborproject
