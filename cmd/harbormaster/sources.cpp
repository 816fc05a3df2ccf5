#include "sources.h"

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

std::set<std::string> sourceFlags() {
  std::set<std::string> names;
  for (const auto& m : sourceModules()) {
    for (const auto& f : m->flags()) {
      names.insert(f.name);
    }
  }
  return names;
}

}  // namespace hm::cli
