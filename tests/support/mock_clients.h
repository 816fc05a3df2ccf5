// GoogleMock mocks of the Harbor, registry and Kubernetes clients, for unit tests that run
// without processes. An awaitable result is made with hm::testing::ready(value):
//
//   EXPECT_CALL(harbor, probeCredentials("robot$team-a+puller", _, _))
//       .WillOnce(Return(ready(okStatus())));
//
// A default-constructed awaitable never completes: a call a test has not set up must fail the
// test (StrictMock) or have an ON_CALL default (a lambda returning ready(…)), never return the
// mock's default.
#pragma once

#include <gmock/gmock.h>

#include "harbormaster/harbor/client.h"
#include "harbormaster/kube/client.h"
#include "harbormaster/registry/client.h"

namespace hm::testing {

// An awaitable that yields `value` (a coroutine whose frame holds its own copy).
template <typename T>
boost::asio::awaitable<T> ready(T value) {
  co_return value;
}

class MockHarborClient : public harbor::Client {
 public:
  using Deadline = harbor::Deadline;
  template <typename T>
  using A = boost::asio::awaitable<T>;

  MOCK_METHOD(A<StatusOr<std::string>>, health, (Deadline), (override));
  MOCK_METHOD(A<StatusOr<bool>>, projectExists, (std::string, Deadline), (override));
  MOCK_METHOD(A<StatusOr<harbor::Project>>, getProject, (std::string, Deadline), (override));
  MOCK_METHOD(A<StatusOr<int64_t>>, createProject, (harbor::ProjectSpec, Deadline), (override));
  MOCK_METHOD(A<Status>, deleteProject, (std::string, Deadline), (override));
  MOCK_METHOD(A<Status>, updateProject, (std::string, harbor::ProjectUpdate, Deadline), (override));
  MOCK_METHOD(A<Status>, setProjectMetadata, (std::string, std::string, std::string, Deadline),
              (override));
  MOCK_METHOD(A<Status>, deleteProjectMetadata, (std::string, std::string, Deadline), (override));
  MOCK_METHOD(A<StatusOr<harbor::Quota>>, projectQuota, (int64_t, Deadline), (override));
  MOCK_METHOD(A<Status>, setStorageQuota, (int64_t, int64_t, Deadline), (override));
  MOCK_METHOD(A<StatusOr<harbor::CveAllowlist>>, systemAllowlist, (Deadline), (override));
  MOCK_METHOD(A<Status>, setSystemAllowlist, (harbor::CveAllowlist, Deadline), (override));
  MOCK_METHOD(A<StatusOr<harbor::SystemInfo>>, systemInfo, (Deadline), (override));
  MOCK_METHOD(A<StatusOr<harbor::Artifact>>, getArtifact,
              (std::string, std::string, std::string, Deadline), (override));
  MOCK_METHOD(A<StatusOr<std::optional<harbor::VulnerabilityReport>>>, vulnerabilities,
              (std::string, std::string, std::string, Deadline), (override));
  MOCK_METHOD(A<Status>, scanArtifact, (std::string, std::string, std::string, Deadline),
              (override));
  MOCK_METHOD(A<StatusOr<std::vector<harbor::WebhookPolicy>>>, listWebhookPolicies,
              (std::string, Deadline), (override));
  MOCK_METHOD(A<StatusOr<int64_t>>, createWebhookPolicy,
              (std::string, harbor::WebhookPolicy, Deadline), (override));
  MOCK_METHOD(A<Status>, updateWebhookPolicy, (std::string, harbor::WebhookPolicy, Deadline),
              (override));
  MOCK_METHOD(A<Status>, deleteWebhookPolicy, (std::string, int64_t, Deadline), (override));
  MOCK_METHOD(A<StatusOr<std::vector<harbor::ImmutableRule>>>, listImmutableRules,
              (std::string, Deadline), (override));
  MOCK_METHOD(A<StatusOr<int64_t>>, createImmutableRule,
              (std::string, harbor::ImmutableRule, Deadline), (override));
  MOCK_METHOD(A<Status>, updateImmutableRule, (std::string, harbor::ImmutableRule, Deadline),
              (override));
  MOCK_METHOD(A<Status>, deleteImmutableRule, (std::string, int64_t, Deadline), (override));
  MOCK_METHOD(A<StatusOr<harbor::RetentionPolicy>>, getRetention, (int64_t, Deadline), (override));
  MOCK_METHOD(A<StatusOr<int64_t>>, createRetention, (harbor::RetentionPolicy, Deadline),
              (override));
  MOCK_METHOD(A<Status>, updateRetention, (harbor::RetentionPolicy, Deadline), (override));
  MOCK_METHOD(A<StatusOr<std::vector<harbor::ProjectMember>>>, listMembers, (std::string, Deadline),
              (override));
  MOCK_METHOD(A<StatusOr<int64_t>>, addMember, (std::string, harbor::MemberSpec, Deadline),
              (override));
  MOCK_METHOD(A<Status>, setMemberRole, (std::string, int64_t, int, Deadline), (override));
  MOCK_METHOD(A<Status>, removeMember, (std::string, int64_t, Deadline), (override));
  MOCK_METHOD(A<StatusOr<harbor::CreatedRobot>>, createRobot, (harbor::RobotSpec, Deadline),
              (override));
  MOCK_METHOD(A<StatusOr<std::vector<harbor::Robot>>>, listProjectRobots,
              (int64_t, std::string, Deadline), (override));
  MOCK_METHOD(A<StatusOr<std::vector<harbor::Robot>>>, listSystemRobots, (std::string, Deadline),
              (override));
  MOCK_METHOD(A<StatusOr<harbor::Robot>>, getRobot, (int64_t, Deadline), (override));
  MOCK_METHOD(A<Status>, updateRobot, (harbor::Robot, Deadline), (override));
  MOCK_METHOD(A<Status>, deleteRobot, (int64_t, Deadline), (override));
  MOCK_METHOD(A<StatusOr<std::string>>, refreshRobotSecret, (int64_t, Deadline), (override));
  MOCK_METHOD(A<Status>, setRobotSecret, (int64_t, std::string, Deadline), (override));
  MOCK_METHOD(A<Status>, probeCredentials, (std::string, std::string, Deadline), (override));
};

class MockRegistryClient : public registry::Client {
 public:
  using Deadline = registry::Deadline;
  template <typename T>
  using A = boost::asio::awaitable<T>;

