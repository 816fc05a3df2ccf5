#include "harborproject/members.h"

namespace hm::op::harborproject {

std::string memberName(const harbor::MemberSpec& member) {
  return (member.group ? "group " : "user ") + member.name;
}

std::string MembersPlan::describe() const {
  std::string out;
  auto add = [&out](const std::string& part) { out += (out.empty() ? "" : "; ") + part; };
  for (const harbor::MemberSpec& m : this->add) {
    add("added " + memberName(m) + " as " + harbor::memberRoleName(m.role));
  }
  for (const RoleChange& r : roles) {
    add(memberName(r.member) + " " + harbor::memberRoleName(r.from) + " → " +
        harbor::memberRoleName(r.member.role));
  }
  for (const harbor::ProjectMember& m : remove) {
    add("removed " + std::string(m.group ? "group " : "user ") + m.name);
  }
  return out;
}

MembersPlan planMembers(const std::vector<harbor::MemberSpec>& declared,
                        const std::vector<harbor::ProjectMember>& held, bool exclusive,
                        const std::string& self) {
  MembersPlan plan;
  std::vector<bool> named(held.size(), false);
  auto isSelf = [&self](const harbor::ProjectMember& m) {
    return !m.group && !self.empty() && m.name == self;
  };
  for (const harbor::MemberSpec& want : declared) {
    size_t found = held.size();
    for (size_t i = 0; i < held.size() && found == held.size(); ++i) {
      if (held[i].group == want.group && held[i].name == want.name) {
        found = i;
      }
    }
    if (found == held.size()) {
      plan.add.push_back(want);
      continue;
    }
    named[found] = true;
    if (held[found].role != want.role && !isSelf(held[found])) {
      plan.roles.push_back({held[found].id, want, held[found].role});
    }
  }
  if (exclusive) {
    for (size_t i = 0; i < held.size(); ++i) {
      if (!named[i] && !isSelf(held[i])) {
        plan.remove.push_back(held[i]);
      }
    }
  }
  return plan;
}

}  // namespace hm::op::harborproject
