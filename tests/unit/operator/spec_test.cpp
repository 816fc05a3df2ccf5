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

TEST(HarborProjectSpecTest, ImmutableTagsBecomeHarborsSelectors) {
  auto none = parseHarborProject(object("a", json::object()));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->immutableTags.has_value()) << "absent: Harbor's rules are left alone";
  auto empty = parseHarborProject(object("a", {{"immutableTags", json::array()}}));
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(empty->immutableTags.has_value());
  EXPECT_TRUE(empty->immutableTags->empty()) << "an empty list removes every rule";
  auto p =
      parseHarborProject(object("a", {{"immutableTags",
                                       {{{"tags", {{"matches", {"v*"}}}}},
                                        {{"repositories", {{"excludes", {"sandbox/**", "tmp/**"}}}},
                                         {"tags", {{"excludes", {"latest"}}}}}}}}));
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->immutableTags->size(), 2u);
  const harbor::ImmutableRule& first = (*p->immutableTags)[0];
  EXPECT_EQ(first.repositoryDecoration, "repoMatches");
  EXPECT_EQ(first.repositoryPattern, "**") << "absent: every repository";
  EXPECT_EQ(first.tagDecoration, "matches");
  EXPECT_EQ(first.tagPattern, "v*");
  const harbor::ImmutableRule& second = (*p->immutableTags)[1];
  EXPECT_EQ(second.repositoryDecoration, "repoExcludes");
  EXPECT_EQ(second.repositoryPattern, "{sandbox/**,tmp/**}") << "several patterns, one rule";
  EXPECT_EQ(second.tagDecoration, "excludes");
  EXPECT_EQ(second.tagPattern, "latest");
}

TEST(HarborProjectSpecTest, BadImmutableTagsNameTheField) {
  json sixteen = json::array();
  for (int i = 0; i < 16; ++i) {
    sixteen.push_back({{"tags", {{"matches", {"v" + std::to_string(i)}}}}});
  }
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"immutableTags", "v*"}}, "spec.immutableTags must be a list"},
      {{{"immutableTags", {"v*"}}}, "spec.immutableTags[0] must be an object"},
      {{{"immutableTags", {{{"tag", {{"matches", {"v*"}}}}}}}},
       "spec.immutableTags[0].tag is not a field"},
      {{{"immutableTags", {{{"tags", {{"matches", {"v*"}}, {"excludes", {"x"}}}}}}}},
       "spec.immutableTags[0].tags must hold exactly one of matches or excludes"},
      {{{"immutableTags", {{{"tags", {{"matches", json::array()}}}}}}},
       "spec.immutableTags[0].tags.matches must be a list of 1 to 32 patterns"},
      {{{"immutableTags", {{{"repositories", {{"matches", {""}}}}}}}},
       "spec.immutableTags[0].repositories.matches[0] must be a pattern"},
      {{{"immutableTags", {{{"tags", {{"matches", {"a", "{b,c}"}}}}}}}},
       "spec.immutableTags[0].tags.matches[1] \"{b,c}\" holds ','"},
      {{{"immutableTags", {{{"tags", {{"matches", {"v*"}}}}}, {{"tags", {{"matches", {"v*"}}}}}}}},
       "spec.immutableTags[1] repeats spec.immutableTags[0]"},
      {{{"immutableTags", sixteen}}, "holds 16 rules; Harbor keeps at most 15"},
  };
  for (const auto& [spec, want] : cases) {
    auto p = parseHarborProject(object("ok", spec));
    ASSERT_FALSE(p.ok()) << spec;
    EXPECT_THAT(p.status().message(), HasSubstr(want)) << spec;
  }
}

TEST(HarborProjectSpecTest, MembersAreUsersAndGroupsWithRoles) {
  auto p = parseHarborProject(object(
      "a", {{"members",
             {{{"user", "alice"}, {"role", "maintainer"}},
              {{"group", "platform"}, {"type", "oidc"}, {"role", "developer"}},
              {{"group", "cn=ops,dc=example,dc=com"}, {"type", "ldap"}, {"role", "limitedGuest"}}}},
            {"membersPolicy", "Exclusive"}}));
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_TRUE(p->members.has_value());
  EXPECT_EQ(*p->members,
            (std::vector<harbor::MemberSpec>{{"alice", false, 0, 4},
                                             {"platform", true, 3, 2},
                                             {"cn=ops,dc=example,dc=com", true, 1, 5}}));
  EXPECT_TRUE(p->exclusiveMembers);
  auto none = parseHarborProject(object("a", json::object()));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->members.has_value()) << "absent: members are left alone";
  EXPECT_FALSE(none->exclusiveMembers) << "Additive by default";
}

