// Small file helpers shared by the config and certificate loaders.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harbormaster/base/status.h"

namespace hm {

// Reads a whole file (following symlinks, as a Kubernetes Secret volume uses them).
// Refuses files larger than maxBytes so a wrong path cannot exhaust memory.
StatusOr<std::string> readFile(const std::string& path, size_t maxBytes = 16 * 1024 * 1024);

// Writes a temporary file beside `path` with the given mode, then renames it over `path`, so a
// reader sees the old content or the new one, never half of it.
Status writeFileAtomically(const std::string& path, std::string_view content, unsigned mode);

// `--ports-file`: once a process listens (on port 0 when asked), it writes "name=port" lines
// here, atomically, so whoever started it learns the ports without racing for a free one.
Status writePortsFile(const std::string& path,
                      const std::vector<std::pair<std::string, unsigned>>& ports);

}  // namespace hm
