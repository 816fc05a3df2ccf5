// Harbor scan facts about one image, and the pure judgement of spec.vulnerabilities over them.
//
// The facts are gathered elsewhere (pkg/scangate talks to Harbor and caches by digest); here
// they are plain data, so the rule that decides — Harbor's pull-time rule plus our policy — is
// table-tested without I/O. docs/policy.md states the semantics.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/time.h"
#include "harbormaster/policy/policy.h"

namespace hm::policy {

struct ScanFinding {
  std::string id;  // CVE-2024-0001
  std::string package;
  std::string version;
  std::string fixVersion;  // empty when no fix exists
  std::string severity;    // Harbor's words: Critical, High, Medium, Low, Unknown, None
};

enum class ScanState {
  kNotScanned,  // Harbor has no report
  kPending,     // Pending, Running or Scheduled
  kFailed,      // Error or Stopped
  kSuccess,
  kUnsupported,  // Harbor's scanner cannot scan this artifact
};

// The scan of one manifest: the image itself, or one platform of an index.
struct ArtifactScan {
  std::string digest;
  std::string platform;  // "linux/arm64" for an index child, else empty
  ScanState state = ScanState::kNotScanned;
  std::string status;  // Harbor's scan_status, for messages
  int64_t total = 0;
  std::map<std::string, int64_t> counts;  // the overview's (allowlists not applied)
  // The findings, fetched whenever total > 0; empty with total > 0 means only counts are known.
  std::vector<ScanFinding> findings;
};

struct HarborCveAllowlist {
  std::vector<std::string> items;
  std::optional<int64_t> expiresAt;  // unix seconds
};

// The Harbor project's pull-time policy (metadata prevent_vul/severity and its allowlists).
struct ProjectScanPolicy {
  std::string name;
  int64_t id = 0;
  bool preventVulnerable = false;
  std::string severity;  // as stored: "high"; missing or junk means Harbor blocks any finding
  bool reuseSystemAllowlist = true;  // absent in Harbor means true
  HarborCveAllowlist allowlist;
};

struct ScanFacts {
  enum class Source {
    kHarbor,       // looked up
    kNotHarbor,    // the image's registry is no Harbor we are configured for
    kUnreachable,  // Harbor errors, timeouts, 5xx
    kCredentials,  // Harbor refused our credentials (401/403)
    kNotFound,     // Harbor does not have the artifact
  };
  Source source = Source::kHarbor;
  std::string error;   // why, for every source but kHarbor
  bool stale = false;  // unreachable, but the last facts seen are filled in below
  std::string digest;
  std::string harborUrl;
  std::string uiLink;  // the artifact in Harbor's UI
  bool isIndex = false;
  std::vector<ArtifactScan> artifacts;  // the image, or each platform of an index
  ProjectScanPolicy project;
  HarborCveAllowlist systemAllowlist;
  bool scanTriggered = false;  // Harbormaster asked Harbor to scan (ScanAndDeny)
  // A dry run under ScanAndDeny: a real request would have asked Harbor to scan, this one
  // asked nothing (dry runs have no side effects).
  bool scanWouldBeRequested = false;
};

// Harbor's comparison code for a severity (pkg/scan/vuln/severity.go): None = Unknown = 0,
// Negligible 1, Low 2, Medium 3, High 4, Critical 5, anything else 99. Case-insensitive.
int severityCode(std::string_view severity);

// Empty when the image passes. `now` decides which allowlist entries still apply.
std::vector<Problem> judgeScan(const VulnerabilityRule& rule, const ScanFacts& facts, WallTime now);

}  // namespace hm::policy
