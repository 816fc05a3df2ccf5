// The policy status controller (policies need no Harbor): keys are "<Kind> [namespace/]name".
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "harbormaster/policysource/cluster_policies.h"
#include "manager.h"

namespace hm::op::policystatus {

// Registers the controller (unless options.policyStatus is off): the policy and exception
// resources, cached and loaded as the webhook loads them (a runnable of its own, whose CRDs may
// be missing without holding up the other controllers), and the files they name.
void setup(Manager& mgr);

// harbormaster_policy_resources{kind,state}: how many policies (Ready/NotReady) and exceptions
// (Active/Expired/Rejected) there are; registered by setup(), empty in tests that do not look.
using StateMetric = std::function<void(std::string_view kind, std::string_view state, double n)>;

std::shared_ptr<Reconciler> newReconciler(Context& ctx,
                                          std::shared_ptr<policysource::ClusterPolicies> policies,
                                          StateMetric states = {});

}  // namespace hm::op::policystatus
