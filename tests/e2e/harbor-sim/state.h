// harbor-sim's in-memory Harbor: projects, artifacts recorded from pushes, scan reports.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace harborsim {

// Harbor's CVE allowlist: the system list has projectId 0; expiresAt is unix seconds.
struct CveAllowlist {
  int64_t id = 0;
  int64_t projectId = 0;
  std::optional<int64_t> expiresAt;
  std::vector<std::string> items;
};

// A project member (pkg/member/models.Member): a user ("u") or a user group ("g") with a role.
struct Member {
  int64_t id = 0;
  std::string entityType;  // "u" or "g"
  std::string name;        // username or group name
  int64_t entityId = 0;
  int role = 0;  // 1 projectAdmin, 2 developer, 3 guest, 4 maintainer, 5 limitedGuest
};

struct Project {
  int64_t id = 0;
  std::string name;
  std::map<std::string, std::string> metadata;
  std::string created;
  CveAllowlist allowlist;
  std::vector<Member> members;
  int64_t nextMemberId = 1;
  int64_t storageLimit = -1;  // the project quota's hard storage, bytes; -1 unlimited

  // The role of user `name`, or 0 when the user is no member.
  int roleOf(const std::string& name) const;
};

// A user group Harbor knows (/usergroups): group_type 1 LDAP, 2 HTTP, 3 OIDC.
struct UserGroup {
  int64_t id = 0;
  std::string name;
  int type = 0;
  std::string ldapDn;
};

// Harbor's quota ids are their own sequence; the simulator offsets them from project ids so a
// client that confuses the two gets a 404.
inline int64_t quotaIdOf(int64_t projectId) {
  return 1000 + projectId;
}

struct User {
  int64_t id = 0;
  std::string name;
  std::string password;
  bool sysadmin = false;
};

struct Accessory {
  int64_t id = 0;
  std::string digest;
  std::string type;  // signature.cosign
  int64_t size = 0;
  std::string created;
  std::string legacyTag;  // sha256-<hex>.sig when recorded from cosign's tag scheme
};

struct Artifact {
  int64_t id = 0;
  int64_t projectId = 0;
  std::string repository;  // "team/app"
  std::string digest;
  std::string mediaType;
  int64_t size = 0;
  std::vector<std::string> tags;
  std::string pushed;
  std::string configMediaType;
  bool isAccessory = false;           // a signature: not listed, not scannable
  std::vector<std::string> children;  // an index's manifests, by digest
  std::vector<std::pair<std::string, std::string>> platforms;  // per child: os, architecture
  std::vector<Accessory> accessories;                          // filled on read

  bool isIndex() const;
  bool scannable() const;
};

struct Finding {
  std::string id, package, version, fixVersion, severity;
};

struct ScanReport {
  std::string id;
  std::string status;  // Pending, Running, Stopped, Error, Success, Scheduled
  std::vector<Finding> findings;
  std::string started;
  std::string ended;
};

struct RobotAccess {
  std::string resource, action, effect;
};

struct RobotPermission {
  std::string kind;       // "project" or "system"
  std::string nameSpace;  // project name, "*" or "/"
  std::vector<RobotAccess> access;
};

struct Robot {
  int64_t id = 0;
  std::string name;  // stored name: "<project>+<name>" or "<name>"
  std::string description;
  std::string level;  // "project" or "system"
  int64_t duration = -1;
  bool disabled = false;
  int64_t createdUnix = 0;
  int64_t expiresAt = -1;
  std::string secret;
  int64_t projectId = 0;
  std::vector<RobotPermission> permissions;
  std::string created;

  bool can(const std::string& project, const std::string& resource,
           const std::string& action) const;
};

// A project's webhook policy (Harbor's notification policy): where events of the listed types go.
struct WebhookTarget {
  std::string type;  // http, slack, teams
  std::string address;
  std::string authHeader;  // sent as Authorization
  bool skipCertVerify = false;
  std::string payloadFormat;  // Default or CloudEvents (http only)
};

