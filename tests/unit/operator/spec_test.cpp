// HarborProject and RobotAccount parsing, label selectors, durations, the rotation schedule and
// condition bookkeeping.
#include "harbormaster/operator/spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harbormaster/operator/conditions.h"

namespace hm::op {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::seconds;
using ::testing::HasSubstr;

json object(const std::string& name, json spec) {
  return {{"metadata", {{"name", name}}}, {"spec", std::move(spec)}};
}

TEST(HarborProjectSpecTest, DefaultsFollowTheCrdAndTheNameComesFromMetadata) {
  auto p = parseHarborProject(object("team-a", json::object()));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->projectName, "team-a");
  EXPECT_EQ(p->deletionPolicy, DeletionPolicy::kRetain);
  EXPECT_FALSE(p->storageLimitBytes.has_value()) << "unset quota is not managed";
  EXPECT_FALSE(p->notifications.has_value()) << "the operator's notifications URL decides";
  EXPECT_EQ(p->harborMetadata(),
            (std::map<std::string, std::string>{{"public", "false"},
                                                {"auto_scan", "true"},
                                                {"auto_sbom_generation", "false"},
                                                {"prevent_vul", "false"},
                                                {"severity", "high"},
                                                {"enable_content_trust_cosign", "false"},
                                                {"reuse_sys_cve_allowlist", "true"}}));
}

TEST(HarborProjectSpecTest, ReadsEveryField) {
  auto p = parseHarborProject(object(
      "x", {{"projectName", "shop.web_1"},
            {"public", true},
            {"preventVulnerable", {{"enabled", true}, {"severity", "critical"}}},
            {"cosignRequired", true},
            {"storageQuota", "10Gi"},
            {"cveAllowlist", {{"items", {"CVE-2024-0001"}}, {"expiresAt", "2030-01-01T00:00:00Z"}}},
            {"reuseSystemAllowlist", false},
            {"adoptExisting", true},
            {"deletionPolicy", "Delete"},
            {"notifications", {{"enabled", false}}}}));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->notifications, std::optional<bool>(false));
  EXPECT_EQ(p->projectName, "shop.web_1");
  EXPECT_EQ(*p->storageLimitBytes, 10LL * 1024 * 1024 * 1024);
  ASSERT_TRUE(p->cveAllowlist.has_value());
  EXPECT_EQ(p->cveAllowlist->items, std::vector<std::string>{"CVE-2024-0001"});
  EXPECT_EQ(*p->cveAllowlist->expiresAt, 1893456000);
  EXPECT_TRUE(p->adoptExisting);
  EXPECT_EQ(p->deletionPolicy, DeletionPolicy::kDelete);
  auto meta = p->harborMetadata();
  EXPECT_EQ(meta["prevent_vul"], "true");
  EXPECT_EQ(meta["severity"], "critical");
  EXPECT_EQ(meta["enable_content_trust_cosign"], "true");
  EXPECT_EQ(meta["reuse_sys_cve_allowlist"], "false");
}

TEST(HarborProjectSpecTest, BadSpecsNameTheField) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"projectName", "Team-A"}}, "spec.projectName"},
      {{{"projectName", "a..b"}}, "spec.projectName"},
      {{{"public", "yes"}}, "spec.public has the wrong type"},
      {{{"preventVulnerable", {{"severity", "severe"}}}}, "severity"},
      {{{"storageQuota", "10GB"}}, "spec.storageQuota"},
      {{{"cveAllowlist", {{"expiresAt", "tomorrow"}}}}, "spec.cveAllowlist.expiresAt"},
      {{{"deletionPolicy", "Orphan"}}, "spec.deletionPolicy"},
      {{{"notifications", true}}, "spec.notifications must be an object"},
      {{{"notifications", {{"enabled", "yes"}}}}, "spec.notifications.enabled"}};
  for (const auto& [spec, want] : cases) {
    auto p = parseHarborProject(object("ok", spec));
    ASSERT_FALSE(p.ok()) << spec;
    EXPECT_THAT(p.status().message(), HasSubstr(want)) << spec;
  }
  EXPECT_FALSE(parseHarborProject(json::array()).ok());
  EXPECT_FALSE(parseHarborProject({{"metadata", {{"name", "a"}}}, {"spec", 3}}).ok());
}

