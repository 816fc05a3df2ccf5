// The HarborProject controller: one Harbor project per HarborProject, created, adopted or
// repaired to match the spec, deleted per deletionPolicy.
#pragma once

#include <memory>

#include "context.h"

namespace hm::op::harborproject {

std::shared_ptr<Reconciler> newReconciler(Context& ctx);

}  // namespace hm::op::harborproject
