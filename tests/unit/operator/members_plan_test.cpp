// The members a HarborProject declares against what Harbor lists: table-tested.
#include "harborproject/members.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm::op::harborproject {
namespace {

harbor::MemberSpec user(std::string name, int role) {
  return {std::move(name), false, 0, role};
}
harbor::MemberSpec group(std::string name, int role) {
  return {std::move(name), true, 3, role};
}
harbor::ProjectMember held(int64_t id, std::string name, bool isGroup, int role) {
  return {id, std::move(name), isGroup, role};
}

TEST(MembersPlanTest, AddsChangesAndUnderExclusiveRemoves) {
  const std::vector<harbor::ProjectMember> inHarbor = {
      held(1, "admin", false, 1), held(2, "alice", false, 4), held(3, "platform", true, 2),
      held(4, "bob", false, 2), held(5, "alice", true, 3)};
  const std::vector<harbor::MemberSpec> declared = {user("alice", 2), group("platform", 2),
                                                    group("security", 3)};
  MembersPlan additive = planMembers(declared, inHarbor, false, "admin");
  ASSERT_EQ(additive.add.size(), 1u);
  EXPECT_EQ(additive.add[0].name, "security");
  ASSERT_EQ(additive.roles.size(), 1u);
  EXPECT_EQ(additive.roles[0].id, 2) << "user alice, not group alice";
  EXPECT_EQ(additive.roles[0].from, 4);
  EXPECT_TRUE(additive.remove.empty()) << "Additive leaves bob and group alice";
  EXPECT_EQ(additive.describe(),
            "added group security as guest; user alice maintainer → developer");

  MembersPlan exclusive = planMembers(declared, inHarbor, true, "admin");
  std::vector<int64_t> removed;
  for (const auto& m : exclusive.remove) {
    removed.push_back(m.id);
  }
  EXPECT_EQ(removed, (std::vector<int64_t>{4, 5})) << "never the operator's own account (1)";
}

TEST(MembersPlanTest, TheOperatorsOwnAccountKeepsItsRole) {
  MembersPlan plan = planMembers({user("hm-operator", 3)}, {held(1, "hm-operator", false, 1)}, true,
                                 "hm-operator");
  EXPECT_TRUE(plan.empty()) << "demoting itself would lock the operator out";
}

TEST(MembersPlanTest, InSyncIsEmpty) {
  EXPECT_TRUE(planMembers({user("alice", 2)}, {held(2, "alice", false, 2)}, true, "").empty());
  EXPECT_TRUE(planMembers({}, {held(2, "alice", false, 2)}, false, "").empty());
  EXPECT_EQ(planMembers({}, {held(2, "alice", false, 2)}, true, "").remove.size(), 1u);
}

}  // namespace
}  // namespace hm::op::harborproject