// Objects of the wrong JSON shape are parsed, never thrown on (a fuzz finding).
TEST(HarborProjectSpecTest, AMetadataNameOfAnotherTypeIsNoException) {
  nlohmann::json bad = {{"apiVersion", "harbormaster.io/v1alpha1"},
                        {"kind", "HarborProject"},
                        {"metadata", {{"name", true}}},
                        {"spec", nlohmann::json::object()}};
  EXPECT_NO_THROW((void)parseHarborProject(bad));
  bad["kind"] = "RobotAccount";
  bad["spec"] = {{"project", "team-a"}};
  EXPECT_NO_THROW((void)parseRobotAccount(bad));
  bad["metadata"]["name"] = "puller";
  bad["spec"]["permissions"] = {{{"resource", 1}, {"action", "pull"}}};
  auto wrongType = parseRobotAccount(bad);
  ASSERT_FALSE(wrongType.ok());
  EXPECT_NE(wrongType.status().message().find("has the wrong type"), std::string::npos)
      << wrongType.status().message();
  bad["spec"] = {{"project", "team-a"},
                 {"pullSecret",
                  {{"name", "p"},
                   {"namespaceSelector",
                    {{"matchExpressions", {{{"key", false}, {"operator", "Exists"}}}}}}}}};
  EXPECT_FALSE(parseRobotAccount(bad).ok());
}

TEST(StorageQuantityTest, KubernetesQuantitiesAndUnlimited) {
  EXPECT_EQ(*parseStorageQuantity("unlimited"), -1);
  EXPECT_EQ(*parseStorageQuantity("500M"), 500'000'000);
  EXPECT_EQ(*parseStorageQuantity("1.5Gi"), 1610612736);
  EXPECT_EQ(*parseStorageQuantity("1024"), 1024);
  for (const char* bad : {"", "-1", "10GB", "Gi", "1e3", "0", "99999999E"}) {
    EXPECT_FALSE(parseStorageQuantity(bad).ok()) << bad;
  }
}

