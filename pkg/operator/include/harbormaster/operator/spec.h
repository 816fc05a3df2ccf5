// The HarborProject and RobotAccount custom resources as plain structs, parsed from the JSON the
// API server stores. The CRD schemas (crds/) default and validate most fields; parsing checks
// again, because an older CRD, a server without CEL or a hand-made object may let more through,
// and a bad spec must end as a clear condition, never as half-applied Harbor state.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harbormaster/base/status.h"
#include "harbormaster/base/time.h"
#include "harbormaster/harbor/model.h"

namespace hm::op {

inline constexpr const char* kGroup = "harbormaster.io";
inline constexpr const char* kVersion = "v1alpha1";
inline constexpr const char* kFinalizer = "harbormaster.io/cleanup";
inline constexpr const char* kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr const char* kManagedByValue = "harbormaster";
inline constexpr const char* kOwnerAnnotation = "harbormaster.io/robot-account";
inline constexpr const char* kOwnerLabel = "harbormaster.io/robot-account";
// Any new value asks for a rotation now (kubectl annotate ra x harbormaster.io/rotate=$(date +%s)).
inline constexpr const char* kRotateAnnotation = "harbormaster.io/rotate";

enum class DeletionPolicy { kRetain, kDelete };

// spec.retention: Harbor's tag retention policy for the project.
struct RetentionSpec {
  std::string schedule;  // Harbor's cron (six fields, seconds first); empty: runs only by hand
  std::vector<harbor::RetentionRule> rules;
};

struct HarborProjectSpec {
  std::string projectName;
  bool isPublic = false;
  bool autoScan = true;
  bool autoSbomGeneration = false;
  bool preventVulnerable = false;
  std::string severity = "high";
  bool cosignRequired = false;
  std::optional<int64_t> storageLimitBytes;  // -1 unlimited; absent: not managed
  std::optional<harbor::CveAllowlist> cveAllowlist;
  bool reuseSystemAllowlist = true;
  bool adoptExisting = false;
  DeletionPolicy deletionPolicy = DeletionPolicy::kRetain;
  // spec.notifications.enabled; absent: on when the operator is given its notifications URL.
  std::optional<bool> notifications;
  // spec.immutableTags: the project's immutable tag rules, kept exactly as declared (an empty
  // list removes every rule); absent: the operator leaves Harbor's rules alone.
  std::optional<std::vector<harbor::ImmutableRule>> immutableTags;
  // spec.members: users and groups with their roles; absent: members are left alone. Members
  // the list does not name stay unless spec.membersPolicy is Exclusive.
  std::optional<std::vector<harbor::MemberSpec>> members;
  // spec.retention; absent: the project's retention policy is left alone.
  std::optional<RetentionSpec> retention;
  bool exclusiveMembers = false;

  // Harbor project metadata as Harbor stores it ("true"/"false", lower-case severity).
  std::map<std::string, std::string> harborMetadata() const;
};

struct LabelRequirement {
  std::string key;
  std::string op;  // In, NotIn, Exists, DoesNotExist
  std::vector<std::string> values;
};

struct LabelSelector {
  std::map<std::string, std::string> matchLabels;
  std::vector<LabelRequirement> matchExpressions;
  bool empty() const { return matchLabels.empty() && matchExpressions.empty(); }
  bool matches(const nlohmann::json& labels) const;
};

struct PullSecretSpec {
  std::string name;
  std::vector<std::string> namespaces;
  std::optional<LabelSelector> namespaceSelector;
  std::vector<std::string> serviceAccounts;  // "*": every ServiceAccount
};

// spec.credentialsSecret: the robot's username and password as an Opaque Secret, for CI runners
// and secret syncers.
struct CredentialsSecretSpec {
  std::string name;
  std::string nameSpace;
};

// spec.level: a robot of one project, or a system robot spanning projects (which needs the
// operator to be a Harbor administrator).
enum class RobotLevel { kProject, kSystem };

// One entry of a System robot's spec.projects.
struct ProjectGrant {
  std::string project;  // the project as Harbor names it, or "*": every project
  std::vector<harbor::RobotAccess> permissions;
};

struct RobotAccountSpec {
  RobotLevel level = RobotLevel::kProject;
  std::string project;                 // kProject: a HarborProject's metadata.name
  std::vector<ProjectGrant> projects;  // kSystem
  std::string name;                    // the robot's short name
  std::string description;
  // kProject: what the robot may do in its project (kSystem: spec.projects carry theirs).
  std::vector<harbor::RobotAccess> permissions;
  int64_t durationDays = 30;  // -1: never expires
  std::chrono::seconds rotateBefore{7 * 24 * 3600};
  std::optional<std::chrono::seconds> rotateEvery;
  std::optional<PullSecretSpec> pullSecret;
  std::optional<CredentialsSecretSpec> credentialsSecret;
  DeletionPolicy deletionPolicy = DeletionPolicy::kDelete;
};

// When the active robot secret should be replaced: rotateBefore ahead of its expiry (none for a
// secret that never expires) or rotateEvery after `since` (the last rotation, or the robot's
// creation), whichever is earlier; nullopt when neither applies.
std::optional<std::chrono::system_clock::time_point> nextRotation(
    const RobotAccountSpec& spec, std::optional<std::chrono::system_clock::time_point> expiresAt,
    std::chrono::system_clock::time_point since);

// `object` is the whole custom resource; errors name the field.
StatusOr<HarborProjectSpec> parseHarborProject(const nlohmann::json& object);
StatusOr<RobotAccountSpec> parseRobotAccount(const nlohmann::json& object);

// "10Gi", "500M", "unlimited" (-1).
StatusOr<int64_t> parseStorageQuantity(const std::string& text);
// Go durations ("168h", "1h30m"): one parser for every input, in pkg/base.
using ::hm::parseGoDuration;

}  // namespace hm::op
