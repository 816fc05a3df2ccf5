// Harbor API v2.0 values Harbormaster reads, parsed from untrusted JSON.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/status.h"

namespace hm::harbor {

// The report MIME types Harbor keys scan_overview by, newest first.
inline constexpr std::string_view kReportV11 =
    "application/vnd.security.vulnerability.report; version=1.1";
inline constexpr std::string_view kReportV10 =
    "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";

// A system or project CVE allowlist. Harbor ignores an expired list as a whole.
struct CveAllowlist {
  std::vector<std::string> items;    // CVE ids, matched exactly and case-sensitively
  std::optional<int64_t> expiresAt;  // unix seconds; nullopt never expires

  bool activeAt(int64_t nowUnix) const { return !expiresAt || *expiresAt > nowUnix; }
};

struct Project {
  int64_t id = 0;
  std::string name;
  std::map<std::string, std::string> metadata;  // Harbor's values are strings ("true", "high")
  int64_t repoCount = 0;
  CveAllowlist allowlist;
};

// PUT /projects/{p} is a merge: these metadata keys are upserted (none removed), and a present
// allowlist replaces the project's.
struct ProjectUpdate {
  std::map<std::string, std::string> metadata;
  std::optional<CveAllowlist> allowlist;
};

// GET /systeminfo. Anonymous callers get only authMode; the rest need credentials.
struct SystemInfo {
  std::string authMode;
  std::string harborVersion;
  std::string externalUrl;
  bool readOnly = false;
};

struct ProjectSpec {
  std::string name;
  std::map<std::string, std::string> metadata;
  std::optional<int64_t> storageLimit;  // bytes, -1 unlimited
};

struct ScanSummary {
  std::string reportId;
  std::string status;    // Pending, Running, Stopped, Error, Success, Scheduled
  std::string severity;  // present only for Success
  int64_t total = 0;
  int64_t fixable = 0;
  std::map<std::string, int64_t> counts;  // "High" → 2; only severities that occur
};

struct Accessory {
  std::string type;  // signature.cosign, signature.notation, …
  std::string digest;
  std::string subjectDigest;
};

struct Artifact {
  int64_t id = 0;
  std::string digest;
  std::string mediaType;
  std::string repository;
  std::vector<std::string> tags;
  // The first report type Harbor has, in kReportV11, kReportV10 order; absent if never scanned.
  std::optional<ScanSummary> scan;
  std::vector<Accessory> accessories;
  // An index's children (Harbor's `references`), whose scans Harbor merges into the index's.
  std::vector<std::string> children;
  std::vector<std::string> childPlatforms;  // "linux/arm64", parallel to children; may be ""
  // Harbor links the vulnerabilities addition only when its scanner can scan the artifact.
  bool scannable = false;
};

struct Vulnerability {
  std::string id;
  std::string package;
  std::string version;
  std::string fixVersion;
  std::string severity;
};

struct VulnerabilityReport {
  std::string severity;
  std::vector<Vulnerability> vulnerabilities;
};

struct RobotAccess {
  std::string resource;  // "repository"
  std::string action;    // "pull"
};

struct RobotPermission {
  std::string kind = "project";
  std::string nameSpace;  // the project name
  std::vector<RobotAccess> access;
};

struct RobotSpec {
  std::string name;  // short name; Harbor shows robot$<project>+<name>
  std::string description;
  std::string level = "project";
  int64_t durationDays = -1;  // -1 never expires; 0 is refused by Harbor
  bool disabled = false;
  std::vector<RobotPermission> permissions;
};

struct Robot {
  int64_t id = 0;
  std::string name;  // as Harbor shows it: robot$team-a+puller
  std::string description;
  std::string level;
  int64_t durationDays = -1;
  bool disabled = false;
  int64_t expiresAt = -1;  // unix seconds, -1 never
  std::vector<RobotPermission> permissions;
};

// What POST /robots returns: the only time Harbor shows the secret.
struct CreatedRobot {
  int64_t id = 0;
  std::string name;
  std::string secret;
  int64_t expiresAt = -1;
};

// A project's storage quota (GET /quotas?reference=project&reference_id=N).
struct Quota {
  int64_t id = 0;
  int64_t hardStorage = -1;  // bytes, -1 unlimited
  int64_t usedStorage = 0;
};

// A project's webhook policy (notification policy): Harbor posts events of these types to its
// targets (API-NOTES §7).
struct WebhookTarget {
  std::string type = "http";
  std::string address;
  std::string authHeader;  // sent as the Authorization header
  bool skipCertVerify = false;
  std::string payloadFormat = "Default";  // or CloudEvents
  bool operator==(const WebhookTarget&) const = default;
};

struct WebhookPolicy {
  int64_t id = 0;
  std::string name;
  std::string description;
  bool enabled = true;
  std::vector<std::string> eventTypes;
  std::vector<WebhookTarget> targets;
};

// A tag immutability rule (the API's ImmutableRule, action "immutable", template
// "immutable_template"): tags matching the tag selector in repositories matching the repository
// selector cannot be pushed over or deleted. Harbor applies one doublestar selector of each; a
// list of patterns is one pattern "{a,b}".
struct ImmutableRule {
  int64_t id = 0;
  bool disabled = false;
  std::string repositoryDecoration = "repoMatches";  // or repoExcludes
  std::string repositoryPattern = "**";
  std::string tagDecoration = "matches";  // or excludes
  std::string tagPattern = "**";
  // Harbor holds more than this model says (another selector kind, several selectors, other
  // scopes, params): such a rule is never what a spec declares.
  bool unmodelled = false;

