// The RobotAccount controller: one or two Harbor robots per RobotAccount, their credential in
// the master Secret (credential.h), pull secrets in the target namespaces. The decisions are
// plan.h's; this runs them.
#pragma once

#include <memory>

#include "context.h"

namespace hm::op::robotaccount {

std::shared_ptr<Reconciler> newReconciler(Context& ctx);

// A new robot secret from OpenSSL's generator: "Hm1" and 32 characters of [A-Za-z0-9].
StatusOr<std::string> randomSecret();

}  // namespace hm::op::robotaccount
