// The members a HarborProject declares (spec.members, spec.membersPolicy): who to add, whose
// role to change and, under Exclusive, who to remove, given the members Harbor lists. Pure.
#pragma once

#include <string>
#include <vector>

#include "harbormaster/harbor/model.h"

namespace hm::op::harborproject {

// "group platform" or "user alice".
std::string memberName(const harbor::MemberSpec& member);

struct MembersPlan {
  struct RoleChange {
    int64_t id = 0;
    harbor::MemberSpec member;  // with the declared role
    int from = 0;
  };
  std::vector<harbor::MemberSpec> add;
  std::vector<RoleChange> roles;
  std::vector<harbor::ProjectMember> remove;

  bool empty() const { return add.empty() && roles.empty() && remove.empty(); }
  // "added group platform as developer; user alice maintainer → developer; removed user bob".
  std::string describe() const;
};

// Members are matched by kind (user or group) and name. `self` (the operator's own account) is
// never removed and its role never changed. Additive leaves members the spec does not name.
MembersPlan planMembers(const std::vector<harbor::MemberSpec>& declared,
                        const std::vector<harbor::ProjectMember>& held, bool exclusive,
                        const std::string& self);

}  // namespace hm::op::harborproject