TEST(HarborProjectSpecTest, BadMembersNameTheField) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"members", "alice"}}, "spec.members must be a list"},
      {{{"members", {{{"user", "a"}, {"role", "owner"}}}}}, "spec.members[0].role must be one of"},
      {{{"members", {{{"role", "guest"}}}}},
       "spec.members[0] must name exactly one of user or group"},
      {{{"members", {{{"user", "a"}, {"group", "b"}, {"role", "guest"}}}}},
       "must name exactly one of user or group"},
      {{{"members", {{{"group", "b"}, {"role", "guest"}}}}}, "spec.members[0].type must be oidc"},
      {{{"members", {{{"user", "a"}, {"type", "oidc"}, {"role", "guest"}}}}},
       "spec.members[0].type is for groups only"},
      {{{"members", {{{"user", "a"}, {"role", "guest"}, {"team", "x"}}}}},
       "spec.members[0].team is not a field"},
      {{{"members", {{{"user", "a"}, {"role", "guest"}}, {{"user", "a"}, {"role", "developer"}}}}},
       "spec.members[1] names the same user as spec.members[0]"},
      {{{"membersPolicy", "Strict"}}, "spec.membersPolicy must be Additive or Exclusive"},
  };
  for (const auto& [spec, want] : cases) {
    auto p = parseHarborProject(object("ok", spec));
    ASSERT_FALSE(p.ok()) << spec;
    EXPECT_THAT(p.status().message(), HasSubstr(want)) << spec;
  }
}

TEST(HarborProjectSpecTest, RetentionRulesBecomeHarborsTemplates) {
  auto p = parseHarborProject(
      object("a", {{"retention",
                    {{"schedule", "0 0 2 * * *"},
                     {"rules",
                      {{{"tags", {{"matches", {"release-*"}}}}, {"latestPushedK", 10}},
                       {{"repositories", {{"excludes", {"tmp/**"}}}}, {"nDaysSinceLastPull", 30}},
                       {{"tags", {{"matches", {"v*"}}}}, {"always", true}}}}}}}));
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_TRUE(p->retention.has_value());
  EXPECT_EQ(p->retention->schedule, "0 0 2 * * *");
  ASSERT_EQ(p->retention->rules.size(), 3u);
  EXPECT_EQ(p->retention->rules[0].templ, "latestPushedK");
  EXPECT_EQ(p->retention->rules[0].param, 10);
  EXPECT_EQ(p->retention->rules[0].tagPattern, "release-*");
  EXPECT_EQ(p->retention->rules[0].repositoryPattern, "**");
  EXPECT_EQ(p->retention->rules[1].templ, "nDaysSinceLastPull");
  EXPECT_EQ(p->retention->rules[1].repositoryDecoration, "repoExcludes");
  EXPECT_EQ(p->retention->rules[2].templ, "always");
  auto none = parseHarborProject(object("a", json::object()));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->retention.has_value()) << "absent: the retention policy is left alone";
}

TEST(HarborProjectSpecTest, BadRetentionNamesTheField) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"retention", "daily"}}, "spec.retention must be an object"},
      {{{"retention", {{"cron", "x"}}}}, "spec.retention.cron is not a field"},
      {{{"retention", {{"schedule", "0 2 * * *"}}}}, "is not Harbor's cron: six fields"},
      {{{"retention", {{"schedule", "0 0 2 * * * ; rm"}}}}, "is not Harbor's cron"},
      {{{"retention", {{"rules", {{{"tags", {{"matches", {"v*"}}}}}}}}}},
       "spec.retention.rules[0] must hold one of latestPushedK"},
      {{{"retention", {{"rules", {{{"latestPushedK", 3}, {"always", true}}}}}}},
       "must hold exactly one of"},
      {{{"retention", {{"rules", {{{"latestPushedK", 0}}}}}}},
       "spec.retention.rules[0].latestPushedK must be a whole number from 1 to 10000"},
      {{{"retention", {{"rules", {{{"nDaysSinceLastPush", "30"}}}}}}},
       "nDaysSinceLastPush must be a whole number"},
      {{{"retention", {{"rules", {{{"always", false}}}}}}},
       "spec.retention.rules[0].always must be true"},
      {{{"retention", {{"rules", {{{"keepAll", true}}}}}}},
       "spec.retention.rules[0].keepAll is not a field"},
      {{{"retention", {{"rules", {{{"latestPushedK", 3}}, {{"latestPushedK", 3}}}}}}},
       "spec.retention.rules[1] repeats spec.retention.rules[0]"},
  };
  for (const auto& [spec, want] : cases) {
    auto p = parseHarborProject(object("ok", spec));
    ASSERT_FALSE(p.ok()) << spec;
    EXPECT_THAT(p.status().message(), HasSubstr(want)) << spec;
  }
}

