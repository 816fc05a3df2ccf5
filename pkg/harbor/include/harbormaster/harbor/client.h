// Harbor API v2.0 client: the calls the webhook and the operator make.
//
//   auto h = harbor::Client::create(http, {.url = "https://harbor.example.com",
//                                          .username = u, .password = p});
//   auto artifact = co_await h->getArtifact("team", "app/web", "sha256:…", deadline);
//
// It honours shared/harbor/API-NOTES.md: repository names double-encoded, `X-Is-Resource-Name:
// true` on every project reference, error bodies {"errors":[{code,message}]} mapped to Status
// codes, and — because Harbor answers bad credentials as anonymous — a 401 or 403 after sending
// credentials is reported as "credentials rejected or insufficient". Credentials never appear
// in errors or logs.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "harbormaster/base/credentials.h"
#include "harbormaster/harbor/model.h"
#include "harbormaster/net/client.h"

namespace hm::harbor {

struct HarborOptions {
  std::string url;  // https://harbor.example.com (no trailing /api/v2.0)
  std::string username;
  std::string password;
  // API requests per second this client sends at most (a second's worth at once); 0: no limit.
  // A request that would wait past its deadline fails at once with ResourceExhausted.
  double requestsPerSecond = 0;
  // When set, read on every request instead of username and password: credentials that are
  // replaced while the client runs (a rotated robot in a mounted Secret).
  std::shared_ptr<const CredentialSource> credentials = nullptr;
};

using Deadline = std::chrono::steady_clock::time_point;

class Client {
 public:
  static std::shared_ptr<Client> create(std::shared_ptr<net::HttpClient> http,
                                        HarborOptions options);
  virtual ~Client() = default;

  // GET /api/v2.0/health: "healthy" or "unhealthy" (Harbor always answers 200).
  virtual boost::asio::awaitable<StatusOr<std::string>> health(Deadline deadline) = 0;
  virtual boost::asio::awaitable<StatusOr<bool>> projectExists(std::string name,
                                                               Deadline deadline) = 0;
  virtual boost::asio::awaitable<StatusOr<Project>> getProject(std::string name,
                                                               Deadline deadline) = 0;
  // Returns the new project's id (from the Location header).
  virtual boost::asio::awaitable<StatusOr<int64_t>> createProject(ProjectSpec spec,
                                                                  Deadline deadline) = 0;
  virtual boost::asio::awaitable<Status> deleteProject(std::string name, Deadline deadline) = 0;
  // PUT /projects/{name}: merges metadata keys, replaces the allowlist when given.
  virtual boost::asio::awaitable<Status> updateProject(std::string name, ProjectUpdate update,
                                                       Deadline deadline) = 0;
  // PUT /projects/{name}/metadatas/{key}, where Harbor validates the value (400 otherwise).
  virtual boost::asio::awaitable<Status> setProjectMetadata(std::string name, std::string key,
                                                            std::string value,
                                                            Deadline deadline) = 0;
  // The only way to remove a metadata key: PUT never deletes one.
  virtual boost::asio::awaitable<Status> deleteProjectMetadata(std::string name, std::string key,
                                                               Deadline deadline) = 0;
  // The project's storage quota; setting it needs a system administrator.
  virtual boost::asio::awaitable<StatusOr<Quota>> projectQuota(int64_t projectId,
                                                               Deadline deadline) = 0;
  virtual boost::asio::awaitable<Status> setStorageQuota(int64_t quotaId, int64_t bytes,
                                                         Deadline deadline) = 0;
  virtual boost::asio::awaitable<StatusOr<CveAllowlist>> systemAllowlist(Deadline deadline) = 0;
  // Needs a system admin; Harbor answers 500 for empty or duplicate ids.
  virtual boost::asio::awaitable<Status> setSystemAllowlist(CveAllowlist list,
                                                            Deadline deadline) = 0;
  virtual boost::asio::awaitable<StatusOr<SystemInfo>> systemInfo(Deadline deadline) = 0;
  // `repository` is the path below the project ("app" or "team/app"); `reference` a tag or digest.
  virtual boost::asio::awaitable<StatusOr<Artifact>> getArtifact(std::string project,
                                                                 std::string repository,
                                                                 std::string reference,
                                                                 Deadline deadline) = 0;
  virtual boost::asio::awaitable<StatusOr<std::optional<VulnerabilityReport>>> vulnerabilities(
      std::string project, std::string repository, std::string reference, Deadline deadline) = 0;
  // POST …/scan → 202. FailedPrecondition when no scanner is available, AlreadyExists while a
  // scan is running (409), InvalidArgument when the scanner cannot scan the media type.
  virtual boost::asio::awaitable<Status> scanArtifact(std::string project, std::string repository,
                                                      std::string reference, Deadline deadline) = 0;

