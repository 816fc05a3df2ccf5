// The RobotAccount reconciler against mocks: what it reads and writes in each situation, in
// milliseconds and without processes (the e2e suite runs it against the simulators).
#include "robotaccount/reconciler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harbormaster/base/encoding.h"
#include "robotaccount/credential.h"
#include "support/async.h"
#include "support/fake_clock.h"
#include "support/mock_clients.h"

namespace hm::op::robotaccount {
namespace {

using hm::testing::MockHarborClient;
using hm::testing::MockKubeClient;
using hm::testing::ready;
using hm::testing::runOn;
using nlohmann::json;
using ::testing::_;
using ::testing::Field;
using ::testing::InSequence;
using ::testing::NiceMock;
using ::testing::Return;
using ::testing::StrictMock;
using ::testing::Truly;

json robotAccount() {
  return {{"apiVersion", "harbormaster.io/v1alpha1"},
          {"kind", "RobotAccount"},
          {"metadata",
           {{"name", "puller"},
            {"uid", "u-1"},
            {"generation", 1},
            {"resourceVersion", "5"},
            {"finalizers", {"harbormaster.io/cleanup"}}}},
          {"spec", {{"project", "team-a"}}}};
}

json harborProject() {
  return {{"apiVersion", "harbormaster.io/v1alpha1"},
          {"kind", "HarborProject"},
          {"metadata", {{"name", "team-a"}, {"generation", 1}, {"resourceVersion", "3"}}},
          {"status",
           {{"projectName", "team-a"},
            {"projectID", 11},
            {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
}

json masterSecret(const Credential& c) {
  json data = json::object();
  for (const auto& [k, v] : writeCredential(c)) {
    data[k] = base64Encode(v);
  }
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata",
           {{"name", "harbormaster-robot-puller"},
            {"namespace", "harbormaster"},
            {"resourceVersion", "9"}}},
          {"data", data}};
}

Credential decoded(const json& secret) {
  std::map<std::string, std::string> data;
  for (const auto& [k, v] : secret["data"].items()) {
    data[k] = base64Decode(v.get<std::string>()).value_or("");
  }
  return *readCredential(data);
}

json listOf(std::vector<json> items) {
  return {{"items", items}, {"metadata", {{"resourceVersion", "10"}}}};
}

class RobotReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_.kube = kube_;
    ctx_.harbor = harbor_;
    ctx_.clock = &clock_;
    ctx_.options.nameSpace = "harbormaster";
    caches_.newSecret = [] { return StatusOr<std::string>("Hm1chosenByTest"); };
    ctx_.events = std::make_shared<kube::EventRecorder>(kube_, "harbormaster-operator", "test");
    ON_CALL(*kube_, list(_, _, _, _)).WillByDefault([this](kube::Resource r, auto, auto, auto) {
      std::vector<json> items;
      if (r.resource == "robotaccounts") {
        items.push_back(robot_);
      } else if (r.resource == "harborprojects") {
        items.push_back(project_);
      }
      return ready(StatusOr<json>(listOf(items)));
    });
    hm::testing::acceptKubeWrites(*kube_);
    auto informer = [this](kube::Resource r) {
      kube::InformerOptions o;
      o.resource = std::move(r);
      auto inf = std::make_shared<kube::Informer>(kube_, o, kube::InformerHandlers{});
      EXPECT_TRUE(runOn(io_.ioc(), inf->listOnce()).ok());
      return inf;
    };
    caches_.robots = informer(kRobots);
    caches_.projects = informer(kProjects);
    caches_.namespaces = informer(kNamespaces);
    caches_.secrets = informer(kSecrets);
    caches_.serviceAccounts = informer(kServiceAccounts);
  }

  Result reconcile() { return runOn(io_.ioc(), newReconciler(ctx_, caches_)->reconcile("puller")); }

  // The caches read robot_ and project_ again.
  void relist() {
    for (const auto& inf : {caches_.robots, caches_.projects}) {
      EXPECT_TRUE(runOn(io_.ioc(), inf->listOnce()).ok());
    }
  }

  Credential healthy() {
    Credential c;
    c.a.id = 7;
    c.a.username = "robot$team-a+puller";
    c.a.password = "Hm1stored";
    c.a.expiresAt = -1;
    c.a.createdAt = 1;
    c.a.checkedGeneration = 1;
    return c;
  }

  void masterIs(const Credential& c) {
    EXPECT_CALL(*kube_, get(Field(&kube::Resource::resource, "secrets"), "harbormaster",
                            "harbormaster-robot-puller", _))
        .WillOnce(Return(ready(StatusOr<json>(masterSecret(c)))));
  }

  json robot_ = robotAccount();
  json project_ = harborProject();
  hm::testing::IoThreads io_;
  hm::testing::FakeClock clock_;
  std::shared_ptr<NiceMock<MockKubeClient>> kube_ = std::make_shared<NiceMock<MockKubeClient>>();
  std::shared_ptr<StrictMock<MockHarborClient>> harbor_ =
      std::make_shared<StrictMock<MockHarborClient>>();
  Context ctx_;
  Caches caches_;
};

TEST_F(RobotReconcilerTest, SteadyStateIsOneProbeAndNoSecretWrite) {
  masterIs(healthy());
  EXPECT_CALL(*harbor_, probeCredentials("robot$team-a+puller", "Hm1stored", _))
      .WillOnce(Return(ready(okStatus())));
  EXPECT_CALL(*kube_, update(Field(&kube::Resource::resource, "secrets"), _, _, _)).Times(0);
  EXPECT_CALL(*kube_, create(Field(&kube::Resource::resource, "secrets"), _, _, _)).Times(0);
  EXPECT_CALL(*kube_, updateStatus(_, _, _, _)).WillOnce([](auto, auto, json o, auto) {
    EXPECT_EQ(o["status"]["robotName"], "robot$team-a+puller");
    EXPECT_EQ(o["status"]["conditions"][0]["status"], "True");
    return ready(StatusOr<json>(o));
  });
  Result r = reconcile();
  EXPECT_TRUE(r.error.ok()) << r.error.message();
}

TEST_F(RobotReconcilerTest, ARejectedSecretIsStoredBeforeHarborIsToldAndConfirmedAfter) {
  masterIs(healthy());
  harbor::Robot record;
  record.id = 7;
  record.name = "robot$team-a+puller";
  record.description = "Managed by Harbormaster (RobotAccount puller)";
  record.durationDays = 30;
  record.permissions = {{"project", "team-a", {{"repository", "pull"}, {"artifact", "read"}}}};
  auto pendingIs = [](const std::string& p) {
    return Truly([p](const json& s) { return decoded(s).a.pending == p; });
  };
  {
    InSequence order;
    EXPECT_CALL(*harbor_, probeCredentials(_, "Hm1stored", _))
        .WillOnce(Return(ready(unauthenticated("rejected"))));
    EXPECT_CALL(*harbor_, getRobot(7, _)).WillOnce(Return(ready(StatusOr<harbor::Robot>(record))));
    EXPECT_CALL(*kube_, update(_, "harbormaster", pendingIs("Hm1chosenByTest"), _))
        .WillOnce([](auto, auto, json o, auto) { return ready(StatusOr<json>(o)); });
    EXPECT_CALL(*harbor_, setRobotSecret(7, "Hm1chosenByTest", _))
        .WillOnce(Return(ready(okStatus())));
    EXPECT_CALL(*kube_, update(_, "harbormaster", Truly([](const json& s) {
                                 const Credential c = decoded(s);
                                 return c.a.pending.empty() && c.a.password == "Hm1chosenByTest";
                               }),
                               _))
        .WillOnce([](auto, auto, json o, auto) { return ready(StatusOr<json>(o)); });
  }
  Result r = reconcile();
  EXPECT_TRUE(r.error.ok()) << r.error.message();
}

TEST_F(RobotReconcilerTest, HarborRefusingTheRobotIsTerminalAndSaysSo) {
  EXPECT_CALL(*kube_, get(Field(&kube::Resource::resource, "secrets"), _, _, _))
      .WillOnce(Return(ready(StatusOr<json>(notFound("no master")))));
  EXPECT_CALL(*harbor_, listProjectRobots(11, "team-a+puller", _))
      .WillOnce(Return(ready(StatusOr<std::vector<harbor::Robot>>(std::vector<harbor::Robot>{}))));
  EXPECT_CALL(*harbor_, createRobot(Field(&harbor::RobotSpec::name, "puller"), _))
      .WillOnce(Return(ready(StatusOr<harbor::CreatedRobot>(
          invalidArgument("Harbor createRobot: HTTP 400 (BAD_REQUEST: duration)")))));
  EXPECT_CALL(*kube_, updateStatus(_, _, _, _)).WillOnce([](auto, auto, json o, auto) {
    EXPECT_EQ(o["status"]["conditions"][0]["reason"], "HarborRejected");
    return ready(StatusOr<json>(o));
  });
  Result r = reconcile();
  EXPECT_FALSE(r.error.ok());
  EXPECT_TRUE(r.terminal) << "not retried until the RobotAccount changes";
}

json systemRobot() {
  json o = robotAccount();
  o["spec"] = {
      {"level", "System"},
      {"projects",
       {{{"project", "team-a"},
         {"permissions", {{{"resource", "repository"}, {"action", "push"}}}}},
        {{"project", "*"}, {"permissions", {{{"resource", "artifact"}, {"action", "read"}}}}}}}};
  return o;
}

TEST_F(RobotReconcilerTest, ASystemRobotIsLookedUpAmongSystemRobotsAndCreatedWithItsGrants) {
  robot_ = systemRobot();
  relist();
  EXPECT_CALL(*kube_, get(Field(&kube::Resource::resource, "secrets"), _, _, _))
      .WillOnce(Return(ready(StatusOr<json>(notFound("no master")))));
  EXPECT_CALL(*harbor_, listSystemRobots("puller", _))
      .WillOnce(Return(ready(StatusOr<std::vector<harbor::Robot>>(std::vector<harbor::Robot>{}))));
  EXPECT_CALL(*harbor_, createRobot(Truly([](const harbor::RobotSpec& r) {
                                      return r.name == "puller" && r.level == "system" &&
                                             r.permissions.size() == 2 &&
                                             r.permissions[0].nameSpace == "team-a" &&
                                             r.permissions[0].access[0].action == "push" &&
                                             r.permissions[1].nameSpace == "*";
                                    }),
                                    _))
      .WillOnce(Return(ready(StatusOr<harbor::CreatedRobot>(
          permissionDenied("Harbor create robot puller: HTTP 403")))));
  EXPECT_CALL(*kube_, updateStatus(_, _, _, _)).WillOnce([](auto, auto, json o, auto) {
    EXPECT_EQ(o["status"]["conditions"][0]["reason"], "HarborError");
    EXPECT_THAT(o["status"]["conditions"][0]["message"].get<std::string>(),
                ::testing::HasSubstr("Harbor administrator"));
    return ready(StatusOr<json>(o));
  });
  Result r = reconcile();
  EXPECT_EQ(r.error.code(), StatusCode::kPermissionDenied);
}

TEST_F(RobotReconcilerTest, ASystemRobotWaitsForAHarborProjectItNamesToBeReady) {
  project_["status"]["conditions"][0]["status"] = "False";
  robot_ = systemRobot();
  relist();
  EXPECT_CALL(*kube_, updateStatus(_, _, _, _)).WillOnce([](auto, auto, json o, auto) {
    EXPECT_EQ(o["status"]["conditions"][0]["reason"], "ProjectNotReady");
    EXPECT_THAT(o["status"]["conditions"][0]["message"].get<std::string>(),
                ::testing::HasSubstr("HarborProject team-a"));
    return ready(StatusOr<json>(o));
  });
  Result r = reconcile();
  EXPECT_TRUE(r.error.ok()) << "waiting is not an error";
}

TEST_F(RobotReconcilerTest, HarborDownIsRetriedNotTerminal) {
  masterIs(healthy());
  EXPECT_CALL(*harbor_, probeCredentials(_, _, _))
      .WillOnce(Return(ready(unavailable("Harbor: HTTP 503"))));
  EXPECT_CALL(*kube_, updateStatus(_, _, _, _)).WillOnce([](auto, auto, json o, auto) {
    EXPECT_EQ(o["status"]["conditions"][0]["reason"], "HarborError");
    return ready(StatusOr<json>(o));
  });
  Result r = reconcile();
  EXPECT_EQ(r.error.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(r.terminal);
}

}  // namespace
}  // namespace hm::op::robotaccount
