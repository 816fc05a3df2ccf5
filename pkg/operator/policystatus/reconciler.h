// The policy status controller (policies need no Harbor): keys are "<Kind> [namespace/]name".
#pragma once

#include <memory>

#include "harbormaster/policysource/cluster_policies.h"
#include "manager.h"

namespace hm::op::policystatus {

// Registers the controller (unless options.policyStatus is off): the policy and exception
// resources, cached and loaded as the webhook loads them (a runnable of its own, whose CRDs may
// be missing without holding up the other controllers), and the files they name.
void setup(Manager& mgr);

std::shared_ptr<Reconciler> newReconciler(Context& ctx,
                                          std::shared_ptr<policysource::ClusterPolicies> policies,
                                          std::shared_ptr<metrics::OperatorMetrics> metrics);

}  // namespace hm::op::policystatus
