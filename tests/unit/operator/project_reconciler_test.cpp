// The HarborProject reconciler against mocks: the claim before the create, drift repaired,
// Ready kept while only an update fails, Harbor's 400 terminal.
#include "harborproject/reconciler.h"

#include "harborproject/notifications.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>

#include "support/async.h"
#include "support/fake_timers.h"
#include "support/mock_clients.h"

namespace hm::op::harborproject {
namespace {

using hm::testing::MockHarborClient;
using hm::testing::MockKubeClient;
using hm::testing::ready;
using hm::testing::runOn;
using nlohmann::json;
using ::testing::_;
using ::testing::AllOf;
using ::testing::Field;
using ::testing::InSequence;
using ::testing::NiceMock;
using ::testing::Return;
using ::testing::StrictMock;

json project(json status = json::object()) {
  return {{"apiVersion", "harbormaster.io/v1alpha1"},
          {"kind", "HarborProject"},
          {"metadata",
           {{"name", "team-a"},
            {"uid", "u-2"},
            {"generation", 1},
            {"resourceVersion", "4"},
            {"finalizers", {"harbormaster.io/cleanup"}}}},
          {"spec", {{"autoScan", true}}},
          {"status", status}};
}

std::string condition(const json& object, const std::string& type, const std::string& field) {
  for (const auto& c : object["status"].value("conditions", json::array())) {
    if (c.value("type", "") == type) {
      return c.value(field, "");
    }
  }
  return "";
}

class ProjectReconcilerTest : public ::testing::Test {
 protected:
  void start(json object) {
    ctx_.kube = kube_;
    ctx_.harbor = harbor_;
    ctx_.clock = &clock_;
    ctx_.events = std::make_shared<kube::EventRecorder>(kube_, "harbormaster-operator", "test");
    hm::testing::acceptKubeWrites(*kube_);
    ON_CALL(*kube_, updateStatus(_, _, _, _)).WillByDefault([this](auto, auto, json o, auto) {
      written_.push_back(o);
      return ready(StatusOr<json>(o));
    });
    ON_CALL(*kube_, get(_, _, _, _)).WillByDefault([this](auto, auto, auto, auto) {
      return ready(StatusOr<json>(written_.empty() ? json(nullptr) : written_.back()));
    });
    ON_CALL(*kube_, list(_, _, _, _)).WillByDefault([object](auto, auto, auto, auto) {
      return ready(
          StatusOr<json>(json{{"items", {object}}, {"metadata", {{"resourceVersion", "9"}}}}));
    });
    kube::InformerOptions o;
    o.resource = kProjects;
    projects_ = std::make_shared<kube::Informer>(kube_, o, kube::InformerHandlers{});
    ASSERT_TRUE(runOn(io_.ioc(), projects_->listOnce()).ok());
  }

  Result reconcile() {
    return runOn(io_.ioc(), newReconciler(ctx_, projects_)->reconcile("team-a"));
  }

  harbor::Project inHarbor(std::map<std::string, std::string> metadata) {
    harbor::Project p;
    p.id = 11;
    p.name = "team-a";
    p.metadata = std::move(metadata);
    return p;
  }

