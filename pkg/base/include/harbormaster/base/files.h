// Small file helpers shared by the config and certificate loaders.
#pragma once

#include <string>

#include "harbormaster/base/status.h"

namespace hm {

// Reads a whole file (following symlinks, as a Kubernetes Secret volume uses them).
// Refuses files larger than maxBytes so a wrong path cannot exhaust memory.
StatusOr<std::string> readFile(const std::string& path, size_t maxBytes = 16 * 1024 * 1024);

}  // namespace hm