TEST(RobotAccountSpecTest, CredentialsSecretIsANamedSecretInANamespace) {
  auto robot = [](json extra) {
    json spec = {{"project", "shop"}};
    spec.update(extra);
    return parseRobotAccount(object("ci", spec));
  };
  auto ok = robot({{"credentialsSecret", {{"name", "shop-ci"}, {"namespace", "gitlab-runner"}}}});
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_TRUE(ok->credentialsSecret.has_value());
  EXPECT_EQ(ok->credentialsSecret->name, "shop-ci");
  EXPECT_EQ(ok->credentialsSecret->nameSpace, "gitlab-runner");
  EXPECT_FALSE(robot(json::object())->credentialsSecret.has_value());
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"credentialsSecret", "shop-ci"}}, "spec.credentialsSecret must be an object"},
      {{{"credentialsSecret", {{"name", "shop-ci"}}}}, "spec.credentialsSecret.namespace"},
      {{{"credentialsSecret", {{"name", "Shop_CI"}, {"namespace", "ci"}}}},
       "spec.credentialsSecret.name must be a Secret name"},
      {{{"credentialsSecret", {{"name", "harbor-pull"}, {"namespace", "ci"}}},
        {"pullSecret", {{"name", "harbor-pull"}, {"namespaces", {"ci"}}}}},
       "spec.credentialsSecret.name must differ from spec.pullSecret.name"},
  };
  for (const auto& [extra, want] : cases) {
    auto r = robot(extra);
    ASSERT_FALSE(r.ok()) << extra;
    EXPECT_THAT(r.status().message(), HasSubstr(want)) << extra;
  }
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

TEST(RobotAccountSpecTest, SystemRobotsSpanProjectsWithTheirOwnOrTheDefaultPermissions) {
  // The CRD defaults spec.permissions; an entry without permissions takes them.
  auto r = parseRobotAccount(object(
      "ci",
      {{"level", "System"},
       {"permissions", {{{"resource", "repository"}, {"action", "pull"}}}},
       {"projects",
        {{{"project", "staging"},
          {"permissions",
           {{{"resource", "repository"}, {"action", "push"}},
            {{"resource", "artifact"}, {"action", "read"}}}}},
         {{"project", "production"}},
         {{"project", "*"}, {"permissions", {{{"resource", "project"}, {"action", "read"}}}}}}}}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->level, RobotLevel::kSystem);
  EXPECT_TRUE(r->project.empty());
  EXPECT_TRUE(r->permissions.empty()) << "a System robot's grants are in projects";
  ASSERT_EQ(r->projects.size(), 3u);
  EXPECT_EQ(r->projects[0].project, "staging");
  ASSERT_EQ(r->projects[0].permissions.size(), 2u);
  EXPECT_EQ(r->projects[0].permissions[0].action, "push");
  EXPECT_EQ(r->projects[1].project, "production");
  ASSERT_EQ(r->projects[1].permissions.size(), 1u);
  EXPECT_EQ(r->projects[1].permissions[0].action, "pull");
  EXPECT_EQ(r->projects[2].project, "*");
  EXPECT_EQ(r->projects[2].permissions[0].resource, "project");

  auto plain = parseRobotAccount(object("p", {{"project", "team-a"}}));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->level, RobotLevel::kProject) << "Project is the default level";
}

TEST(RobotAccountSpecTest, BadSystemRobotsNameTheField) {
  const json push = {{{"resource", "repository"}, {"action", "push"}}};
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"level", "Global"}, {"project", "p"}}, "spec.level must be Project or System"},
      {{{"level", "System"}}, "spec.projects is required for level System"},
      {{{"level", "System"}, {"projects", json::array()}}, "spec.projects is required"},
      {{{"level", "System"}, {"project", "p"}, {"projects", {{{"project", "a"}}}}},
       "spec.project is for level Project"},
      {{{"project", "p"}, {"projects", {{{"project", "a"}}}}}, "spec.projects is for level System"},
      {{{"level", "System"}, {"projects", {{{"project", "Team A"}}}}},
       "spec.projects[0].project \"Team A\" is neither a Harbor project name nor \"*\""},
      {{{"level", "System"}, {"projects", {{{"project", "a"}}, {{"project", "a"}}}}},
       "spec.projects[1].project \"a\" is listed twice"},
      {{{"level", "System"},
        {"projects",
         {{{"project", "a"}},
          {{"project", "b"}, {"permissions", {{{"resource", "robot"}, {"action", "update"}}}}}}}},
       "spec.projects[1].permissions: \"robot:update\""},
      {{{"level", "System"}, {"projects", {{{"project", "a"}, {"permissions", json::array()}}}}},
       "spec.projects[0].permissions must be a non-empty list"},
      {{{"level", "System"}, {"projects", {"a"}}}, "spec.projects[0] must be an object"},
      {{{"level", "System"}, {"projects", {{{"project", 7}}}}},
       "spec.projects[0].project has the wrong type"},
      {{{"level", "System"},
        {"projects", json::array({json{{"project", "a"}, {"permissions", push}}})},
        {"name", "ci.bot"}},
       "no '.'"}};
  for (const auto& [spec, want] : cases) {
    auto r = parseRobotAccount(object("ok", spec));
    ASSERT_FALSE(r.ok()) << spec;
    EXPECT_THAT(r.status().message(), HasSubstr(want)) << spec;
  }
  json many = json::array();
  for (int i = 0; i < 101; ++i) {
    many.push_back({{"project", "p" + std::to_string(i)}});
  }
  auto tooMany = parseRobotAccount(object("ok", {{"level", "System"}, {"projects", many}}));
  ASSERT_FALSE(tooMany.ok());
  EXPECT_THAT(tooMany.status().message(), HasSubstr("more than 100"));
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
