// The flags that connect `webhook` and `check` to Harbor.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "flags.h"
#include "harbormaster/base/credentials.h"
#include "harbormaster/review/engine.h"

namespace hm::cli {

// --harbor-url U [--harbor-ca F] [--harbor-credentials-file F] [--registry-host H]...
// [--harbor-rate-limit N]
std::vector<Flag> harborFlags();
extern const std::set<std::string> kHarborFlags;  // their names
// For any registry (webhook and check):
// [--plain-http-registry H]... [--digest-lookup-budget D] [--tag-digest-ttl D]
// [--max-image-lookups-per-review N] [--max-image-lookups-in-flight N]
std::vector<Flag> registryFlags();
extern const std::set<std::string> kRegistryFlags;  // their names
// What the review engine reads (webhook and check): the two tables above and every fact source
// module's own flags (sources.h), as groups of `spec`.
FlagSpec& addEngineFlags(FlagSpec& spec);
std::set<std::string> engineFlags();  // their names

struct HarborFlags {
  std::optional<review::HarborConnection> connection;  // absent without --harbor-url
  // --harbor-credentials-file, re-read by the command (its reload() swaps the connection's
  // credentials in place); null with credentials from the environment or none.
  std::shared_ptr<CredentialsFile> credentialsFile;
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

// Credentials come from --harbor-credentials-file (one line "username:password", or a mounted
// Secret's directory with username and password files) or else HARBOR_USERNAME /
// HARBOR_PASSWORD.
StatusOr<HarborFlags> parseHarborFlags(const Flags& flags);

// What a CI job's environment says about Harbor: GitLab's Harbor integration sets these in every
// job, GitHub workflows pass the same names from secrets.
struct HarborEnvironment {
  std::string url;       // HARBOR_URL: https://harbor.example.com
  std::string host;      // HARBOR_HOST: harbor.example.com (the registry name images use)
  std::string username;  // HARBOR_USERNAME (a robot: robot$project+name)
  std::string password;  // HARBOR_PASSWORD
};
HarborEnvironment harborEnvironment();  // from the process's environment

// `check`'s precedence: --harbor-url, else HARBOR_URL; with HARBOR_URL, HARBOR_HOST is one more
// --registry-host. Credentials as parseHarborFlags. Returns the arguments to parse.
std::vector<std::string> withHarborEnvironment(std::vector<std::string> args, const Flags& flags,
                                               const HarborEnvironment& env);

}  // namespace hm::cli
