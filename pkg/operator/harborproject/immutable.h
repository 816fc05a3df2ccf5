// The immutable tag rules a HarborProject declares (spec.immutableTags), kept exactly: what to
// create, enable and delete given the rules Harbor holds. Pure.
#pragma once

#include <string>
#include <vector>

#include "harbormaster/harbor/model.h"

namespace hm::op::harborproject {

struct ImmutablePlan {
  std::vector<harbor::ImmutableRule> remove;  // held by Harbor, not declared (with their ids)
  std::vector<harbor::ImmutableRule> enable;  // declared, held but disabled (with their ids)
  std::vector<harbor::ImmutableRule> create;  // declared, not held

  bool empty() const { return remove.empty() && enable.empty() && create.empty(); }
  // "removed tags matching latest in repositories matching **; enabled …; created …": what an
  // Event says was done.
  std::string describe() const;
};

// A declared rule is held when Harbor holds one with the same selectors (an enabled one first);
// every held rule no declared rule claims is removed, so a rule edited in Harbor is removed and
// the declared one created again. Applied in the order remove, enable, create.
ImmutablePlan planImmutableRules(const std::vector<harbor::ImmutableRule>& declared,
                                 const std::vector<harbor::ImmutableRule>& held);

}  // namespace hm::op::harborproject
