// Pull secrets (kubernetes.io/dockerconfigjson) in the target namespaces and the
// ServiceAccounts' imagePullSecrets entries, and the caches the RobotAccount controller reads.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "context.h"

namespace hm::op::robotaccount {

// harbormaster_robot_days_to_expiry{robot_account}, registered by setup(); empty in tests that
// do not look.
struct ExpiryMetric {
  std::function<void(const std::string& robotAccount, double days)> set;
  std::function<void(const std::string& robotAccount)> forget;
};

// What the controller reads besides its clients: the manager's shared informers (setup() asks
// for them), the source of new robot secrets (tests choose theirs), and its metric.
struct Caches {
  std::shared_ptr<kube::Informer> robots;
  std::shared_ptr<kube::Informer> projects;
  std::shared_ptr<kube::Informer> namespaces;
  std::shared_ptr<kube::Informer> secrets;  // only those labelled managed-by harbormaster
  std::shared_ptr<kube::Informer> serviceAccounts;
  // A new robot secret (Harbor wants an upper-case letter, a lower-case one and a digit).
  std::function<StatusOr<std::string>()> newSecret;
  ExpiryMetric expiry;
};

// The informer indexes the controller registers (setup()) and reads.
inline constexpr const char* kRobotsByProject = "project";
inline constexpr const char* kSecretsByPullOwner = "pull-owner";
inline constexpr const char* kAccountsByNamespace = "namespace";

// The name a HarborProject's project has in Harbor: status.projectName once claimed, else
// spec.projectName, else metadata.name (the CRD's default).
std::string harborProjectName(const nlohmann::json& project);

// The role label tells a robot's credential (operator namespace) from its pull secrets.
inline constexpr const char* kRoleLabel = "harbormaster.io/role";
inline constexpr const char* kRoleCredential = "robot-credential";
inline constexpr const char* kRolePull = "pull-secret";
inline constexpr const char* kRoleCiCredentials = "ci-credentials";
nlohmann::json managedLabels(const std::string& owner, const std::string& role);

// Writes the pull secret into every target namespace (and the ServiceAccount entries) and the
// credentials Secret (spec.credentialsSecret), removes them where they no longer belong. Returns
// the namespaces written and the conflicts ("ns/name" of Secrets we do not own). Both follow the
// same credential, so a rotation reaches a CI runner's Secret exactly when it reaches the pull
// secrets: before the old robot stops.
boost::asio::awaitable<StatusOr<std::pair<int, std::vector<std::string>>>> fanOut(
    Context& ctx, const Caches& caches, const std::string& owner, const RobotAccountSpec& spec,
    const std::string& username, const std::string& password);
// Removes the given Secrets (the owner's pull and credentials Secrets) and the pull secrets'
// ServiceAccount entries, except those in `keep` ("ns/name").
boost::asio::awaitable<Status> removeFanOut(Context& ctx, const Caches& caches,
                                            const std::vector<nlohmann::json>& owned,
                                            const std::set<std::string>& keep);

}  // namespace hm::op::robotaccount