TEST(GoDurationTest, ParsesKubernetesStyleDurations) {
  EXPECT_EQ(*parseGoDuration("168h"), hours(168));
  EXPECT_EQ(*parseGoDuration("1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(*parseGoDuration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(*parseGoDuration("1.5s"), std::chrono::milliseconds(1500));
  for (const char* bad : {"", "10", "h", "5d", "1h 30m", "-1h", "1h30"}) {
    EXPECT_FALSE(parseGoDuration(bad).ok()) << bad;
  }
  // Numbers beyond a double are out of range, not an exception (a fuzz finding).
  const std::string huge(400, '1');
  EXPECT_FALSE(parseGoDuration(huge + "h").ok());
  EXPECT_FALSE(parseStorageQuantity(huge + "Gi").ok());
}

TEST(RobotAccountSpecTest, DefaultsArePullOnlyThirtyDaysAndDelete) {
  auto r = parseRobotAccount(object("puller", {{"project", "team-a"}}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->name, "puller");
  EXPECT_EQ(r->durationDays, 30);
  EXPECT_EQ(r->rotateBefore, hours(168));
  EXPECT_FALSE(r->rotateEvery.has_value());
  EXPECT_EQ(r->deletionPolicy, DeletionPolicy::kDelete);
  ASSERT_EQ(r->permissions.size(), 2u);
  EXPECT_EQ(r->permissions[0].resource + ":" + r->permissions[0].action, "repository:pull");
  EXPECT_EQ(r->permissions[1].resource + ":" + r->permissions[1].action, "artifact:read");
  EXPECT_FALSE(r->pullSecret.has_value());
}

TEST(RobotAccountSpecTest, ReadsPullSecretsSelectorsAndRotation) {
  auto r = parseRobotAccount(
      object("x", {{"project", "team-a"},
                   {"name", "ci_bot"},
                   {"duration", "Never"},
                   {"rotateEvery", "720h"},
                   {"permissions", {{{"resource", "repository"}, {"action", "push"}}}},
                   {"pullSecret",
                    {{"name", "harbor-pull"},
                     {"namespaces", {"apps"}},
                     {"namespaceSelector",
                      {{"matchLabels", {{"team", "a"}}},
                       {"matchExpressions",
                        {{{"key", "env"}, {"operator", "In"}, {"values", {"dev", "prod"}}}}}}},
                     {"serviceAccounts", {"*"}}}}}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->name, "ci_bot");
  EXPECT_EQ(r->durationDays, -1);
  EXPECT_EQ(*r->rotateEvery, hours(720));
  ASSERT_TRUE(r->pullSecret && r->pullSecret->namespaceSelector);
  const LabelSelector& sel = *r->pullSecret->namespaceSelector;
  EXPECT_TRUE(sel.matches({{"team", "a"}, {"env", "dev"}}));
  EXPECT_FALSE(sel.matches({{"team", "a"}, {"env", "qa"}}));
  EXPECT_FALSE(sel.matches({{"env", "dev"}}));
  EXPECT_EQ(r->pullSecret->serviceAccounts, std::vector<std::string>{"*"});
}

TEST(RobotAccountSpecTest, BadSpecsNameTheProblem) {
  const std::vector<std::pair<json, std::string>> cases = {
      {json::object(), "spec.project is required"},
      {{{"project", "p"}, {"name", "a.b"}}, "no '.'"},
      {{{"project", "p"}, {"permissions", {{{"resource", "robot"}, {"action", "update"}}}}},
       "robot:update"},
      {{{"project", "p"}, {"permissions", json::array()}}, "non-empty"},
      {{{"project", "p"}, {"duration", 0}}, "spec.duration"},
      {{{"project", "p"}, {"duration", "Forever"}}, "spec.duration"},
      {{{"project", "p"}, {"duration", 1}}, "rotateBefore"},
      {{{"project", "p"}, {"rotateEvery", "0s"}}, "spec.rotateEvery"},
      {{{"project", "p"}, {"pullSecret", {{"namespaces", {"a"}}}}}, "spec.pullSecret.name"},
      {{{"project", "p"},
        {"pullSecret",
         {{"name", "s"},
          {"namespaceSelector", {{"matchExpressions", {{{"key", "k"}, {"operator", "In"}}}}}}}}},
       "matchExpressions"}};
  auto longName =
      parseRobotAccount(object(std::string(64, 'r'), {{"project", "p"}, {"name", "r"}}));
  ASSERT_FALSE(longName.ok());
  EXPECT_THAT(longName.status().message(), HasSubstr("63 characters"));
  for (const auto& [spec, want] : cases) {
    auto r = parseRobotAccount(object("ok", spec));
    ASSERT_FALSE(r.ok()) << spec;
    EXPECT_THAT(r.status().message(), HasSubstr(want)) << spec;
  }
}

TEST(RotationScheduleTest, BeforeExpiryOrOnScheduleWhicheverIsFirst) {
  RobotAccountSpec spec;
  spec.rotateBefore = hours(24 * 7);
  const WallTime created = WallTime(seconds(1'700'000'000));
  const WallTime expires = created + hours(24 * 30);
  EXPECT_EQ(*nextRotation(spec, expires, created), expires - hours(24 * 7));
  EXPECT_FALSE(nextRotation(spec, std::nullopt, created).has_value()) << "Never, no schedule";
  spec.rotateEvery = hours(24);
  EXPECT_EQ(*nextRotation(spec, expires, created), created + hours(24));
  EXPECT_EQ(*nextRotation(spec, std::nullopt, created), created + hours(24));
  spec.rotateEvery = hours(24 * 60);
  EXPECT_EQ(*nextRotation(spec, expires, created), expires - hours(24 * 7));
}

TEST(ConditionsTest, TransitionTimeMovesOnlyWhenTheStatusChanges) {
  json status;
  const WallTime t0 = WallTime(seconds(1'700'000'000));
  setCondition(status, {"Ready", "True", "Synced", "ok"}, 1, t0);
  setCondition(status, {"Ready", "True", "Synced", "still ok"}, 2, t0 + hours(1));
  ASSERT_EQ(status["conditions"].size(), 1u);
  EXPECT_EQ(status["conditions"][0]["lastTransitionTime"], formatRfc3339(t0));
  EXPECT_EQ(status["conditions"][0]["observedGeneration"], 2);
  EXPECT_EQ(status["conditions"][0]["message"], "still ok");
  setCondition(status, {"Ready", "False", "HarborError", "down"}, 2, t0 + hours(2));
  EXPECT_EQ(status["conditions"][0]["lastTransitionTime"], formatRfc3339(t0 + hours(2)));
  setCondition(status, {"Synced", "False", "HarborError", "down"}, 2, t0 + hours(2));
  EXPECT_EQ(status["conditions"].size(), 2u);
  EXPECT_EQ(conditionStatus({{"status", status}}, "Ready"), "False");
  EXPECT_EQ(conditionStatus({{"status", status}}, "Missing"), "");
  EXPECT_EQ(conditionReason({{"status", status}}, "Ready"), "HarborError");
}

}  // namespace
}  // namespace hm::op