  // The same selectors (ids and `disabled` aside).
  bool sameSelectors(const ImmutableRule& other) const;
  // "tags matching v* in repositories matching **", for events and conditions.
  std::string describe() const;
};

// A tag retention rule (RetentionRule, action "retain"): of the artifacts whose repository and
// tags the selectors match, keep those the template picks; a policy run deletes what no rule
// keeps.
struct RetentionRule {
  bool disabled = false;
  // latestPushedK, latestPulledN, nDaysSinceLastPush, nDaysSinceLastPull or always.
  std::string templ;
  int64_t param = 0;                                 // params[templ]; none for always
  std::string repositoryDecoration = "repoMatches";  // or repoExcludes
  std::string repositoryPattern = "**";
  std::string tagDecoration = "matches";  // or excludes
  std::string tagPattern = "**";
  bool untagged =
      true;  // the tag selector's extras: untagged artifacts count too (the UI's default)
  bool unmodelled = false;  // other selectors, scopes or params than these

  bool operator==(const RetentionRule&) const = default;
  // "keep the 10 most recently pushed of tags matching release-* in repositories matching **".
  std::string describe() const;
};

// A project's retention policy (RetentionPolicy, algorithm "or", project scope).
struct RetentionPolicy {
  int64_t id = 0;
  int64_t projectId = 0;  // scope.ref
  std::string cron;       // trigger.settings.cron, Harbor's six fields; empty: never on its own
  std::vector<RetentionRule> rules;
  bool unmodelled = false;  // another algorithm or trigger kind
};

// A project member as GET /projects/{p}/members lists it (ProjectMemberEntity).
struct ProjectMember {
  int64_t id = 0;
  std::string name;    // entity_name: a username or a group name
  bool group = false;  // entity_type "g" (else "u")
  int role = 0;        // 1 projectAdmin, 2 developer, 3 guest, 4 maintainer, 5 limitedGuest
};

// Harbor's project role ids (common/const.go) and the names Harbormaster's resources use for
// them (projectAdmin, developer, guest, maintainer, limitedGuest): one table both ways.
std::optional<int> memberRoleId(std::string_view name);
std::string memberRoleName(int role);  // "role 9" for an id Harbor added later

// A member to add: a user by name, or a group by name and type.
struct MemberSpec {
  std::string name;
  bool group = false;
  int groupType = 0;  // 1 LDAP, 2 HTTP, 3 OIDC (group_type)
  int role = 0;
  bool operator==(const MemberSpec&) const = default;
};

StatusOr<Project> parseProject(std::string_view body);
// The first (only) quota of a list; NotFound when the list is empty.
StatusOr<Quota> parseQuotaList(std::string_view body);
StatusOr<Robot> parseRobot(std::string_view body);
StatusOr<std::vector<Robot>> parseRobotList(std::string_view body);
StatusOr<Artifact> parseArtifact(std::string_view body);
StatusOr<std::vector<WebhookPolicy>> parseWebhookPolicyList(std::string_view body);
// The body of POST and PUT …/webhook/policies (every field: PUT replaces the policy).
std::string webhookPolicyJson(const WebhookPolicy& policy);
StatusOr<std::vector<ImmutableRule>> parseImmutableRuleList(std::string_view body);
StatusOr<std::vector<ProjectMember>> parseMemberList(std::string_view body);
StatusOr<RetentionPolicy> parseRetentionPolicy(std::string_view body);
// The body of POST /retentions and PUT /retentions/{id}.
std::string retentionPolicyJson(const RetentionPolicy& policy);
// The body of POST …/members.
std::string memberJson(const MemberSpec& member);
// The body of POST and PUT …/immutabletagrules (PUT: with the rule's id).
std::string immutableRuleJson(const ImmutableRule& rule);
StatusOr<CveAllowlist> parseAllowlist(std::string_view body);
StatusOr<SystemInfo> parseSystemInfo(std::string_view body);
// The additions/vulnerabilities map; nullopt when Harbor has no report ({}).
StatusOr<std::optional<VulnerabilityReport>> parseVulnerabilities(std::string_view body);

// RFC 8288 Link header → rel → target, e.g. Harbor's
// `</api/v2.0/robots?page=2&page_size=100>; rel="next" , </api/…>; rel="prev"`. Malformed parts
// are skipped; targets may contain ',' and ';'.
std::map<std::string, std::string> linkRelations(std::string_view header);
// The first {code, message} of a Harbor error body, or empty strings.
std::pair<std::string, std::string> harborError(std::string_view body);

// A Harbor webhook notification (Default or CloudEvents payload format) → what it makes stale:
// SCANNING_COMPLETED/FAILED/STOPPED, PUSH_ARTIFACT and DELETE_ARTIFACT (harbor.scan.completed, …
// as CloudEvents) name digests; a push or deletion of a tag names "project/repository:tag"
// (Harbor's repo_full_name). Other event types give nothing; a body that is no Harbor event is
// InvalidArgument.
struct Invalidation {
  std::vector<std::string> digests;
  std::vector<std::string> tags;
  bool empty() const { return digests.empty() && tags.empty(); }
};
StatusOr<Invalidation> invalidationOf(std::string_view body);

}  // namespace hm::harbor
