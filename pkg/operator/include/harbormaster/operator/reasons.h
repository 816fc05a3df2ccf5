// Every condition type, condition reason and Event reason the operator writes, in one place:
// what users match in alerts and `kubectl wait`, so they change only with a release note.
//
// Conditions (metav1.Condition on every resource the operator owns):
//   Ready   True when the resource does what it asks: the Harbor project exists as specified,
//           the robot's credential is in every target pull secret, the policy is enforced.
//   Synced  (HarborProject, RobotAccount) True when Harbor matches the spec, whatever else
//           holds Ready back (a RobotAccount whose pull secret name is taken is Synced, not
//           Ready).
//   Notifications  (HarborProject, when the operator has a notifications URL) True when the
//           project's Harbor webhook policy posts to the operator; its failure holds back
//           nothing else.
//   ImmutableTags  (HarborProject with spec.immutableTags) True when the project's immutable
//           tag rules are exactly the declared ones; its failure holds back nothing else.
//   Retention  (HarborProject with spec.retention) True when the project's retention policy is
//           the declared one; its failure holds back nothing else.
//   Members  (HarborProject with spec.members) True when every declared member has its role
//           (and, Exclusive, no other member is left); False names each member Harbor refused.
#pragma once

namespace hm::op {

namespace condition {
inline constexpr const char* kReady = "Ready";
inline constexpr const char* kSynced = "Synced";
inline constexpr const char* kNotifications = "Notifications";
inline constexpr const char* kImmutableTags = "ImmutableTags";
inline constexpr const char* kMembers = "Members";
inline constexpr const char* kRetention = "Retention";
inline constexpr const char* kTrue = "True";
inline constexpr const char* kFalse = "False";
inline constexpr const char* kUnknown = "Unknown";
}  // namespace condition

namespace reason {
// Condition reasons.
inline constexpr const char* kSynced = "Synced";                  // Harbor matches the spec
inline constexpr const char* kProjectExists = "ProjectExists";    // Ready while Synced is not
inline constexpr const char* kCreating = "Creating";              // HarborProject being created
inline constexpr const char* kInvalidSpec = "InvalidSpec";        // fix the spec (terminal)
inline constexpr const char* kHarborRejected = "HarborRejected";  // Harbor answered 400 (terminal)
inline constexpr const char* kHarborError = "HarborError";        // retried with backoff
inline constexpr const char* kKubernetesError = "KubernetesError";  // retried with backoff
inline constexpr const char* kAlreadyExists = "AlreadyExists";      // project not ours, no adopt
inline constexpr const char* kDeletionBlocked = "DeletionBlocked";  // project still has content
inline constexpr const char* kProjectNotReady = "ProjectNotReady";  // RobotAccount waits
inline constexpr const char* kSecretConflict = "SecretConflict";    // pull secret name taken
inline constexpr const char* kDisabled = "Disabled";  // spec.notifications.enabled: false
// Event reasons (Normal unless noted).
inline constexpr const char* kProjectCreated = "ProjectCreated";
inline constexpr const char* kProjectAdopted = "ProjectAdopted";
inline constexpr const char* kProjectUpdated = "ProjectUpdated";
inline constexpr const char* kQuotaUpdated = "QuotaUpdated";
inline constexpr const char* kRobotCreated = "RobotCreated";
inline constexpr const char* kRobotUpdated = "RobotUpdated";
inline constexpr const char* kRobotRecreated = "RobotRecreated";          // Warning
inline constexpr const char* kDriftRepaired = "DriftRepaired";            // Warning
inline constexpr const char* kCredentialRejected = "CredentialRejected";  // Warning
inline constexpr const char* kSecretRotated = "SecretRotated";
inline constexpr const char* kWebhookPolicyCreated = "WebhookPolicyCreated";
inline constexpr const char* kWebhookPolicyUpdated = "WebhookPolicyUpdated";
inline constexpr const char* kWebhookPolicyRemoved = "WebhookPolicyRemoved";
inline constexpr const char* kImmutableTagRulesUpdated = "ImmutableTagRulesUpdated";
inline constexpr const char* kMembersUpdated = "MembersUpdated";
inline constexpr const char* kRetentionPolicyUpdated = "RetentionPolicyUpdated";
}  // namespace reason

namespace eventtype {
inline constexpr const char* kNormal = "Normal";
inline constexpr const char* kWarning = "Warning";
}  // namespace eventtype

}  // namespace hm::op
