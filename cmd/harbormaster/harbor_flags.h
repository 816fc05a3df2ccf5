// The flags that connect `webhook` and `check` to Harbor.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "flags.h"
#include "harbormaster/scangate/scan_gate.h"

namespace hm::cli {

// --harbor-url U [--harbor-ca F] [--harbor-credentials-file F] [--registry-host H]...
// [--scan-cache-ttl D] [--scan-negative-ttl D]
extern const std::set<std::string> kHarborFlags;

struct HarborFlags {
  std::optional<scangate::HarborConnection> connection;  // absent without --harbor-url
  scangate::CacheOptions cache;
};

// Credentials come from --harbor-credentials-file (one line "username:password", as a mounted
// Secret holds it) or else HARBOR_USERNAME / HARBOR_PASSWORD.
StatusOr<HarborFlags> parseHarborFlags(const Flags& flags);

}  // namespace hm::cli