  hm::testing::IoThreads io_;
  hm::testing::FakeTimers clock_;  // a Clock whose timers (a blocked call) move with it
  std::shared_ptr<NiceMock<MockKubeClient>> kube_ = std::make_shared<NiceMock<MockKubeClient>>();
  std::shared_ptr<StrictMock<MockHarborClient>> harbor_ =
      std::make_shared<StrictMock<MockHarborClient>>();
  std::vector<json> written_;  // status writes, in order
  Context ctx_;
  std::shared_ptr<kube::Informer> projects_;
};

const std::map<std::string, std::string> kMatching = {{"public", "false"},
                                                      {"auto_scan", "true"},
                                                      {"auto_sbom_generation", "false"},
                                                      {"prevent_vul", "false"},
                                                      {"severity", "high"},
                                                      {"enable_content_trust_cosign", "false"},
                                                      {"reuse_sys_cve_allowlist", "true"}};

TEST_F(ProjectReconcilerTest, TheClaimIsWrittenBeforeTheProjectIsCreated) {
  start(project());
  {
    InSequence order;
    EXPECT_CALL(*harbor_, getProject("team-a", _))
        .WillOnce(Return(ready(StatusOr<harbor::Project>(notFound("no project")))));
    EXPECT_CALL(*kube_, updateStatus(_, _, _, _)).WillOnce([this](auto, auto, json o, auto) {
      EXPECT_EQ(o["status"]["projectName"], "team-a");
      EXPECT_EQ(condition(o, "Synced", "reason"), "Creating");
      written_.push_back(o);
      return ready(StatusOr<json>(o));
    });
    EXPECT_CALL(*harbor_, createProject(Field(&harbor::ProjectSpec::name, "team-a"), _))
        .WillOnce(Return(ready(StatusOr<int64_t>(11))));
    EXPECT_CALL(*kube_, updateStatus(_, _, _, _)).WillOnce([](auto, auto, json o, auto) {
      EXPECT_EQ(o["status"]["projectID"], 11);
      EXPECT_EQ(condition(o, "Ready", "status"), "True");
      return ready(StatusOr<json>(o));
    });
  }
  Result r = reconcile();
  EXPECT_TRUE(r.error.ok()) << r.error.message();
}

TEST_F(ProjectReconcilerTest, AMatchingProjectCostsOneHarborReadAndNoHarborWrite) {
  json status = {{"projectName", "team-a"}, {"projectID", 11}, {"observedGeneration", 1}};
  start(project(status));
  EXPECT_CALL(*harbor_, getProject("team-a", _))
      .WillOnce(Return(ready(StatusOr<harbor::Project>(inHarbor(kMatching)))));
  Result r = reconcile();
  EXPECT_TRUE(r.error.ok()) << r.error.message();
  ASSERT_EQ(written_.size(), 1u) << "the first status of this generation";
  EXPECT_EQ(condition(written_[0], "Synced", "status"), "True");
}

TEST_F(ProjectReconcilerTest, AFailedUpdateKeepsAnExistingProjectReady) {
  json status = {{"projectName", "team-a"}, {"projectID", 11}};
  start(project(status));
  auto drifted = kMatching;
  drifted["auto_scan"] = "false";
  EXPECT_CALL(*harbor_, getProject("team-a", _))
      .WillOnce(Return(ready(StatusOr<harbor::Project>(inHarbor(drifted)))));
  EXPECT_CALL(*harbor_, updateProject("team-a", _, _))
      .WillOnce(Return(ready(unavailable("Harbor: HTTP 503"))));
  Result r = reconcile();
  EXPECT_EQ(r.error.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(r.terminal);
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(condition(written_[0], "Synced", "status"), "False");
  EXPECT_EQ(condition(written_[0], "Synced", "reason"), "HarborError");
  EXPECT_EQ(condition(written_[0], "Ready", "status"), "True") << "the project is there to use";
  EXPECT_EQ(condition(written_[0], "Ready", "reason"), "ProjectExists");
}

TEST_F(ProjectReconcilerTest, HarborRefusingTheUpdateIsTerminal) {
  json status = {{"projectName", "team-a"}, {"projectID", 11}};
  start(project(status));
  auto drifted = kMatching;
  drifted["severity"] = "low";
  EXPECT_CALL(*harbor_, getProject("team-a", _))
      .WillOnce(Return(ready(StatusOr<harbor::Project>(inHarbor(drifted)))));
  EXPECT_CALL(*harbor_, updateProject("team-a", _, _))
      .WillOnce(Return(ready(invalidArgument("Harbor: HTTP 400 (BAD_REQUEST)"))));
  Result r = reconcile();
  EXPECT_TRUE(r.terminal);
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(condition(written_[0], "Synced", "reason"), "HarborRejected");
}

// With a notifications URL, one more Harbor read a resync: the project's webhook policies.
TEST_F(ProjectReconcilerTest, AMatchingWebhookPolicyCostsOneReadAndNoWrite) {
  ctx_.options.notifications.url = "http://operator/harbor-events";
  ctx_.options.notifications.authHeader = "Bearer s3cret";
  json status = {{"projectName", "team-a"}, {"projectID", 11}, {"observedGeneration", 1}};
  start(project(status));
  EXPECT_CALL(*harbor_, getProject("team-a", _))
      .WillOnce(Return(ready(StatusOr<harbor::Project>(inHarbor(kMatching)))));
  harbor::WebhookPolicy held = *desiredWebhookPolicy(ctx_.options.notifications, {});
  held.id = 5;
  EXPECT_CALL(*harbor_, listWebhookPolicies("team-a", _))
      .WillOnce(Return(ready(
          StatusOr<std::vector<harbor::WebhookPolicy>>(std::vector<harbor::WebhookPolicy>{held}))));
  Result r = reconcile();
  EXPECT_TRUE(r.error.ok()) << r.error.message();
  EXPECT_FALSE(r.requeueAfter);
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(condition(written_[0], "Notifications", "status"), "True");
  EXPECT_EQ(written_[0]["status"]["webhookPolicyID"], 5);
}

// Harbor refusing the webhook policy (an account without notification-policy rights) is the
// Notifications condition's business: the project stays Synced and Ready, and it is tried again.
TEST_F(ProjectReconcilerTest, ARefusedWebhookPolicyHoldsBackNothingElse) {
  ctx_.options.notifications.url = "http://operator/harbor-events";
  ctx_.options.notifications.authHeader = "Bearer s3cret";
  json status = {{"projectName", "team-a"}, {"projectID", 11}, {"observedGeneration", 1}};
  start(project(status));
  EXPECT_CALL(*harbor_, getProject("team-a", _))
      .WillOnce(Return(ready(StatusOr<harbor::Project>(inHarbor(kMatching)))));
  EXPECT_CALL(*harbor_, listWebhookPolicies("team-a", _))
      .WillOnce(Return(ready(
          StatusOr<std::vector<harbor::WebhookPolicy>>(std::vector<harbor::WebhookPolicy>{}))));
  EXPECT_CALL(*harbor_, createWebhookPolicy("team-a", _, _))
      .WillOnce(Return(ready(StatusOr<int64_t>(permissionDenied("Harbor: HTTP 403")))));
  Result r = reconcile();
  EXPECT_TRUE(r.error.ok()) << r.error.message();
  ASSERT_TRUE(r.requeueAfter.has_value());
  EXPECT_EQ(*r.requeueAfter, std::chrono::seconds(30));
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(condition(written_[0], "Synced", "status"), "True");
  EXPECT_EQ(condition(written_[0], "Ready", "status"), "True");
  EXPECT_EQ(condition(written_[0], "Notifications", "status"), "False");
  EXPECT_EQ(condition(written_[0], "Notifications", "reason"), "HarborError");
  EXPECT_EQ(written_[0].dump().find("s3cret"), std::string::npos) << "never in status";
}

harbor::ImmutableRule immutable(std::string tags, int64_t id, bool disabled = false) {
  harbor::ImmutableRule r;
  r.id = id;
  r.tagPattern = std::move(tags);
  r.disabled = disabled;
  return r;
}

using RuleList = StatusOr<std::vector<harbor::ImmutableRule>>;

// Declared immutable tags that Harbor holds cost one list call a resync and no write.
TEST_F(ProjectReconcilerTest, MatchingImmutableTagsCostOneReadAndNoWrite) {
  json status = {{"projectName", "team-a"}, {"projectID", 11}, {"observedGeneration", 1}};
  json object = project(status);
  object["spec"]["immutableTags"] = {{{"tags", {{"matches", {"v*"}}}}}};
  start(object);
  EXPECT_CALL(*harbor_, getProject("team-a", _))
      .WillOnce(Return(ready(StatusOr<harbor::Project>(inHarbor(kMatching)))));
  EXPECT_CALL(*harbor_, listImmutableRules("team-a", _))
      .WillOnce(Return(ready(RuleList(std::vector<harbor::ImmutableRule>{immutable("v*", 4)}))));
  Result r = reconcile();
  EXPECT_TRUE(r.error.ok()) << r.error.message();
  EXPECT_FALSE(r.requeueAfter);
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(condition(written_[0], "ImmutableTags", "status"), "True");
  EXPECT_EQ(condition(written_[0], "ImmutableTags", "message"), "1 immutable tag rule as declared");
}

// A rule disabled and one added in Harbor while the generation was in sync: enabled and removed,
// with a DriftRepaired Warning naming both.
TEST_F(ProjectReconcilerTest, ImmutableTagsChangedInHarborAreRepairedAsDrift) {
  json status = {{"projectName", "team-a"},
                 {"projectID", 11},
                 {"observedGeneration", 1},
                 {"conditions",
                  {{{"type", "ImmutableTags"},
                    {"status", "True"},
                    {"reason", "Synced"},
                    {"message", ""},
                    {"observedGeneration", 1},
                    {"lastTransitionTime", "2026-01-01T00:00:00Z"}}}}};
  json object = project(status);
  object["spec"]["immutableTags"] = {{{"tags", {{"matches", {"v*"}}}}}};
  start(object);
  EXPECT_CALL(*harbor_, getProject("team-a", _))
      .WillOnce(Return(ready(StatusOr<harbor::Project>(inHarbor(kMatching)))));
  EXPECT_CALL(*harbor_, listImmutableRules("team-a", _))
      .WillOnce(Return(ready(RuleList(
          std::vector<harbor::ImmutableRule>{immutable("v*", 4, true), immutable("latest", 5)}))));
  {
    InSequence order;
    EXPECT_CALL(*harbor_, deleteImmutableRule("team-a", 5, _)).WillOnce(Return(ready(okStatus())));
    EXPECT_CALL(*harbor_, updateImmutableRule("team-a",
                                              AllOf(Field(&harbor::ImmutableRule::id, 4),
                                                    Field(&harbor::ImmutableRule::disabled, false)),
                                              _))
        .WillOnce(Return(ready(okStatus())));
  }
  std::vector<json> events;
  ON_CALL(*kube_, create(_, _, _, _)).WillByDefault([&events](auto, auto, json o, auto) {
    events.push_back(o);
    return ready(StatusOr<json>(o));
  });
  Result r = reconcile();
  EXPECT_TRUE(r.error.ok()) << r.error.message();
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(condition(written_[0], "ImmutableTags", "status"), "True");
  std::string notes;
  for (const json& e : events) {
    notes += e.value("reason", "") + ": " + e.value("note", "") + "\n";
  }
  EXPECT_THAT(notes, ::testing::HasSubstr(
                         "DriftRepaired: immutable tag rules of Harbor project team-a had been "
                         "changed outside Harbormaster; removed tags matching latest in "
                         "repositories matching **; enabled tags matching v* in repositories "
                         "matching **"));
}

// Harbor refusing the rules (an account without immutable-tag rights) is the ImmutableTags
// condition's business: the project stays Synced and Ready, and it is tried again in 30 s.
TEST_F(ProjectReconcilerTest, RefusedImmutableTagsHoldBackNothingElse) {
  json status = {{"projectName", "team-a"}, {"projectID", 11}, {"observedGeneration", 1}};
  json object = project(status);
  object["spec"]["immutableTags"] = {{{"tags", {{"matches", {"v*"}}}}}};
  start(object);
  EXPECT_CALL(*harbor_, getProject("team-a", _))
      .WillOnce(Return(ready(StatusOr<harbor::Project>(inHarbor(kMatching)))));
  EXPECT_CALL(*harbor_, listImmutableRules("team-a", _))
      .WillOnce(Return(ready(RuleList(std::vector<harbor::ImmutableRule>{}))));
  EXPECT_CALL(*harbor_,
              createImmutableRule("team-a", Field(&harbor::ImmutableRule::tagPattern, "v*"), _))
      .WillOnce(Return(ready(StatusOr<int64_t>(permissionDenied("Harbor: HTTP 403")))));
  Result r = reconcile();
  EXPECT_TRUE(r.error.ok()) << r.error.message();
  ASSERT_TRUE(r.requeueAfter.has_value());
  EXPECT_EQ(*r.requeueAfter, std::chrono::seconds(30));
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(condition(written_[0], "Synced", "status"), "True");
  EXPECT_EQ(condition(written_[0], "Ready", "status"), "True");
  EXPECT_EQ(condition(written_[0], "ImmutableTags", "status"), "False");
  EXPECT_EQ(condition(written_[0], "ImmutableTags", "reason"), "HarborError");
}

TEST_F(ProjectReconcilerTest, SomeoneElsesProjectIsNotTakenWithoutAdoptExisting) {
  start(project());
  EXPECT_CALL(*harbor_, getProject("team-a", _))
      .WillOnce(Return(ready(StatusOr<harbor::Project>(inHarbor(kMatching)))));
  Result r = reconcile();
  EXPECT_TRUE(r.terminal) << "retried when the resource changes (adoptExisting), not before";
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(condition(written_[0], "Ready", "reason"), "AlreadyExists");
  EXPECT_EQ(condition(written_[0], "Ready", "status"), "False");
}

// The fence (manager/context.h): a reconcile blocked in a Harbor call when the lease's renew
// deadline passes is cut there, not at its callTimeout, and whatever it tries afterwards gets a
// deadline already passed, which the clients refuse before sending (net::HttpClient checks the
// deadline before every attempt).
TEST_F(ProjectReconcilerTest, ALostLeaseEndsAReconcileBlockedInAHarborCall) {
  ctx_.options.callTimeout = std::chrono::minutes(1);
  auto fence = std::make_shared<kube::LeaseFence>();
  fence->extendTo(clock_.steadyNow() + std::chrono::seconds(10));  // renewed just now
  ctx_.leaseFence = fence;
  json status = {{"projectName", "team-a"}, {"projectID", 11}, {"observedGeneration", 1}};
  start(project(status));
  std::promise<void> entered;
  kube::Deadline harborDeadline{};
  // Harbor stops answering: the call returns only when its deadline comes (as the client does).
  EXPECT_CALL(*harbor_, getProject("team-a", _))
      .WillOnce([&](std::string,
                    harbor::Deadline d) -> boost::asio::awaitable<StatusOr<harbor::Project>> {
        harborDeadline = d;
        entered.set_value();
        co_await net::sleepUntil(clock_, d);
        co_return StatusOr<harbor::Project>(deadlineExceeded("GET /api/v2.0/projects/team-a"));
      });
  // Every Kubernetes write after the fence closed, with its deadline.
  std::mutex mu;
  std::vector<kube::Deadline> lateWrites;
  ON_CALL(*kube_, updateStatus(_, _, _, _)).WillByDefault([&](auto, auto, json o, auto d) {
    std::lock_guard lock(mu);
    if (!fence->valid(clock_.steadyNow())) {
      lateWrites.push_back(d);
    }
    return ready(StatusOr<json>(o));
  });
  auto result = std::make_shared<std::promise<Result>>();
  auto reconciler = newReconciler(ctx_, projects_);
  boost::asio::co_spawn(io_.ioc(), hm::testing::deliver(reconciler->reconcile("team-a"), result),
                        boost::asio::detached);
  ASSERT_EQ(entered.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(harborDeadline, fence->validUntil()) << "the fence, not the minute-long callTimeout";
  // The lease is not renewed: its renew deadline passes while the call hangs.
  clock_.advance(std::chrono::seconds(10));
  auto done = result->get_future();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(30)), std::future_status::ready)
      << "the blocked call ends at the fence";
  Result r = done.get();
  EXPECT_FALSE(r.error.ok());
  EXPECT_EQ(r.error.code(), StatusCode::kDeadlineExceeded) << r.error.toString();
  std::lock_guard lock(mu);
  for (const auto& d : lateWrites) {
    EXPECT_LE(d, clock_.steadyNow()) << "a write after the fence must be refused unsent";
  }
  // (StrictMock: any Harbor write would have failed the test.)
}

}  // namespace
}  // namespace hm::op::harborproject
