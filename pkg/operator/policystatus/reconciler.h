// The policy status controller (policies need no Harbor): keys are "<Kind> [namespace/]name".
#pragma once

#include <memory>

#include "context.h"
#include "harbormaster/policysource/cluster_policies.h"

namespace hm::op::policystatus {

std::shared_ptr<Reconciler> newReconciler(Context& ctx,
                                          std::shared_ptr<policysource::ClusterPolicies> policies,
                                          std::shared_ptr<metrics::OperatorMetrics> metrics);

}  // namespace hm::op::policystatus
