// The retention policy a HarborProject declares against the one its project names.
#include "harborproject/retention.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm::op::harborproject {
namespace {

harbor::RetentionRule keepLast(int64_t k, std::string tags) {
  harbor::RetentionRule r;
  r.templ = "latestPushedK";
  r.param = k;
  r.tagPattern = std::move(tags);
  return r;
}

RetentionSpec declared() {
  return {"0 0 2 * * *", {keepLast(10, "release-*")}};
}

harbor::RetentionPolicy heldAs(const RetentionSpec& spec, int64_t id) {
  harbor::RetentionPolicy p;
  p.id = id;
  p.projectId = 7;
  p.cron = spec.schedule;
  p.rules = spec.rules;
  return p;
}

TEST(RetentionPlanTest, CreatesUpdatesOrLeavesAlone) {
  const RetentionPlan none = planRetention(declared(), 7, 0, std::nullopt);
  EXPECT_EQ(none.action, RetentionPlan::Action::kCreate);
  EXPECT_FALSE(none.unbind);
  EXPECT_EQ(none.policy.projectId, 7);
  EXPECT_EQ(none.policy.id, 0);

  const RetentionPlan same = planRetention(declared(), 7, 12, heldAs(declared(), 12));
  EXPECT_EQ(same.action, RetentionPlan::Action::kNone);
  EXPECT_EQ(same.policy.id, 12);

  RetentionSpec edited = declared();
  edited.rules[0].param = 3;  // someone kept fewer in Harbor's UI
  edited.schedule = "";
  const RetentionPlan drift = planRetention(declared(), 7, 12, heldAs(edited, 12));
  EXPECT_EQ(drift.action, RetentionPlan::Action::kUpdate);
  EXPECT_EQ(drift.policy.id, 12) << "updated in place";
  EXPECT_EQ(drift.policy.rules, declared().rules);
  EXPECT_EQ(drift.changes,
            "schedule none → 0 0 2 * * *; rules keep the 3 most recently pushed of tags matching "
            "release-* in repositories matching ** → keep the 10 most recently pushed of tags "
            "matching release-* in repositories matching **");

  harbor::RetentionPolicy disabled = heldAs(declared(), 12);
  disabled.rules[0].disabled = true;
  EXPECT_EQ(planRetention(declared(), 7, 12, disabled).action, RetentionPlan::Action::kUpdate);
  harbor::RetentionPolicy foreign = heldAs(declared(), 12);
  foreign.unmodelled = true;  // another trigger kind set through the API
  EXPECT_EQ(planRetention(declared(), 7, 12, foreign).action, RetentionPlan::Action::kUpdate);
}

TEST(RetentionPlanTest, APolicyDeletedInHarborIsUnboundThenCreated) {
  const RetentionPlan plan = planRetention(declared(), 7, 12, std::nullopt);
  EXPECT_EQ(plan.action, RetentionPlan::Action::kCreate);
  EXPECT_TRUE(plan.unbind) << "Harbor refuses a new policy while retention_id names the old one";
}

TEST(RetentionPlanTest, DescribesForTheCondition) {
  EXPECT_EQ(describeRetention(declared()), "1 retention rule, runs at 0 0 2 * * *");
  EXPECT_EQ(describeRetention({"", {}}), "0 retention rules, runs only when started by hand");
}

}  // namespace
}  // namespace hm::op::harborproject
