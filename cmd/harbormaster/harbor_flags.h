// The flags that connect `webhook` and `check` to Harbor.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "flags.h"
#include "harbormaster/review/engine.h"

namespace hm::cli {

// --harbor-url U [--harbor-ca F] [--harbor-credentials-file F] [--registry-host H]...
extern const std::set<std::string> kHarborFlags;
// For any registry (webhook and check):
// [--plain-http-registry H]... [--digest-lookup-budget D] [--tag-digest-ttl D]
// [--max-image-lookups-per-review N] [--max-image-lookups-in-flight N]
extern const std::set<std::string> kRegistryFlags;
// What the review engine reads (webhook and check): the two sets above and every fact source
// module's own flags (sources.h).
std::set<std::string> engineFlags();

struct HarborFlags {
  std::optional<review::HarborConnection> connection;  // absent without --harbor-url
  // The fact source modules, their flags set.
  std::vector<std::shared_ptr<facts::SourceModule>> sources;
  std::vector<std::string> plainHttpRegistries;  // local registries without TLS (never production)
  std::chrono::milliseconds digestLookupBudget{2'000};
  review::DigestOptions digests;  // --tag-digest-ttl
  // --max-image-lookups-per-review, --max-image-lookups-in-flight (review::EngineSettings).
  size_t maxImageLookupsPerReview = review::EngineSettings{}.maxImageLookupsPerReview;
  size_t maxImageLookupsInFlight = review::EngineSettings{}.maxImageLookupsInFlight;

  review::EngineOptions engineOptions() const;
};

// Credentials come from --harbor-credentials-file (one line "username:password", as a mounted
// Secret holds it) or else HARBOR_USERNAME / HARBOR_PASSWORD.
StatusOr<HarborFlags> parseHarborFlags(const Flags& flags);

}  // namespace hm::cli
