// The fact source modules `webhook` and `check` run (facts/module.h).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "harbormaster/facts/module.h"

namespace hm::cli {

// A fresh instance of every module, flags unset.
std::vector<std::shared_ptr<facts::SourceModule>> sourceModules();
// Registers every module's policy sections (policy/section.h), once per process; each
// subcommand calls it before reading a policy, so the webhook, the operator's status and `check`
// read the same grammar.
Status registerPolicySections();

}  // namespace hm::cli
