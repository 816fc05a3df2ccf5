// The Harbor webhook policy a HarborProject keeps on its project so that Harbor tells the
// operator about scans, pushes and deletions (continuous compliance, cache invalidation).
// Pure: what Harbor should hold, and what to do about what it holds.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harbormaster/harbor/model.h"
#include "harbormaster/operator/operator.h"
#include "harbormaster/operator/spec.h"

namespace hm::op::harborproject {

// The one policy we manage on a project is found by this name.
inline constexpr const char* kWebhookPolicyName = "harbormaster";

// Whether the operator manages webhook policies at all (it was given its notifications URL).
inline bool managesNotifications(const NotificationOptions& options) {
  return !options.url.empty();
}

// The policy the project should hold: scan and artifact events to the operator with the shared
// secret; nullopt when it should hold none (not managed, or spec.notifications.enabled: false).
std::optional<harbor::WebhookPolicy> desiredWebhookPolicy(const NotificationOptions& options,
                                                          const HarborProjectSpec& spec);

// What the policy is configured from, the secret left out: status.webhookPolicyConfig keeps the
// one last applied, so a policy that differs because the operator's flags changed is an update,
// and one that differs with the same configuration was changed in Harbor (drift).
std::string webhookPolicyConfig(const harbor::WebhookPolicy& desired);

struct WebhookPlan {
  enum class Action { kNone, kCreate, kUpdate, kDelete };
  Action action = Action::kNone;
  // The whole policy (with Harbor's id when it holds one); delete: the one to remove.
  harbor::WebhookPolicy policy;
  // Update: which parts had drifted ("enabled, event types, target"), never their values (the
  // target holds the secret).
  std::string drift;
};

// What to do given the project's policies as Harbor lists them.
WebhookPlan planWebhookPolicy(const std::optional<harbor::WebhookPolicy>& desired,
                              const std::vector<harbor::WebhookPolicy>& observed);

}  // namespace hm::op::harborproject
