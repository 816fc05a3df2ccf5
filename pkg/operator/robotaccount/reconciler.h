// The RobotAccount controller: one or two Harbor robots per RobotAccount, their credential in
// the master Secret (credential.h), pull secrets in the target namespaces (fan_out.h). The
// decisions are plan.h's; this runs them.
#pragma once

#include <memory>

#include "manager.h"
#include "robotaccount/fan_out.h"

namespace hm::op::robotaccount {

// Registers the controller (needs Harbor): RobotAccounts, the Secrets it owns, and the
// projects, namespaces and ServiceAccounts its robots and pull secrets depend on.
void setup(Manager& mgr);

std::shared_ptr<Reconciler> newReconciler(Context& ctx, Caches caches);

// A new robot secret from OpenSSL's generator: "Hm1" and 32 characters of [A-Za-z0-9].
StatusOr<std::string> randomSecret();

}  // namespace hm::op::robotaccount
