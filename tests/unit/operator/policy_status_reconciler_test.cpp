// The policy status reconciler against a mocked API server and the fake clock: what it writes
// for a valid policy, an invalid one and an exception, and when it looks again.
#include "policystatus/reconciler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/async.h"
#include "support/fake_clock.h"
#include "support/mock_clients.h"

namespace hm::op::policystatus {
namespace {

using hm::testing::MockKubeClient;
using hm::testing::ready;
using hm::testing::runOn;
using nlohmann::json;
using ::testing::_;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::NiceMock;

json policy(const std::string& name, json spec) {
  return {{"apiVersion", "harbormaster.io/v1alpha1"},
          {"kind", "ClusterImagePolicy"},
          {"metadata", {{"name", name}, {"generation", 3}, {"resourceVersion", "7"}}},
          {"spec", std::move(spec)}};
}

json readyOf(const json& object) {
  for (const auto& c : object["status"].value("conditions", json::array())) {
    if (c.value("type", "") == "Ready") {
      return c;
    }
  }
  return nullptr;
}

class PolicyStatusReconcilerTest : public ::testing::Test {
 protected:
  void start(std::vector<json> policies, std::vector<json> exceptions = {}) {
    hm::testing::acceptKubeWrites(*kube_);
    ON_CALL(*kube_, updateStatus(_, _, _, _)).WillByDefault([this](auto, auto, json o, auto) {
      written_.push_back(o);
      return ready(StatusOr<json>(o));
    });
    ON_CALL(*kube_, list(_, _, _, _))
        .WillByDefault([policies, exceptions](kube::Resource r, auto, auto, auto) {
          std::vector<json> items;
          if (r.resource == "clusterimagepolicies") {
            items = policies;
          } else if (r.resource == "imageexceptions") {
            items = exceptions;
          } else if (r.resource == "namespaces") {
            items = {json{{"metadata", {{"name", "shop"}, {"labels", {{"env", "prod"}}}}}}};
          }
          return ready(
              StatusOr<json>(json{{"items", items}, {"metadata", {{"resourceVersion", "10"}}}}));
        });
    ctx_.kube = kube_;
    ctx_.clock = &clock_;
    ctx_.events = std::make_shared<kube::EventRecorder>(kube_, "harbormaster-operator", "test");
    policysource::Options po;
    po.load.readFiles = false;
    policies_ = std::make_shared<policysource::ClusterPolicies>(kube_, po);
    ASSERT_TRUE(runOn(io_.ioc(), policies_->listOnce()).ok());
  }

  Result reconcile(const std::string& key) {
    return runOn(io_.ioc(), newReconciler(ctx_, policies_)->reconcile(key));
  }

  hm::testing::IoThreads io_;
  hm::testing::FakeClock clock_;
  std::shared_ptr<NiceMock<MockKubeClient>> kube_ = std::make_shared<NiceMock<MockKubeClient>>();
  std::shared_ptr<policysource::ClusterPolicies> policies_;
  std::vector<json> written_;
  Context ctx_;
};

TEST_F(PolicyStatusReconcilerTest, AValidPolicyIsReadyWithAnEventOnTheTransition) {
  start({policy("production", {{"mode", "Enforce"}, {"digest", "Require"}})});
  EXPECT_CALL(*kube_, create(Field(&kube::Resource::resource, "events"), _, _, _))
      .WillOnce([](auto, auto, json o, auto) {
        EXPECT_EQ(o.value("reason", ""), "Valid");
        EXPECT_EQ(o.value("type", ""), "Normal");
        return ready(StatusOr<json>(o));
      });
  Result r = reconcile("ClusterImagePolicy production");
  EXPECT_TRUE(r.error.ok()) << r.error.message();
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(readyOf(written_[0])["status"], "True");
  EXPECT_EQ(written_[0]["status"]["enforcedGeneration"], 3);
}

TEST_F(PolicyStatusReconcilerTest, AnInvalidPolicyNamesTheFieldAndIsNotReady) {
  start({policy("production", {{"mode", "enforce"}})});
  Result r = reconcile("ClusterImagePolicy production");
  EXPECT_TRUE(r.error.ok()) << "an invalid spec is reported in status, not retried";
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(readyOf(written_[0])["status"], "False");
  EXPECT_EQ(readyOf(written_[0])["reason"], "InvalidSpec");
  EXPECT_THAT(readyOf(written_[0])["message"].get<std::string>(), HasSubstr("spec.mode"));
}

TEST_F(PolicyStatusReconcilerTest, AnActiveExceptionIsLookedAtAgainWhenItExpires) {
  const WallTime expires = clock_.wallNow() + std::chrono::hours(48);
  json p = policy("production", {{"digest", "Require"}, {"exceptionPolicy", {{"allowed", true}}}});
  json ex = {
      {"apiVersion", "harbormaster.io/v1alpha1"},
      {"kind", "ImageException"},
      {"metadata",
       {{"name", "vendor"}, {"namespace", "shop"}, {"generation", 1}, {"resourceVersion", "8"}}},
      {"spec",
       {{"policies", {"production"}},
        {"images", {"harbor.example.com/shop/**"}},
        {"checks", {"digest"}},
        {"expiresAt", formatRfc3339(expires)},
        {"reason", "SEC-1: vendor image, pinned next sprint"}}}};
  start({p}, {ex});
  Result r = reconcile("ImageException shop/vendor");
  EXPECT_TRUE(r.error.ok()) << r.error.message();
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(written_[0]["status"]["state"], "Active") << written_[0].dump();
  ASSERT_TRUE(r.requeueAfter);
  EXPECT_EQ(*r.requeueAfter, std::chrono::hours(48) + std::chrono::seconds(1))
      << "its status turns Expired on time, by the injected clock";
}

TEST_F(PolicyStatusReconcilerTest, AGoneObjectWritesNothing) {
  start({});
  Result r = reconcile("ClusterImagePolicy production");
  EXPECT_TRUE(r.error.ok());
  EXPECT_TRUE(written_.empty());
}

}  // namespace
}  // namespace hm::op::policystatus
