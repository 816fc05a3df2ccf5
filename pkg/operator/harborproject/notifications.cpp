#include "harborproject/notifications.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace hm::op::harborproject {

std::optional<harbor::WebhookPolicy> desiredWebhookPolicy(const NotificationOptions& options,
                                                          const HarborProjectSpec& spec) {
  if (!managesNotifications(options) || !spec.notifications.value_or(true)) {
    return std::nullopt;
  }
  harbor::WebhookPolicy p;
  p.name = kWebhookPolicyName;
  p.description =
      "Managed by Harbormaster: scan and artifact events for continuous compliance and cache "
      "invalidation. Changes are reverted; set spec.notifications.enabled: false on the "
      "HarborProject to remove it.";
  p.enabled = true;
  // The events after which what Harbor knows about a digest has changed.
  p.eventTypes = {"PUSH_ARTIFACT", "DELETE_ARTIFACT", "SCANNING_COMPLETED", "SCANNING_FAILED",
                  "SCANNING_STOPPED"};
  harbor::WebhookTarget t;
  t.type = "http";
  t.address = options.url;
  t.authHeader = options.authHeader;
  t.skipCertVerify = options.skipCertVerify;
  t.payloadFormat = options.payloadFormat;
  p.targets = {t};
  return p;
}

std::string webhookPolicyConfig(const harbor::WebhookPolicy& desired) {
  std::string text = desired.description;
  for (const auto& e : desired.eventTypes) {
    text += "|" + e;
  }
  for (const auto& t : desired.targets) {
    text += "|" + t.type + "|" + t.address + "|" + t.payloadFormat + "|" +
            (t.skipCertVerify ? "skip" : "verify");
  }
  // FNV-1a: stable across builds, unlike std::hash.
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h = (h ^ c) * 1099511628211ULL;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

WebhookPlan planWebhookPolicy(const std::optional<harbor::WebhookPolicy>& desired,
                              const std::vector<harbor::WebhookPolicy>& observed) {
  auto ours = std::find_if(observed.begin(), observed.end(), [](const harbor::WebhookPolicy& p) {
    return p.name == kWebhookPolicyName;
  });
  WebhookPlan plan;
  if (!desired) {
    if (ours != observed.end()) {
      plan.action = WebhookPlan::Action::kDelete;
      plan.policy = *ours;
    }
    return plan;
  }
  plan.policy = *desired;
  if (ours == observed.end()) {
    plan.action = WebhookPlan::Action::kCreate;
    return plan;
  }
  plan.policy.id = ours->id;
  std::vector<std::string> drift;
  if (!ours->enabled) {
    drift.push_back("enabled");
  }
  // Harbor keeps the event types as sent; their order means nothing.
  const std::set<std::string> want(desired->eventTypes.begin(), desired->eventTypes.end());
  const std::set<std::string> have(ours->eventTypes.begin(), ours->eventTypes.end());
  if (want != have) {
    drift.push_back("event types");
  }
  if (ours->targets != desired->targets) {
    drift.push_back("target");
  }
  if (ours->description != desired->description) {
    drift.push_back("description");
  }
  if (drift.empty()) {
    return plan;
  }
  plan.action = WebhookPlan::Action::kUpdate;
  for (const auto& d : drift) {
    plan.drift += (plan.drift.empty() ? "" : ", ") + d;
  }
  return plan;
}

}  // namespace hm::op::harborproject