  // A project's webhook policies (every page); they hold the target's auth_header, so the
  // caller must not log them.
  virtual boost::asio::awaitable<StatusOr<std::vector<WebhookPolicy>>> listWebhookPolicies(
      std::string project, Deadline deadline) = 0;
  // Returns the new policy's id (from the Location header); Conflict for a taken name.
  virtual boost::asio::awaitable<StatusOr<int64_t>> createWebhookPolicy(std::string project,
                                                                        WebhookPolicy policy,
                                                                        Deadline deadline) = 0;
  // PUT replaces every field of policy `policy.id`.
  virtual boost::asio::awaitable<Status> updateWebhookPolicy(std::string project,
                                                             WebhookPolicy policy,
                                                             Deadline deadline) = 0;
  virtual boost::asio::awaitable<Status> deleteWebhookPolicy(std::string project, int64_t id,
                                                             Deadline deadline) = 0;

  // A project's immutable tag rules (every page).
  virtual boost::asio::awaitable<StatusOr<std::vector<ImmutableRule>>> listImmutableRules(
      std::string project, Deadline deadline) = 0;
  // Returns the new rule's id; Conflict when the project holds the same rule. Harbor enables
  // every new rule.
  virtual boost::asio::awaitable<StatusOr<int64_t>> createImmutableRule(std::string project,
                                                                        ImmutableRule rule,
                                                                        Deadline deadline) = 0;
  // PUT …/immutabletagrules/{rule.id}. Harbor applies only the toggle when `disabled` differs
  // from what it holds, and otherwise only the selectors.
  virtual boost::asio::awaitable<Status> updateImmutableRule(std::string project,
                                                             ImmutableRule rule,
                                                             Deadline deadline) = 0;
  virtual boost::asio::awaitable<Status> deleteImmutableRule(std::string project, int64_t id,
                                                             Deadline deadline) = 0;

  // GET /retentions/{id}: NotFound when the policy is gone (its project's retention_id can
  // outlive it).
  virtual boost::asio::awaitable<StatusOr<RetentionPolicy>> getRetention(int64_t id,
                                                                         Deadline deadline) = 0;
  // POST /retentions: Harbor binds the new policy to the project (metadata retention_id);
  // refused (400) while the project names one.
  virtual boost::asio::awaitable<StatusOr<int64_t>> createRetention(RetentionPolicy policy,
                                                                    Deadline deadline) = 0;
  // PUT /retentions/{policy.id}: the whole policy.
  virtual boost::asio::awaitable<Status> updateRetention(RetentionPolicy policy,
                                                         Deadline deadline) = 0;

  // A project's members (every page): users and groups with their roles.
  virtual boost::asio::awaitable<StatusOr<std::vector<ProjectMember>>> listMembers(
      std::string project, Deadline deadline) = 0;
  // Returns the new member's id. NotFound for an unknown user; a group Harbor cannot onboard
  // (an OIDC group nobody logged in with, under database authentication) is Harbor's 500.
  virtual boost::asio::awaitable<StatusOr<int64_t>> addMember(std::string project,
                                                              MemberSpec member,
                                                              Deadline deadline) = 0;
  virtual boost::asio::awaitable<Status> setMemberRole(std::string project, int64_t id, int role,
                                                       Deadline deadline) = 0;
  virtual boost::asio::awaitable<Status> removeMember(std::string project, int64_t id,
                                                      Deadline deadline) = 0;

  // Robots. The secret is only in createRobot's and refreshRobotSecret's results.
  virtual boost::asio::awaitable<StatusOr<CreatedRobot>> createRobot(RobotSpec spec,
                                                                     Deadline deadline) = 0;
  // A project's robots, every page; `storedName` ("team-a+puller") narrows to one.
  virtual boost::asio::awaitable<StatusOr<std::vector<Robot>>> listProjectRobots(
      int64_t projectId, std::string storedName, Deadline deadline) = 0;
  // System robots (those that span projects), every page; `storedName` ("ci-bot") narrows to one.
  virtual boost::asio::awaitable<StatusOr<std::vector<Robot>>> listSystemRobots(
      std::string storedName, Deadline deadline) = 0;
  virtual boost::asio::awaitable<StatusOr<Robot>> getRobot(int64_t id, Deadline deadline) = 0;
  // PUT with the full robot; `robot.name` must be the prefixed name Harbor showed.
  virtual boost::asio::awaitable<Status> updateRobot(Robot robot, Deadline deadline) = 0;
  virtual boost::asio::awaitable<Status> deleteRobot(int64_t id, Deadline deadline) = 0;
  virtual boost::asio::awaitable<StatusOr<std::string>> refreshRobotSecret(int64_t id,
                                                                           Deadline deadline) = 0;
  // PATCH /robots/{id} with a chosen secret (8–128 chars, upper, lower and digit): the caller
  // stores it first, so a crash after the call never leaves an unknown secret.
  virtual boost::asio::awaitable<Status> setRobotSecret(int64_t id, std::string secret,
                                                        Deadline deadline) = 0;
  // Whether Harbor accepts these credentials (GET /system/CVEAllowlist answers any valid user
  // or robot): OK, Unauthenticated when rejected (deleted, disabled, expired or wrong secret).
  virtual boost::asio::awaitable<Status> probeCredentials(std::string username, std::string secret,
                                                          Deadline deadline) = 0;
};

// "team/app" → "team%252Fapp": Harbor decodes repository path segments twice.
std::string encodeRepository(std::string_view repository);

}  // namespace hm::harbor
