#include "harborproject/immutable.h"

namespace hm::op::harborproject {

std::string ImmutablePlan::describe() const {
  std::string out;
  auto part = [&out](const char* verb, const std::vector<harbor::ImmutableRule>& rules) {
    if (rules.empty()) {
      return;
    }
    out += (out.empty() ? "" : "; ") + std::string(verb) + " ";
    for (size_t i = 0; i < rules.size(); ++i) {
      out += (i ? ", " : "") + rules[i].describe();
    }
  };
  part("removed", remove);
  part("enabled", enable);
  part("created", create);
  return out;
}

ImmutablePlan planImmutableRules(const std::vector<harbor::ImmutableRule>& declared,
                                 const std::vector<harbor::ImmutableRule>& held) {
  ImmutablePlan plan;
  std::vector<bool> claimed(held.size(), false);
  for (const harbor::ImmutableRule& want : declared) {
    // An enabled rule with these selectors, else a disabled one to enable.
    size_t found = held.size();
    for (size_t i = 0; i < held.size(); ++i) {
      if (!claimed[i] && held[i].sameSelectors(want) &&
          (found == held.size() || (held[found].disabled && !held[i].disabled))) {
        found = i;
      }
    }
    if (found == held.size()) {
      harbor::ImmutableRule rule = want;
      rule.id = 0;
      rule.disabled = false;
      plan.create.push_back(std::move(rule));
      continue;
    }
    claimed[found] = true;
    if (held[found].disabled) {
      harbor::ImmutableRule rule = held[found];
      rule.disabled = false;
      plan.enable.push_back(std::move(rule));
    }
  }
  for (size_t i = 0; i < held.size(); ++i) {
    if (!claimed[i]) {
      plan.remove.push_back(held[i]);
    }
  }
  return plan;
}

}  // namespace hm::op::harborproject