  MOCK_METHOD(A<StatusOr<registry::Manifest>>, getManifest, (imageref::Reference, Deadline),
              (override));
  MOCK_METHOD(A<StatusOr<std::string>>, resolveDigest, (imageref::Reference, Deadline), (override));
  MOCK_METHOD(A<StatusOr<std::string>>, getBlob,
              (imageref::Reference, std::string, Deadline, size_t), (override));
  MOCK_METHOD(A<StatusOr<std::vector<registry::Descriptor>>>, referrers,
              (imageref::Reference, std::string, Deadline), (override));
  MOCK_METHOD(size_t, tokenRequests, (), (const, override));
};

class MockKubeClient : public kube::Client {
 public:
  using Deadline = kube::Deadline;
  using json = nlohmann::json;
  template <typename T>
  using A = boost::asio::awaitable<T>;

  MOCK_METHOD(A<StatusOr<json>>, get, (kube::Resource, std::string, std::string, Deadline),
              (override));
  MOCK_METHOD(A<StatusOr<json>>, list, (kube::Resource, std::string, kube::ListOptions, Deadline),
              (override));
  MOCK_METHOD(A<StatusOr<json>>, create, (kube::Resource, std::string, json, Deadline), (override));
  MOCK_METHOD(A<StatusOr<json>>, update, (kube::Resource, std::string, json, Deadline), (override));
  MOCK_METHOD(A<StatusOr<json>>, updateStatus, (kube::Resource, std::string, json, Deadline),
              (override));
  MOCK_METHOD(A<StatusOr<json>>, patch,
              (kube::Resource, std::string, std::string, kube::PatchType, json, Deadline, bool),
              (override));
  MOCK_METHOD(A<Status>, watch,
              (kube::Resource, std::string, kube::WatchOptions,
               std::function<bool(const kube::WatchEvent&)>, Deadline),
              (override));
  MOCK_METHOD(A<StatusOr<json>>, remove,
              (kube::Resource, std::string, std::string, kube::DeleteOptions, Deadline),
              (override));
};

// Defaults for a kube mock whose writes a test does not look at: create, update and
// updateStatus succeed and return what was sent; get finds nothing. EXPECT_CALLs override them.
inline void acceptKubeWrites(MockKubeClient& kube) {
  using ::testing::_;
  auto echo = [](auto, auto, nlohmann::json o, auto) {
    return ready(StatusOr<nlohmann::json>(std::move(o)));
  };
  ON_CALL(kube, create(_, _, _, _)).WillByDefault(echo);
  ON_CALL(kube, update(_, _, _, _)).WillByDefault(echo);
  ON_CALL(kube, updateStatus(_, _, _, _)).WillByDefault(echo);
  ON_CALL(kube, get(_, _, _, _)).WillByDefault([](auto, auto, auto, auto) {
    return ready(StatusOr<nlohmann::json>(notFound("not in this test")));
  });
}

}  // namespace hm::testing
