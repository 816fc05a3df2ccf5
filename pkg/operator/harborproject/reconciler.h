// The HarborProject controller: one Harbor project per HarborProject, created, adopted or
// repaired to match the spec, deleted per deletionPolicy.
#pragma once

#include <memory>

#include "manager.h"

namespace hm::op::harborproject {

// Registers the controller (needs Harbor).
void setup(Manager& mgr);

std::shared_ptr<Reconciler> newReconciler(Context& ctx, std::shared_ptr<kube::Informer> projects);

}  // namespace hm::op::harborproject
