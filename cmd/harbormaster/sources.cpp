#include "sources.h"

#include "harbormaster/policy/section.h"
#include "harbormaster/scangate/scan_gate.h"
#include "harbormaster/signaturegate/signature_gate.h"

namespace hm::cli {

std::vector<std::shared_ptr<facts::SourceModule>> sourceModules() {
  // One line per fact source; the engine, its options and the flags follow from it.
  return {
      scangate::sourceModule(),
      signaturegate::sourceModule(),
  };
}

Status registerPolicySections() {
  // Sections hold no state: the instances registered here serve every module instance.
  static const Status registered = [] {
    for (const auto& m : sourceModules()) {
      for (auto& section : m->sections()) {
        HM_RETURN_IF_ERROR(policy::registerSection(std::move(section)));
      }
    }
    return okStatus();
  }();
  return registered;
}

}  // namespace hm::cli
