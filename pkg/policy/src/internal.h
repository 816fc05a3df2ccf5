// Helpers the policy library's sources share; not part of its interface.
#pragma once

#include "harbormaster/policy/policy.h"

namespace hm::policy {

// The exception names this policy (by metadata.name) and lies in its scope: a namespaced
// policy takes exceptions from its own namespace only.
bool exceptionNames(const ImagePolicy& policy, const ImageException& ex);

}  // namespace hm::policy