struct WebhookPolicy {
  int64_t id = 0;
  int64_t projectId = 0;
  std::string name;
  std::string description;
  bool enabled = true;
  std::vector<std::string> eventTypes;
  std::vector<WebhookTarget> targets;
  std::string creator;
  std::string created;
  std::string updated;
};

// Something happened that Harbor notifies about (pkg/notifier/model/event.go, reduced to the
// artifact and scan events): resources are (digest, tag) pairs of one repository.
struct HarborEvent {
  std::string type;        // PUSH_ARTIFACT, DELETE_ARTIFACT, SCANNING_COMPLETED, …
  std::string project;     // the project's name
  std::string repository;  // full name: "team/app"
  std::vector<std::pair<std::string, std::string>> resources;
  std::string operatorName;
  int64_t occurAt = 0;
  nlohmann::json scanOverview;  // scan events: the artifact's scan_overview
  bool publicProject = false;
};

// An immutable tag rule (pkg/immutable/model Metadata) as the API shows it; Harbor stores it
// whole as one JSON column (tag_filter), unique per project.
struct ImmutableRule {
  int64_t id = 0;
  int64_t projectId = 0;
  bool disabled = false;
  int64_t priority = 0;
  std::string action;
  std::string templ;  // "template"
  nlohmann::json params = nlohmann::json::object();
  nlohmann::json tagSelectors = nlohmann::json::array();
  nlohmann::json scopeSelectors = nlohmann::json::object();
};

// Harbor's severity codes (pkg/scan/vuln/severity.go): None = Unknown = 0 … Critical = 5,
// anything unrecognised 99.
int severityCode(const std::string& s);

class State {
 public:
  // Returns the error JSON status when refused: 400 name, 409 duplicate.
  std::pair<int, std::string> createProject(const std::string& name,
                                            std::map<std::string, std::string> metadata,
                                            int64_t& id);
  std::optional<Project> project(const std::string& nameOrId, bool byName) const;
  std::vector<Project> projects() const;
  bool projectHasRepositories(const std::string& name) const;
  // Forgets a repository's artifacts (DELETE …/repositories/{r}); false when it had none.
  bool deleteRepository(const std::string& repository);
  bool deleteProject(const std::string& name);
  // Applies `change` to the named project under the lock; false if there is no such project.
  bool updateProject(const std::string& name, const std::function<void(Project&)>& change);
  CveAllowlist systemAllowlist() const;
  void setSystemAllowlist(CveAllowlist list);

  std::pair<int, std::string> createUser(User& user);
  // 409 for a name the type already has.
  std::pair<int, std::string> createGroup(UserGroup& group);
  std::optional<UserGroup> group(const std::string& name, int type) const;
  std::optional<UserGroup> groupById(int64_t id) const;
  std::vector<UserGroup> groups() const;
  std::optional<User> user(const std::string& name) const;
  bool setSysadmin(int64_t id, bool sysadmin);

  // Records a manifest PUT: the artifact, its tag, an index's children, and cosign accessories
  // (legacy sha256-<hex>.sig tags and OCI 1.1 referrers with a subject), as Harbor's middleware.
  void recordPush(const std::string& repository, const std::string& reference,
                  const std::string& digest, const std::string& mediaType,
                  const std::string& manifest);
  std::optional<Artifact> artifact(const std::string& repository,
                                   const std::string& reference) const;
  // Descriptors of the manifests pushed with `subject` = digest (Harbor's referrers API).
  std::vector<nlohmann::json> referrers(const std::string& repository,
                                        const std::string& digest) const;
  // The report the API shows for an artifact: its own, or an index's children's merged
  // (API-NOTES §5.2). nullopt when never scanned.
  std::optional<ScanReport> effectiveReport(const Artifact& artifact) const;
  // POST …/scan: 202 and Pending reports for the artifact (an index: its children), 409 while a
  // scan is Pending or Running, 400 for media types the scanner cannot scan.
  std::pair<int, std::string> triggerScan(const Artifact& artifact);
  // Robots: the returned pair is (HTTP status, Harbor error message) when refused.
  std::pair<int, std::string> createRobot(Robot& robot);
  std::optional<Robot> robot(int64_t id) const;
  std::vector<Robot> robots() const;
  bool putRobot(const Robot& robot);
  bool deleteRobot(int64_t id);
  // A robot that may log in now: right name and secret, enabled, not expired.
  std::optional<Robot> authenticateRobot(const std::string& prefixedName,
                                         const std::string& secret) const;

