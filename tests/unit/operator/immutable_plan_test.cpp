// The immutable tag rules a HarborProject declares against what Harbor holds: table-tested.
#include "harborproject/immutable.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm::op::harborproject {
namespace {

harbor::ImmutableRule rule(std::string tags, std::string repositories = "**", int64_t id = 0,
                           bool disabled = false) {
  harbor::ImmutableRule r;
  r.id = id;
  r.disabled = disabled;
  r.tagPattern = std::move(tags);
  r.repositoryPattern = std::move(repositories);
  return r;
}

std::vector<int64_t> ids(const std::vector<harbor::ImmutableRule>& rules) {
  std::vector<int64_t> out;
  for (const auto& r : rules) {
    out.push_back(r.id);
  }
  return out;
}

std::vector<std::string> patterns(const std::vector<harbor::ImmutableRule>& rules) {
  std::vector<std::string> out;
  for (const auto& r : rules) {
    out.push_back(r.tagPattern + " in " + r.repositoryPattern);
  }
  return out;
}

TEST(ImmutablePlanTest, KeepsExactlyWhatIsDeclared) {
  struct Case {
    std::string name;
    std::vector<harbor::ImmutableRule> declared, held;
    std::vector<int64_t> remove, enable;
    std::vector<std::string> create;
  };
  harbor::ImmutableRule excluding = rule("latest", "**", 7);
  excluding.tagDecoration = "excludes";
  harbor::ImmutableRule foreign = rule("v*", "**", 8);
  foreign.unmodelled = true;  // e.g. a label selector added by hand
  const std::vector<Case> cases = {
      {"nothing declared, nothing held", {}, {}, {}, {}, {}},
      {"in sync: no call", {rule("v*")}, {rule("v*", "**", 3)}, {}, {}, {}},
      {"new rule", {rule("v*")}, {}, {}, {}, {"v* in **"}},
      {"deleted in Harbor: created again",
       {rule("v*"), rule("release-*", "shop/**")},
       {rule("v*", "**", 3)},
       {},
       {},
       {"release-* in shop/**"}},
      {"disabled in Harbor: enabled", {rule("v*")}, {rule("v*", "**", 3, true)}, {}, {3}, {}},
      {"added in Harbor: removed",
       {rule("v*")},
       {rule("v*", "**", 3), rule("x", "**", 4)},
       {4},
       {},
       {}},
      {"edited in Harbor: removed and created",
       {rule("v*")},
       {rule("v1*", "**", 3)},
       {3},
       {},
       {"v* in **"}},
      {"the decoration counts", {rule("latest")}, {excluding}, {7}, {}, {"latest in **"}},
      {"unmodelled rules are never declared", {rule("v*")}, {foreign}, {8}, {}, {"v* in **"}},
      {"an empty list removes every rule",
       {},
       {rule("a", "**", 1), rule("b", "**", 2)},
       {1, 2},
       {},
       {}},
      {"an enabled twin is kept, the disabled one removed",
       {rule("v*")},
       {rule("v*", "**", 3, true), rule("v*", "**", 4)},
       {3},
       {},
       {}},
  };
  for (const Case& c : cases) {
    const ImmutablePlan plan = planImmutableRules(c.declared, c.held);
    EXPECT_EQ(ids(plan.remove), c.remove) << c.name;
    EXPECT_EQ(ids(plan.enable), c.enable) << c.name;
    EXPECT_EQ(patterns(plan.create), c.create) << c.name;
    EXPECT_EQ(plan.empty(), c.remove.empty() && c.enable.empty() && c.create.empty()) << c.name;
    for (const auto& r : plan.enable) {
      EXPECT_FALSE(r.disabled) << c.name;
    }
    for (const auto& r : plan.create) {
      EXPECT_EQ(r.id, 0) << c.name;
    }
  }
}

TEST(ImmutablePlanTest, SaysWhatItDid) {
  const ImmutablePlan plan = planImmutableRules({rule("v*", "shop/**")}, {rule("latest", "**", 4)});
  EXPECT_EQ(plan.describe(),
            "removed tags matching latest in repositories matching **; created tags matching v* "
            "in repositories matching shop/**");
}

}  // namespace
}  // namespace hm::op::harborproject
