// The Harbor webhook policy a HarborProject keeps (harborproject/notifications.h), as a table:
// what Harbor holds → what the operator does, and never a value of the secret in the drift.
#include "harborproject/notifications.h"

#include <gtest/gtest.h>

namespace hm::op::harborproject {
namespace {

using Action = WebhookPlan::Action;

NotificationOptions options() {
  NotificationOptions o;
  o.url = "https://operator.example/harbor-events";
  o.authHeader = "Bearer s3cret";
  return o;
}

harbor::WebhookPolicy observedAs(const harbor::WebhookPolicy& desired, int64_t id) {
  harbor::WebhookPolicy p = desired;
  p.id = id;
  return p;
}

TEST(WebhookPolicyTest, TheDesiredPolicyPostsScanAndArtifactEventsWithTheSecret) {
  HarborProjectSpec spec;
  auto p = desiredWebhookPolicy(options(), spec);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->name, "harbormaster");
  EXPECT_TRUE(p->enabled);
  ASSERT_EQ(p->targets.size(), 1u);
  EXPECT_EQ(p->targets[0].address, "https://operator.example/harbor-events");
  EXPECT_EQ(p->targets[0].authHeader, "Bearer s3cret");
  EXPECT_EQ(p->targets[0].payloadFormat, "Default");
  for (const char* type : {"PUSH_ARTIFACT", "DELETE_ARTIFACT", "SCANNING_COMPLETED",
                           "SCANNING_FAILED", "SCANNING_STOPPED"}) {
    EXPECT_NE(std::find(p->eventTypes.begin(), p->eventTypes.end(), type), p->eventTypes.end())
        << type;
  }
  spec.notifications = false;
  EXPECT_FALSE(desiredWebhookPolicy(options(), spec)) << "the spec turned it off";
  spec.notifications = true;
  EXPECT_FALSE(desiredWebhookPolicy(NotificationOptions{}, spec))
      << "without a URL the operator manages no policy at all";
}

TEST(WebhookPolicyTest, PlansFromWhatHarborHolds) {
  const harbor::WebhookPolicy want = *desiredWebhookPolicy(options(), HarborProjectSpec{});
  harbor::WebhookPolicy someoneElses;
  someoneElses.id = 3;
  someoneElses.name = "slack-alerts";
  auto disabled = observedAs(want, 7);
  disabled.enabled = false;
  auto reordered = observedAs(want, 7);
  std::reverse(reordered.eventTypes.begin(), reordered.eventTypes.end());
  auto moved = observedAs(want, 7);
  moved.targets[0].address = "http://elsewhere/";
  auto rekeyed = observedAs(want, 7);
  rekeyed.targets[0].authHeader = "Bearer stolen";
  auto fewer = observedAs(want, 7);
  fewer.eventTypes.pop_back();
  struct Case {
    const char* name;
    std::optional<harbor::WebhookPolicy> desired;
    std::vector<harbor::WebhookPolicy> observed;
    Action action;
    int64_t id;
    std::string drift;
  } cases[] = {
      {"none yet", want, {someoneElses}, Action::kCreate, 0, ""},
      {"in place", want, {someoneElses, observedAs(want, 7)}, Action::kNone, 7, ""},
      {"event order means nothing", want, {reordered}, Action::kNone, 7, ""},
      {"disabled in Harbor", want, {disabled}, Action::kUpdate, 7, "enabled"},
      {"an event type removed", want, {fewer}, Action::kUpdate, 7, "event types"},
      {"pointed elsewhere", want, {moved}, Action::kUpdate, 7, "target"},
      {"another secret", want, {rekeyed}, Action::kUpdate, 7, "target"},
      {"turned off", std::nullopt, {someoneElses, observedAs(want, 7)}, Action::kDelete, 7, ""},
      {"turned off, none there", std::nullopt, {someoneElses}, Action::kNone, 0, ""},
  };
  for (const auto& c : cases) {
    WebhookPlan plan = planWebhookPolicy(c.desired, c.observed);
    EXPECT_EQ(plan.action, c.action) << c.name;
    EXPECT_EQ(plan.policy.id, c.id) << c.name;
    EXPECT_EQ(plan.drift, c.drift) << c.name;
    EXPECT_EQ(plan.drift.find("s3cret"), std::string::npos) << c.name;
    if (c.action == Action::kUpdate || c.action == Action::kCreate) {
      EXPECT_EQ(plan.policy.targets, want.targets) << c.name << ": the whole policy is sent";
      EXPECT_TRUE(plan.policy.enabled) << c.name;
    }
    if (c.action == Action::kDelete) {
      EXPECT_EQ(plan.policy.name, "harbormaster") << c.name << ": never someone else's";
    }
  }
}

// The configuration fingerprint tells the operator's own changes from edits in Harbor: it moves
// with what the flags set, never with the secret (which it must not hold).
TEST(WebhookPolicyTest, TheConfigurationFingerprintFollowsTheFlagsNotTheSecret) {
  const HarborProjectSpec spec;
  NotificationOptions o = options();
  const std::string base = webhookPolicyConfig(*desiredWebhookPolicy(o, spec));
  EXPECT_EQ(base.size(), 16u);
  EXPECT_EQ(base, webhookPolicyConfig(*desiredWebhookPolicy(o, spec))) << "deterministic";
  o.authHeader = "Bearer rotated";
  EXPECT_EQ(webhookPolicyConfig(*desiredWebhookPolicy(o, spec)), base);
  o.url = "https://elsewhere.example/harbor-events";
  EXPECT_NE(webhookPolicyConfig(*desiredWebhookPolicy(o, spec)), base);
  o = options();
  o.payloadFormat = "CloudEvents";
  EXPECT_NE(webhookPolicyConfig(*desiredWebhookPolicy(o, spec)), base);
}

}  // namespace
}  // namespace hm::op::harborproject