  // DELETE …/artifacts/{ref}: the artifact (with its tags) removed, or nullopt when there was
  // none.
  std::optional<Artifact> deleteArtifact(const std::string& repository,
                                         const std::string& reference);
  // Every recorded artifact with this digest (a digest may sit in several repositories).
  std::vector<Artifact> artifactsWithDigest(const std::string& digest) const;
  // The artifacts of a repository (for the events its deletion sends).
  std::vector<Artifact> repositoryArtifacts(const std::string& repository) const;

  // Webhook policies; the pair is (HTTP status, Harbor error message) when refused: 409 for a
  // name the project already uses.
  std::pair<int, std::string> createWebhookPolicy(WebhookPolicy& policy);
  std::optional<WebhookPolicy> webhookPolicy(int64_t id) const;
  std::vector<WebhookPolicy> webhookPolicies(int64_t projectId) const;
  std::pair<int, std::string> putWebhookPolicy(const WebhookPolicy& policy);
  bool deleteWebhookPolicy(int64_t id);

  // Immutable tag rules; the pair is (HTTP status, Harbor error message) when refused: 409 for a
  // rule the project already holds.
  std::pair<int, std::string> createImmutableRule(ImmutableRule& rule);
  std::optional<ImmutableRule> immutableRule(int64_t id) const;
  std::vector<ImmutableRule> immutableRules(int64_t projectId) const;
  bool putImmutableRule(const ImmutableRule& rule);
  bool deleteImmutableRule(int64_t id);

  // Retention policies, stored as sent (with their id).
  int64_t createRetention(nlohmann::json policy);
  std::optional<nlohmann::json> retention(int64_t id) const;
  void putRetention(int64_t id, nlohmann::json policy);
  void deleteRetention(int64_t id);

  // Where events go (the simulator's notifier); called without the state's lock held.
  void setEventSink(std::function<void(HarborEvent)> sink);
  void publish(HarborEvent event) const;

  void setReport(const std::string& digest, ScanReport report);
  std::optional<ScanReport> report(const std::string& digest) const;

 private:
  mutable std::mutex mu_;
  int64_t nextId_ = 1;
  std::map<std::string, Project> projects_;
  std::map<std::string, Artifact> artifacts_;  // by repository + "@" + digest
  std::map<std::string, ScanReport> reports_;  // by digest
  std::map<int64_t, Robot> robots_;
  std::map<std::string, User> users_;
  std::map<int64_t, UserGroup> groups_;
  // Accessories by repository + "@" + subject digest; the subject may be pushed after them.
  std::map<std::string, std::vector<Accessory>> accessories_;
  std::map<std::string, std::vector<nlohmann::json>> referrers_;  // by repository@subject
  CveAllowlist systemAllowlist_;
  std::map<int64_t, WebhookPolicy> webhookPolicies_;
  std::map<int64_t, ImmutableRule> immutableRules_;
  std::map<int64_t, nlohmann::json> retentions_;
  std::function<void(HarborEvent)> eventSink_;
};

// The artifact JSON Harbor returns, with scan_overview when asked and a report exists.
nlohmann::json artifactJson(const Artifact& a, const std::optional<ScanReport>& report,
                            bool withScanOverview, bool withAccessory, const std::string& project);
nlohmann::json vulnerabilitiesJson(const std::optional<ScanReport>& report);

}  // namespace harborsim
