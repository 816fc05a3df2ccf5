// Contract tests: the Harbor client against harbor-sim, which fronts a real registry.
#include "harbormaster/harbor/client.h"
#include "harbormaster/registry/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/async.h"
#include "support/process.h"
#include "support/registry_rig.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"

namespace hm::harbor {
namespace {

using hm::testing::runOn;
using nlohmann::json;
using ::testing::HasSubstr;

Deadline soon() {
  return std::chrono::steady_clock::now() + std::chrono::seconds(10);
}

class HarborContractTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rig_ = new hm::testing::HarborRig();
    rig_->createProject("shop");
    layout_ = new hm::testing::OciLayout();
    image_ = layout_->addImage("1.4", "shop web");
    layout_->push("1.4", rig_->host() + "/shop/team/web:1.4", false,
                  "admin:" + rig_->adminPassword());
  }
  static void TearDownTestSuite() {
    delete layout_;
    delete rig_;
  }
  std::shared_ptr<Client> client(std::string user = "admin", std::string password = "") {
    auto http = net::HttpClient::create(io_.ioc().get_executor(), {});
    EXPECT_TRUE(http.ok());
    HarborOptions o;
    o.url = "http://" + rig_->host();
    o.username = std::move(user);
    o.password = password.empty() && o.username == "admin" ? rig_->adminPassword() : password;
    return Client::create(std::shared_ptr<net::HttpClient>(std::move(*http)), o);
  }

  static hm::testing::HarborRig* rig_;
  static hm::testing::OciLayout* layout_;
  static hm::testing::PushedImage image_;
  hm::testing::IoThreads io_;
};

hm::testing::HarborRig* HarborContractTest::rig_ = nullptr;
hm::testing::OciLayout* HarborContractTest::layout_ = nullptr;
hm::testing::PushedImage HarborContractTest::image_;

TEST_F(HarborContractTest, Health) {
  auto h = runOn(io_.ioc(), client()->health(soon()));
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(*h, "healthy");
}

TEST_F(HarborContractTest, ProjectLifecycle) {
  auto c = client();
  auto id = runOn(
      io_.ioc(),
      c->createProject({"team-a", {{"prevent_vul", "true"}, {"severity", "high"}}, -1}, soon()));
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_GT(*id, 0);
  auto exists = runOn(io_.ioc(), c->projectExists("team-a", soon()));
  ASSERT_TRUE(exists.ok());
  EXPECT_TRUE(*exists);
  auto p = runOn(io_.ioc(), c->getProject("team-a", soon()));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->id, *id);
  EXPECT_EQ(p->metadata.at("public"), "false") << "Harbor defaults public to the string false";
  EXPECT_EQ(p->metadata.at("severity"), "high");

  auto dup = runOn(io_.ioc(), c->createProject({"team-a", {}, std::nullopt}, soon()));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kConflict);
  EXPECT_THAT(dup.status().message(), HasSubstr("The project named team-a already exists"));

  auto badName = runOn(io_.ioc(), c->createProject({"Team_A", {}, std::nullopt}, soon()));
  ASSERT_FALSE(badName.ok());
  EXPECT_EQ(badName.status().code(), StatusCode::kInvalidArgument);

  ASSERT_TRUE(runOn(io_.ioc(), c->deleteProject("team-a", soon())).ok());
  auto gone = runOn(io_.ioc(), c->projectExists("team-a", soon()));
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(*gone);
  auto missing = runOn(io_.ioc(), c->getProject("team-a", soon()));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_F(HarborContractTest, NumericProjectNamesAreNames) {
  auto c = client();
  ASSERT_TRUE(runOn(io_.ioc(), c->createProject({"123", {}, std::nullopt}, soon())).ok());
  auto p = runOn(io_.ioc(), c->getProject("123", soon()));
  ASSERT_TRUE(p.ok()) << "X-Is-Resource-Name makes \"123\" a name, not an id: "
                      << p.status().message();
  EXPECT_EQ(p->name, "123");
}

TEST_F(HarborContractTest, DeletingAProjectWithRepositoriesIsAPrecondition) {
  auto s = runOn(io_.ioc(), client()->deleteProject("shop", soon()));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("the project contains repositories"));
}

TEST_F(HarborContractTest, WrongPasswordIsReportedAsRejectedWithoutTheSecret) {
  auto s = runOn(io_.ioc(), client("admin", "Wr0ngPassw0rd")->getProject("shop", soon()));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(s.status().message(), HasSubstr("the credentials for user admin were rejected"));
  EXPECT_THAT(s.status().message(), ::testing::Not(HasSubstr("Wr0ngPassw0rd")));
}

TEST_F(HarborContractTest, AnonymousNeedsCredentialsForAPrivateProject) {
  auto s = runOn(io_.ioc(), client("", "")->getProject("shop", soon()));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(s.status().message(), HasSubstr("Harbor credentials are required"));
}

TEST_F(HarborContractTest, ArtifactsRecordedFromPushesWithScanStates) {
  auto c = client();
  // "team/web" inside project "shop": the repository is double-encoded on the wire.
  auto byTag = runOn(io_.ioc(), c->getArtifact("shop", "team/web", "1.4", soon()));
  ASSERT_TRUE(byTag.ok()) << byTag.status().message();
  EXPECT_EQ(byTag->digest, image_.digest);
  EXPECT_EQ(byTag->repository, "shop/team/web");
  EXPECT_EQ(byTag->tags, std::vector<std::string>{"1.4"});
  EXPECT_FALSE(byTag->scan.has_value()) << "never scanned: no scan_overview";

  rig_->setScan(R"({"repository":"shop/team/web","digest":")" + image_.digest +
                R"(","status":"Pending"})");
  auto pending = runOn(io_.ioc(), c->getArtifact("shop", "team/web", image_.digest, soon()));
  ASSERT_TRUE(pending.ok()) << pending.status().message();
  ASSERT_TRUE(pending->scan.has_value());
  EXPECT_EQ(pending->scan->status, "Pending");
  EXPECT_EQ(pending->scan->severity, "") << "only a finished scan has a severity";

  rig_->setScan(
      R"({"repository":"shop/team/web","digest":")" + image_.digest +
      R"(","status":"Success","vulnerabilities":[)"
      R"({"id":"CVE-2024-0001","package":"openssl","version":"3.0.1","fix_version":"3.0.9","severity":"High"},)"
      R"({"id":"CVE-2024-0002","package":"zlib","version":"1.2","fix_version":"","severity":"Medium"},)"
      R"({"id":"CVE-2024-0003","package":"curl","version":"8","fix_version":"8.1","severity":"High"}]})");
  auto scanned = runOn(io_.ioc(), c->getArtifact("shop", "team/web", "1.4", soon()));
  ASSERT_TRUE(scanned.ok()) << scanned.status().message();
  ASSERT_TRUE(scanned->scan.has_value());
  EXPECT_EQ(scanned->scan->status, "Success");
  EXPECT_EQ(scanned->scan->severity, "High");
  EXPECT_EQ(scanned->scan->total, 3);
  EXPECT_EQ(scanned->scan->fixable, 2);
  EXPECT_EQ(scanned->scan->counts.at("High"), 2);
  EXPECT_EQ(scanned->scan->counts.count("Critical"), 0u);

  auto vulns = runOn(io_.ioc(), c->vulnerabilities("shop", "team/web", "1.4", soon()));
  ASSERT_TRUE(vulns.ok()) << vulns.status().message();
  ASSERT_TRUE(vulns->has_value());
  ASSERT_EQ((*vulns)->vulnerabilities.size(), 3u);
  EXPECT_EQ((*vulns)->vulnerabilities[1].fixVersion, "");
}

TEST_F(HarborContractTest, MissingArtifactsAreNotFound) {
  auto c = client();
  auto tag = runOn(io_.ioc(), c->getArtifact("shop", "team/web", "9.9", soon()));
  ASSERT_FALSE(tag.ok());
  EXPECT_EQ(tag.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(tag.status().message(), HasSubstr("artifact shop/team/web:9.9 not found"));
}

TEST_F(HarborContractTest, SimulatorRejectsSingleEncodedRepositoriesLikeHarbor) {
  hm::testing::Client raw(
      static_cast<uint16_t>(std::stoi(rig_->host().substr(rig_->host().find(':') + 1))),
      /*tls=*/false);
  raw.writeRaw(
      "GET /api/v2.0/projects/shop/repositories/team%2Fweb/artifacts/1.4 HTTP/1.1\r\n"
      "Host: x\r\nX-Is-Resource-Name: true\r\nAuthorization: Basic "
      "YWRtaW46SGFyYm9yMTIzNDU=\r\n\r\n");
  auto r = raw.readReply();
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("was not found"));
}

TEST_F(HarborContractTest, ProjectUpdateMergesMetadataAndReplacesTheAllowlist) {
  auto c = client();
  ASSERT_TRUE(
      runOn(io_.ioc(), c->createProject({"upd", {{"auto_scan", "true"}}, std::nullopt}, soon()))
          .ok());
  ProjectUpdate u;
  u.metadata = {{"prevent_vul", "true"}, {"severity", "High"}};
  u.allowlist = CveAllowlist{{"CVE-2024-0001", "CVE-2024-0002"}, 4102444800};
  auto s = runOn(io_.ioc(), c->updateProject("upd", u, soon()));
  ASSERT_TRUE(s.ok()) << s.message();
  auto p = runOn(io_.ioc(), c->getProject("upd", soon()));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->metadata.at("auto_scan"), "true") << "PUT merges: keys not sent stay";
  EXPECT_EQ(p->metadata.at("severity"), "high") << "GET lower-cases severity";
  EXPECT_EQ(p->allowlist.items, (std::vector<std::string>{"CVE-2024-0001", "CVE-2024-0002"}));
  ASSERT_TRUE(p->allowlist.expiresAt.has_value());
  EXPECT_EQ(*p->allowlist.expiresAt, 4102444800);
  EXPECT_TRUE(p->allowlist.activeAt(1767312000));
  EXPECT_FALSE(p->allowlist.activeAt(4102444800));

  // An update without an allowlist keeps it; one with an empty list clears it.
  ASSERT_TRUE(runOn(io_.ioc(), c->updateProject("upd", {{{"public", "false"}}, {}}, soon())).ok());
  EXPECT_EQ(runOn(io_.ioc(), c->getProject("upd", soon()))->allowlist.items.size(), 2u);
  ASSERT_TRUE(runOn(io_.ioc(), c->updateProject("upd", {{}, CveAllowlist{}}, soon())).ok());
  auto cleared = runOn(io_.ioc(), c->getProject("upd", soon()));
  EXPECT_TRUE(cleared->allowlist.items.empty());
  EXPECT_FALSE(cleared->allowlist.expiresAt.has_value());

  auto dup =
      runOn(io_.ioc(), c->updateProject("upd", {{}, CveAllowlist{{"CVE-1", "CVE-1"}, {}}}, soon()));
  EXPECT_FALSE(dup.ok()) << "Harbor refuses duplicate ids (with a 500)";
}

TEST_F(HarborContractTest, MetadataKeysAreValidatedAndDeletable) {
  auto c = client();
  ASSERT_TRUE(runOn(io_.ioc(), c->createProject({"meta", {}, std::nullopt}, soon())).ok());
  ASSERT_TRUE(runOn(io_.ioc(), c->setProjectMetadata("meta", "prevent_vul", "true", soon())).ok());
  auto bad = runOn(io_.ioc(), c->setProjectMetadata("meta", "severity", "extreme", soon()));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runOn(io_.ioc(), c->getProject("meta", soon()))->metadata.at("prevent_vul"), "true");

  ASSERT_TRUE(runOn(io_.ioc(), c->deleteProjectMetadata("meta", "prevent_vul", soon())).ok());
  EXPECT_EQ(runOn(io_.ioc(), c->getProject("meta", soon()))->metadata.count("prevent_vul"), 0u);
  auto again = runOn(io_.ioc(), c->deleteProjectMetadata("meta", "prevent_vul", soon()));
  EXPECT_EQ(again.code(), StatusCode::kNotFound);
}

TEST_F(HarborContractTest, SystemAllowlistIsReadableByUsersAndWritableByAdmins) {
  std::string body;
  ASSERT_EQ(
      rig_->curl("POST", "/api/v2.0/users",
                 R"({"username":"dev","password":"Dev12345","email":"d@x","realname":"D"})", body),
      201)
      << body;
  auto admin = client();
  ASSERT_TRUE(runOn(io_.ioc(), admin->setSystemAllowlist(
                                   CveAllowlist{{"CVE-2023-9999"}, std::nullopt}, soon()))
                  .ok());
  auto dev = client("dev", "Dev12345");
  auto list = runOn(io_.ioc(), dev->systemAllowlist(soon()));
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_EQ(list->items, std::vector<std::string>{"CVE-2023-9999"});
  EXPECT_FALSE(list->expiresAt.has_value());
  auto denied = runOn(io_.ioc(), dev->setSystemAllowlist(CveAllowlist{}, soon()));
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  auto anonymous = runOn(io_.ioc(), client("", "")->systemAllowlist(soon()));
  EXPECT_EQ(anonymous.status().code(), StatusCode::kUnauthenticated);
  ASSERT_TRUE(runOn(io_.ioc(), admin->setSystemAllowlist(CveAllowlist{}, soon())).ok());
}

TEST_F(HarborContractTest, StorageQuotasAreReadAndSetThroughTheQuotaApi) {
  auto c = client();
  auto id = runOn(io_.ioc(), c->createProject({"quota", {}, 5'000'000}, soon()));
  ASSERT_TRUE(id.ok()) << id.status().message();
  auto q = runOn(io_.ioc(), c->projectQuota(*id, soon()));
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->hardStorage, 5'000'000);
  EXPECT_NE(q->id, *id) << "quota ids are not project ids";
  ASSERT_TRUE(runOn(io_.ioc(), c->setStorageQuota(q->id, -1, soon())).ok());
  EXPECT_EQ(runOn(io_.ioc(), c->projectQuota(*id, soon()))->hardStorage, -1);
  EXPECT_EQ(runOn(io_.ioc(), c->setStorageQuota(q->id, 0, soon())).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(runOn(io_.ioc(), c->setStorageQuota(*id, 1, soon())).code(), StatusCode::kNotFound);
  EXPECT_EQ(runOn(io_.ioc(), c->projectQuota(999'999, soon())).status().code(),
            StatusCode::kNotFound);
}

TEST_F(HarborContractTest, SystemInfoShowsMoreToAuthenticatedCallers) {
  auto anonymous = runOn(io_.ioc(), client("", "")->systemInfo(soon()));
  ASSERT_TRUE(anonymous.ok()) << anonymous.status().message();
  EXPECT_EQ(anonymous->authMode, "db_auth");
  EXPECT_EQ(anonymous->harborVersion, "");
  auto admin = runOn(io_.ioc(), client()->systemInfo(soon()));
  ASSERT_TRUE(admin.ok());
  EXPECT_THAT(admin->harborVersion, ::testing::StartsWith("v2."));
  EXPECT_EQ(admin->externalUrl, "http://" + rig_->host());
}

TEST_F(HarborContractTest, UsersGetTheirProjectRoleAndPublicProjectsAreReadable) {
  std::string body;
  ASSERT_EQ(rig_->curl("POST", "/api/v2.0/users", R"({"username":"guest1","password":"Guest1234"})",
                       body),
            201);
  auto guest = client("guest1", "Guest1234");
  auto before = runOn(io_.ioc(), guest->getArtifact("shop", "team/web", "1.4", soon()));
  EXPECT_EQ(before.status().code(), StatusCode::kPermissionDenied);
  ASSERT_EQ(rig_->curl("POST", "/api/v2.0/projects/shop/members",
                       R"({"role_id":3,"member_user":{"username":"guest1"}})", body),
            201)
      << body;
  auto after = runOn(io_.ioc(), guest->getArtifact("shop", "team/web", "1.4", soon()));
  ASSERT_TRUE(after.ok()) << after.status().message();
  auto scan = runOn(io_.ioc(), guest->scanArtifact("shop", "team/web", "1.4", soon()));
  EXPECT_EQ(scan.code(), StatusCode::kPermissionDenied) << "guests may not start scans";

  // A public project: anonymous may read it and pull from it.
  auto admin = client();
  ASSERT_TRUE(
      runOn(io_.ioc(), admin->createProject({"open", {{"public", "true"}}, {}}, soon())).ok());
  layout_->push("1.4", rig_->host() + "/open/web:1", false, "admin:" + rig_->adminPassword());
  auto anonymous = runOn(io_.ioc(), client("", "")->getArtifact("open", "web", "1", soon()));
  ASSERT_TRUE(anonymous.ok()) << anonymous.status().message();
  EXPECT_EQ(anonymous->digest, image_.digest);
  std::string out;
  EXPECT_EQ(hm::testing::runCommand({"/usr/bin/skopeo", "inspect", "--raw", "--tls-verify=false",
                                     "docker://" + rig_->host() + "/open/web:1"},
                                    out),
            0)
      << out;
  EXPECT_NE(hm::testing::runCommand({"/usr/bin/skopeo", "inspect", "--raw", "--tls-verify=false",
                                     "docker://" + rig_->host() + "/shop/team/web:1.4"},
                                    out),
            0)
      << "anonymous pulls of a private project are refused";
}

// Harbor's webhook policies through the client, Harbor's validation through raw requests, and
// the notifications Harbor then sends (recorded by the simulator's /sim/notifications).
// Immutable tag rules through the client against the simulator's immutable handler: created
// enabled, unique per project, PUT toggling only when `disabled` changes, deleted.
TEST_F(HarborContractTest, ImmutableTagRulesAsHarborKeepsThem) {
  auto c = client();
  ASSERT_TRUE(runOn(io_.ioc(), c->createProject({"frozen", {}, {}}, soon())).ok());
  harbor::ImmutableRule rule;
  rule.tagPattern = "v*";
  rule.disabled = true;  // Harbor enables every new rule whatever the body says
  auto id = runOn(io_.ioc(), c->createImmutableRule("frozen", rule, soon()));
  ASSERT_TRUE(id.ok()) << id.status().message();
  rule.disabled = false;
  EXPECT_EQ(runOn(io_.ioc(), c->createImmutableRule("frozen", rule, soon())).status().code(),
            StatusCode::kConflict);
  auto listed = runOn(io_.ioc(), c->listImmutableRules("frozen", soon()));
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, *id);
  EXPECT_FALSE((*listed)[0].disabled);
  EXPECT_FALSE((*listed)[0].unmodelled);
  EXPECT_TRUE((*listed)[0].sameSelectors(rule));
  // A toggle with other selectors applies only the toggle, as Harbor's controller does.
  harbor::ImmutableRule toggled = (*listed)[0];
  toggled.disabled = true;
  toggled.tagPattern = "ignored";
  ASSERT_TRUE(runOn(io_.ioc(), c->updateImmutableRule("frozen", toggled, soon())).ok());
  listed = runOn(io_.ioc(), c->listImmutableRules("frozen", soon()));
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE((*listed)[0].disabled);
  EXPECT_EQ((*listed)[0].tagPattern, "v*");
  std::string body;
  EXPECT_EQ(
      rig_->curl(
          "POST", "/api/v2.0/projects/frozen/immutabletagrules",
          R"({"action":"immutable","template":"immutable_template","tag_selectors":[{"kind":"label","decoration":"matches","pattern":"x"}],"scope_selectors":{"repository":[{"kind":"doublestar","decoration":"repoMatches","pattern":"**"}]}})",
          body),
      400);
  EXPECT_THAT(body, HasSubstr("Kind must match /doublestar/"));
  ASSERT_TRUE(runOn(io_.ioc(), c->deleteImmutableRule("frozen", *id, soon())).ok());
  EXPECT_EQ(runOn(io_.ioc(), c->deleteImmutableRule("frozen", *id, soon())).code(),
            StatusCode::kNotFound);
}

// Members: the creator listed as project admin, users and groups added and changed, an unknown
// user 404 and a group Harbor cannot onboard 500, as Harbor's member controller answers.
TEST_F(HarborContractTest, MembersAsHarborKeepsThem) {
  auto c = client();
  ASSERT_TRUE(runOn(io_.ioc(), c->createProject({"team", {}, {}}, soon())).ok());
  std::string body;
  ASSERT_EQ(
      rig_->curl("POST", "/api/v2.0/users", R"({"username":"carol","password":"Passw0rd!"})", body),
      201)
      << body;
  ASSERT_EQ(
      rig_->curl("POST", "/api/v2.0/usergroups", R"({"group_name":"devs","group_type":3})", body),
      201)
      << body;
  auto carol = runOn(io_.ioc(), c->addMember("team", {"carol", false, 0, 2}, soon()));
  ASSERT_TRUE(carol.ok()) << carol.status().message();
  auto devs = runOn(io_.ioc(), c->addMember("team", {"devs", true, 3, 3}, soon()));
  ASSERT_TRUE(devs.ok()) << devs.status().message();
  EXPECT_EQ(runOn(io_.ioc(), c->addMember("team", {"carol", false, 0, 4}, soon())).status().code(),
            StatusCode::kConflict);
  EXPECT_EQ(runOn(io_.ioc(), c->addMember("team", {"dave", false, 0, 2}, soon())).status().code(),
            StatusCode::kNotFound);
  auto unknown = runOn(io_.ioc(), c->addMember("team", {"strangers", true, 3, 2}, soon()));
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("The group does not exist"));
  ASSERT_TRUE(runOn(io_.ioc(), c->setMemberRole("team", *carol, 4, soon())).ok());
  auto listed = runOn(io_.ioc(), c->listMembers("team", soon()));
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  std::vector<std::string> seen;
  for (const auto& m : *listed) {
    seen.push_back((m.group ? "g " : "u ") + m.name + " " + std::to_string(m.role));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"u admin 1", "u carol 4", "g devs 3"}));
  ASSERT_TRUE(runOn(io_.ioc(), c->removeMember("team", *devs, soon())).ok());
  EXPECT_EQ(runOn(io_.ioc(), c->listMembers("team", soon()))->size(), 2u);
}

// Retention: one policy a project, bound through retention_id; PUT only for that id; a policy
// deleted leaves the id behind and Harbor refuses another until the metadata key goes.
TEST_F(HarborContractTest, RetentionPoliciesAsHarborKeepsThem) {
  auto c = client();
  auto pid = runOn(io_.ioc(), c->createProject({"kept", {}, {}}, soon()));
  ASSERT_TRUE(pid.ok());
  harbor::RetentionPolicy policy;
  policy.projectId = *pid;
  policy.cron = "0 0 2 * * *";
  harbor::RetentionRule rule;
  rule.templ = "latestPushedK";
  rule.param = 10;
  rule.tagPattern = "release-*";
  policy.rules = {rule};
  auto id = runOn(io_.ioc(), c->createRetention(policy, soon()));
  ASSERT_TRUE(id.ok()) << id.status().message();
  auto project = runOn(io_.ioc(), c->getProject("kept", soon()));
  ASSERT_TRUE(project.ok());
  EXPECT_EQ(project->metadata["retention_id"], std::to_string(*id));
  auto held = runOn(io_.ioc(), c->getRetention(*id, soon()));
  ASSERT_TRUE(held.ok()) << held.status().message();
  EXPECT_EQ(held->cron, "0 0 2 * * *");
  EXPECT_EQ(held->rules, policy.rules) << "what is sent is what is read back";
  EXPECT_FALSE(held->unmodelled);
  auto second = runOn(io_.ioc(), c->createRetention(policy, soon()));
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("already has retention policy"));
  policy.id = *id;
  policy.rules[0].param = 5;
  ASSERT_TRUE(runOn(io_.ioc(), c->updateRetention(policy, soon())).ok());
  EXPECT_EQ(runOn(io_.ioc(), c->getRetention(*id, soon()))->rules[0].param, 5);
  harbor::RetentionPolicy twice = policy;
  twice.rules.push_back(policy.rules[0]);
  EXPECT_EQ(runOn(io_.ioc(), c->updateRetention(twice, soon())).code(), StatusCode::kConflict)
      << "identical rules";
  std::string body;
  ASSERT_EQ(rig_->curl("DELETE", "/api/v2.0/retentions/" + std::to_string(*id), "", body), 200);
  EXPECT_EQ(runOn(io_.ioc(), c->getRetention(*id, soon())).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(runOn(io_.ioc(), c->createRetention(policy, soon())).ok())
      << "retention_id still names the deleted policy";
  ASSERT_TRUE(runOn(io_.ioc(), c->deleteProjectMetadata("kept", "retention_id", soon())).ok());
  EXPECT_TRUE(runOn(io_.ioc(), c->createRetention(policy, soon())).ok());
}

TEST_F(HarborContractTest, WebhookPoliciesAreKeptAndNotifyAsHarborDoes) {
  auto c = client();
  ASSERT_TRUE(runOn(io_.ioc(), c->createProject({"hooked", {}, {}}, soon())).ok());
  harbor::WebhookPolicy p;
  p.name = "ours";
  p.eventTypes = {"PUSH_ARTIFACT", "DELETE_ARTIFACT"};
  harbor::WebhookTarget t;
  t.address = rig_->url() + "/sim/sink";
  t.authHeader = "Bearer s3cret";
  p.targets = {t};
  auto id = runOn(io_.ioc(), c->createWebhookPolicy("hooked", p, soon()));
  ASSERT_TRUE(id.ok()) << id.status().message();
  auto again = runOn(io_.ioc(), c->createWebhookPolicy("hooked", p, soon()));
  EXPECT_EQ(again.status().code(), StatusCode::kConflict) << "names are unique per project";
  auto listed = runOn(io_.ioc(), c->listWebhookPolicies("hooked", soon()));
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, *id);
  EXPECT_TRUE((*listed)[0].enabled);
  EXPECT_EQ((*listed)[0].targets, p.targets);

  // Harbor's checks: event types first, then targets.
  std::string body;
  const std::string base = "/api/v2.0/projects/hooked/webhook/policies";
  for (
      const auto& [bad, why] : std::vector<std::pair<std::string, std::string>>{
          {R"({"name":"x","event_types":[],"targets":[{"type":"http","address":"http://a"}]})",
           "empty event type"},
          {R"({"name":"x","event_types":["FOO"],"targets":[{"type":"http","address":"http://a"}]})",
           "unsupported event type FOO"},
          {R"({"name":"x","event_types":["PUSH_ARTIFACT"],"targets":[]})",
           "empty notification target"},
          {R"({"name":"x","event_types":["PUSH_ARTIFACT"],"targets":[{"type":"http","address":"ftp://a"}]})",
           "invalid scheme: ftp"},
          {R"({"name":"x","event_types":["PUSH_ARTIFACT"],"targets":[{"type":"http","address":"http://a","payload_format":"Xml"}]})",
           "unsupported payload format type: Xml"}}) {
    EXPECT_EQ(rig_->curl("POST", base, bad, body), 400) << bad;
    EXPECT_THAT(body, HasSubstr(why)) << bad;
  }

  // A push notifies: Harbor's default payload, the auth header as Authorization.
  layout_->push("1.4", rig_->host() + "/hooked/web:7", false, "admin:" + rig_->adminPassword());
  auto delivered = [&](const std::string& type) {
    json found;
    hm::testing::eventually(5, [&] {
      const json log = json::parse(rig_->control("GET", "/sim/notifications"));
      for (const auto& d : log["deliveries"]) {
        if (d["event_type"] == type &&
            d["body"]["event_data"]["repository"]["namespace"] == "hooked") {
          found = d;
        }
      }
      return !found.is_null();
    });
    return found;
  };
  json push = delivered("PUSH_ARTIFACT");
  ASSERT_FALSE(push.is_null()) << rig_->control("GET", "/sim/notifications");
  EXPECT_EQ(push["status"], 200);
  EXPECT_EQ(push["content_type"], "application/json");
  const json& resource = push["body"]["event_data"]["resources"][0];
  EXPECT_EQ(resource["digest"], image_.digest);
  EXPECT_EQ(resource["tag"], "7");
  EXPECT_THAT(resource["resource_url"].get<std::string>(), HasSubstr("/hooked/web:7"));
  EXPECT_EQ(push["body"]["event_data"]["repository"]["repo_full_name"], "hooked/web");
  EXPECT_EQ(push["body"]["operator"], "admin");

  // Deleting the artifact notifies too; a disabled policy is kept as PUT sent it.
  ASSERT_EQ(
      rig_->curl("DELETE", "/api/v2.0/projects/hooked/repositories/web/artifacts/7", "", body), 200)
      << body;
  json deleted = delivered("DELETE_ARTIFACT");
  ASSERT_FALSE(deleted.is_null());
  EXPECT_EQ(deleted["body"]["event_data"]["resources"][0]["digest"], image_.digest);
  p.id = *id;
  p.enabled = false;
  ASSERT_TRUE(runOn(io_.ioc(), c->updateWebhookPolicy("hooked", p, soon())).ok());
  listed = runOn(io_.ioc(), c->listWebhookPolicies("hooked", soon()));
  ASSERT_TRUE(listed.ok());
  EXPECT_FALSE((*listed)[0].enabled);
  ASSERT_TRUE(runOn(io_.ioc(), c->deleteWebhookPolicy("hooked", *id, soon())).ok());
  EXPECT_EQ(runOn(io_.ioc(), c->deleteWebhookPolicy("hooked", *id, soon())).code(),
            StatusCode::kNotFound);
  listed = runOn(io_.ioc(), c->listWebhookPolicies("hooked", soon()));
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

// --harbor-rate-limit: a call that has no slot before its deadline fails at once, as a
// ResourceExhausted that names the limit, and sends nothing.
TEST_F(HarborContractTest, ARateLimitedClientRefusesWhatItCannotSendInTime) {
  auto http = net::HttpClient::create(io_.ioc().get_executor(), {});
  ASSERT_TRUE(http.ok());
  HarborOptions o;
  o.url = "http://" + rig_->host();
  o.username = "admin";
  o.password = rig_->adminPassword();
  o.requestsPerSecond = 2;
  auto c = Client::create(std::shared_ptr<net::HttpClient>(std::move(*http)), o);
  rig_->control("DELETE", "/sim/stats");
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(runOn(io_.ioc(), c->getProject("shop", soon())).ok()) << "within the burst";
  }
  auto refused = runOn(io_.ioc(), c->getProject("shop", std::chrono::steady_clock::now() +
                                                            std::chrono::milliseconds(100)));
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().message(), HasSubstr("--harbor-rate-limit (2/s)"));
  const json stats = json::parse(rig_->control("GET", "/sim/stats"));
  EXPECT_EQ(stats["requests"].value("GET /api/v2.0/projects/shop", 0), 2) << stats.dump();
  EXPECT_TRUE(runOn(io_.ioc(), c->getProject("shop", soon())).ok()) << "waits for its slot";
}

TEST_F(HarborContractTest, ScanTriggerQueuesAndRefusesWhileRunning) {
  auto c = client();
  auto img = layout_->addImage("scan-me", "scan trigger");
  layout_->push("scan-me", rig_->host() + "/shop/scanned:1", false,
                "admin:" + rig_->adminPassword());
  auto s = runOn(io_.ioc(), c->scanArtifact("shop", "scanned", img.digest, soon()));
  ASSERT_TRUE(s.ok()) << s.message();
  auto a = runOn(io_.ioc(), c->getArtifact("shop", "scanned", img.digest, soon()));
  ASSERT_TRUE(a.ok() && a->scan.has_value());
  EXPECT_EQ(a->scan->status, "Pending");
  EXPECT_TRUE(a->scannable);
  auto again = runOn(io_.ioc(), c->scanArtifact("shop", "scanned", img.digest, soon()));
  EXPECT_EQ(again.code(), StatusCode::kConflict);
  rig_->setScan(R"({"digest":")" + img.digest + R"(","status":"Success"})");
  EXPECT_TRUE(runOn(io_.ioc(), c->scanArtifact("shop", "scanned", img.digest, soon())).ok())
      << "a finished scan may be re-run";
  auto missing = runOn(
      io_.ioc(), c->scanArtifact("shop", "scanned", "sha256:" + std::string(64, 'a'), soon()));
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
}

TEST_F(HarborContractTest, AnIndexShowsItsChildrensMergedScan) {
  auto c = client();
  auto amd = layout_->addImage("m-amd", "merge amd64", "amd64");
  auto arm = layout_->addImage("m-arm", "merge arm64", "arm64");
  auto index = layout_->addIndex("merged", {amd, arm}, {"amd64", "arm64"});
  layout_->push("merged", rig_->host() + "/shop/multi:1", true, "admin:" + rig_->adminPassword());
  rig_->setScan(
      R"({"digest":")" + amd.digest +
      R"(","status":"Success","vulnerabilities":[{"id":"CVE-1","package":"a","version":"1","fix_version":"2","severity":"Medium"}]})");
  rig_->setScan(R"({"digest":")" + arm.digest + R"(","status":"Running"})");
  auto running = runOn(io_.ioc(), c->getArtifact("shop", "multi", "1", soon()));
  ASSERT_TRUE(running.ok()) << running.status().message();
  EXPECT_EQ(running->children, (std::vector<std::string>{amd.digest, arm.digest}));
  ASSERT_TRUE(running->scan.has_value());
  EXPECT_EQ(running->scan->status, "Running") << "Running outranks Success when merging";

  rig_->setScan(
      R"({"digest":")" + arm.digest +
      R"(","status":"Success","vulnerabilities":[{"id":"CVE-2","package":"b","version":"1","fix_version":"","severity":"Critical"},{"id":"CVE-1","package":"a","version":"1","fix_version":"2","severity":"Medium"}]})");
  auto merged = runOn(io_.ioc(), c->getArtifact("shop", "multi", index.digest, soon()));
  ASSERT_TRUE(merged.ok() && merged->scan.has_value());
  EXPECT_EQ(merged->scan->status, "Success");
  EXPECT_EQ(merged->scan->severity, "Critical");
  EXPECT_EQ(merged->scan->total, 2) << "findings are unique by id, package and version";
}

TEST_F(HarborContractTest, CosignSignaturesAreRecordedAsAccessories) {
  auto c = client();
  auto img = layout_->addImage("signed", "signed image");
  layout_->push("signed", rig_->host() + "/shop/signed:1", false, "admin:" + rig_->adminPassword());
  // The legacy scheme: tag sha256-<hex>.sig, a simple-signing layer.
  std::string config = "{}";
  std::string payload = R"({"critical":{"image":{"docker-manifest-digest":")" + img.digest +
                        R"("},"type":"cosign container image signature"}})";
  std::string legacy =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      hm::testing::sha256Digest(config) +
      R"(","size":2},"layers":[{"mediaType":)"
      R"("application/vnd.dev.cosign.simplesigning.v1+json","digest":")" +
      hm::testing::sha256Digest(payload) + R"(","size":)" + std::to_string(payload.size()) +
      R"(,"annotations":{"dev.cosignproject.cosign/signature":"MEUCIQ=="}}]})";
  std::string sigTag = "sha256-" + img.digest.substr(7) + ".sig";
  std::string legacyDigest =
      rig_->pushArtifact("shop/signed", sigTag, "application/vnd.oci.image.manifest.v1+json",
                         legacy, {config, payload});
  // The OCI 1.1 scheme: a referrer with a subject and cosign's artifactType.
  std::string bundle = R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"})";
  std::string empty = "{}";
  std::string referrer =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",)"
      R"("config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":")" +
      hm::testing::sha256Digest(empty) +
      R"(","size":2},"layers":[{"mediaType":)"
      R"("application/vnd.dev.sigstore.bundle.v0.3+json","digest":")" +
      hm::testing::sha256Digest(bundle) + R"(","size":)" + std::to_string(bundle.size()) +
      R"(}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      img.digest + R"(","size":)" + std::to_string(img.manifest.size()) + "}}";
  std::string bundleDigest =
      rig_->pushArtifact("shop/signed", hm::testing::sha256Digest(referrer),
                         "application/vnd.oci.image.manifest.v1+json", referrer, {empty, bundle});

  auto a = runOn(io_.ioc(), c->getArtifact("shop", "signed", "1", soon()));
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_EQ(a->accessories.size(), 2u);
  for (const auto& acc : a->accessories) {
    EXPECT_EQ(acc.type, "signature.cosign");
    EXPECT_EQ(acc.subjectDigest, img.digest);
  }
  EXPECT_EQ(a->accessories[0].digest, legacyDigest);
  EXPECT_EQ(a->accessories[1].digest, bundleDigest);
  auto sig = runOn(io_.ioc(), c->getArtifact("shop", "signed", legacyDigest, soon()));
  ASSERT_TRUE(sig.ok());
  EXPECT_FALSE(sig->scannable) << "a signature has no vulnerabilities addition";

  // Harbor answers the OCI 1.1 referrers API itself: a 200 index, no tag-schema fallback.
  auto http = net::HttpClient::create(io_.ioc().get_executor(), {});
  ASSERT_TRUE(http.ok());
  registry::RegistryOptions opts;
  opts.plainHttpHosts = {rig_->host()};
  opts.credentials[rig_->host()] = {"admin", rig_->adminPassword()};
  auto reg = registry::Client::create(std::shared_ptr<net::HttpClient>(std::move(*http)), opts);
  auto repo = imageref::parse(rig_->host() + "/shop/signed");
  ASSERT_TRUE(repo.ok());
  rig_->control("DELETE", "/sim/stats");
  auto refs = runOn(io_.ioc(), reg->referrers(*repo, img.digest, soon()));
  ASSERT_TRUE(refs.ok()) << refs.status().message();
  ASSERT_EQ(refs->size(), 1u) << "the legacy .sig has no subject, so it is no referrer";
  EXPECT_EQ((*refs)[0].digest, bundleDigest);
  EXPECT_EQ((*refs)[0].artifactType, "application/vnd.dev.sigstore.bundle.v0.3+json");
  auto stats = nlohmann::json::parse(rig_->control("GET", "/sim/stats"))["requests"];
  EXPECT_EQ(stats.value("GET /v2/shop/signed/referrers/" + img.digest, 0), 2)
      << "one challenge, one answer: " << stats.dump();
  EXPECT_FALSE(stats.contains("GET /v2/shop/signed/manifests/sha256-" + img.digest.substr(7)))
      << stats.dump();
}

TEST_F(HarborContractTest, SimulatedFaultsAndRequestCounts) {
  auto c = client();
  rig_->control("DELETE", "/sim/stats");
  // One 503: the client's retry hides it.
  rig_->control("POST", "/sim/faults",
                R"({"path_prefix":"/api/v2.0/projects/shop","status":503,"count":1})");
  EXPECT_TRUE(runOn(io_.ioc(), c->getProject("shop", soon())).ok());
  auto stats = nlohmann::json::parse(rig_->control("GET", "/sim/stats"));
  EXPECT_EQ(stats["requests"]["GET /api/v2.0/projects/shop"], 2) << stats.dump();
  // A lasting outage: every attempt fails, and the error says Harbor is unavailable.
  rig_->control("POST", "/sim/faults",
                R"({"path_prefix":"/api/v2.0/projects/shop","status":503,"count":-1})");
  auto failed = runOn(io_.ioc(), c->getProject("shop", soon()));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  rig_->control("DELETE", "/sim/faults");
  EXPECT_TRUE(runOn(io_.ioc(), c->getProject("shop", soon())).ok());

  rig_->control("POST", "/sim/faults",
                R"({"path_prefix":"/api/v2.0/health","latency_ms":3000,"count":1})");
  auto late = runOn(io_.ioc(),
                    c->health(std::chrono::steady_clock::now() + std::chrono::milliseconds(300)));
  ASSERT_FALSE(late.ok()) << "the deadline cuts a slow Harbor";
  EXPECT_EQ(late.status().code(), StatusCode::kDeadlineExceeded) << late.status().message();
}

RobotSpec pullRobot(const std::string& name, const std::string& project, int64_t days = 30) {
  RobotSpec spec;
  spec.name = name;
  spec.description = "pulls images";
  spec.durationDays = days;
  spec.permissions = {{"project", project, {{"repository", "pull"}, {"artifact", "read"}}}};
  return spec;
}

TEST_F(HarborContractTest, RobotLifecycle) {
  auto c = client();
  auto created = runOn(io_.ioc(), c->createRobot(pullRobot("puller", "shop"), soon()));
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(created->name, "robot$shop+puller");
  EXPECT_FALSE(created->secret.empty());
  EXPECT_GT(created->expiresAt, 0);

  auto got = runOn(io_.ioc(), c->getRobot(created->id, soon()));
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->name, "robot$shop+puller");
  ASSERT_EQ(got->permissions.size(), 1u);
  EXPECT_EQ(got->permissions[0].nameSpace, "shop");

  auto project = runOn(io_.ioc(), c->getProject("shop", soon()));
  ASSERT_TRUE(project.ok());
  // The name filter carries a '+', which Harbor needs double-encoded.
  auto listed = runOn(io_.ioc(), c->listProjectRobots(project->id, "shop+puller", soon()));
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, created->id);

  Robot disabled = *got;
  disabled.disabled = true;
  ASSERT_TRUE(runOn(io_.ioc(), c->updateRobot(disabled, soon())).ok());
  EXPECT_TRUE(runOn(io_.ioc(), c->getRobot(created->id, soon()))->disabled);

  Robot renamed = *got;
  renamed.name = "shop+puller";  // not the prefixed name Harbor showed
  auto refused = runOn(io_.ioc(), c->updateRobot(renamed, soon()));
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("cannot update the level or name of robot"));

  auto secret = runOn(io_.ioc(), c->refreshRobotSecret(created->id, soon()));
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  EXPECT_NE(*secret, created->secret);

  ASSERT_TRUE(runOn(io_.ioc(), c->deleteRobot(created->id, soon())).ok());
  EXPECT_EQ(runOn(io_.ioc(), c->getRobot(created->id, soon())).status().code(),
            StatusCode::kNotFound);
}

TEST_F(HarborContractTest, RobotValidationFollowsHarbor) {
  auto c = client();
  auto zero = runOn(io_.ioc(), c->createRobot(pullRobot("zero", "shop", 0), soon()));
  EXPECT_EQ(zero.status().code(), StatusCode::kInvalidArgument);
  auto badName = runOn(io_.ioc(), c->createRobot(pullRobot("Bad+Name", "shop"), soon()));
  EXPECT_EQ(badName.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(badName.status().message(), HasSubstr("lower case"));
  RobotSpec update = pullRobot("updater", "shop");
  update.permissions[0].access = {{"robot", "update"}};
  auto noSuchAction = runOn(io_.ioc(), c->createRobot(update, soon()));
  EXPECT_EQ(noSuchAction.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(noSuchAction.status().message(), HasSubstr("bad request permission: robot:update"));
  auto unknownProject = runOn(io_.ioc(), c->createRobot(pullRobot("lost", "nope"), soon()));
  EXPECT_EQ(unknownProject.status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(runOn(io_.ioc(), c->createRobot(pullRobot("twice", "shop"), soon())).ok());
  auto dup = runOn(io_.ioc(), c->createRobot(pullRobot("twice", "shop"), soon()));
  EXPECT_EQ(dup.status().code(), StatusCode::kConflict);
}

// System robots span projects: one grant per project (or "*"), listed apart from project robots,
// refused for a project Harbor does not have, and updated in place when a grant moves.
TEST_F(HarborContractTest, SystemRobotsSpanProjects) {
  auto c = client();
  ASSERT_TRUE(runOn(io_.ioc(), c->createProject({"promo", {}, std::nullopt}, soon())).ok());
  RobotSpec spec = pullRobot("ci-bot", "shop");
  spec.level = "system";
  spec.permissions.push_back({"project", "promo", {{"repository", "push"}}});
  auto created = runOn(io_.ioc(), c->createRobot(spec, soon()));
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(created->name, "robot$ci-bot") << "no project prefix";

  auto listed = runOn(io_.ioc(), c->listSystemRobots("ci-bot", soon()));
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].level, "system");
  ASSERT_EQ((*listed)[0].permissions.size(), 2u);
  EXPECT_EQ((*listed)[0].permissions[1].nameSpace, "promo");
  auto project = runOn(io_.ioc(), c->getProject("shop", soon()));
  ASSERT_TRUE(project.ok());
  auto projectRobots = runOn(io_.ioc(), c->listProjectRobots(project->id, "", soon()));
  ASSERT_TRUE(projectRobots.ok()) << projectRobots.status().message();
  for (const Robot& r : *projectRobots) {
    EXPECT_NE(r.id, created->id) << "a system robot is not one of the project's robots";
  }
  EXPECT_TRUE(runOn(io_.ioc(), c->listSystemRobots("ci-bot.b", soon()))->empty());

  Robot moved = (*listed)[0];
  moved.permissions[1].nameSpace = "*";
  ASSERT_TRUE(runOn(io_.ioc(), c->updateRobot(moved, soon())).ok());
  EXPECT_EQ(runOn(io_.ioc(), c->getRobot(created->id, soon()))->permissions[1].nameSpace, "*");

  RobotSpec lost = spec;
  lost.name = "lost-bot";
  lost.permissions[1].nameSpace = "nope";
  auto refused = runOn(io_.ioc(), c->createRobot(lost, soon()));
  EXPECT_EQ(refused.status().code(), StatusCode::kNotFound) << refused.status().message();
  EXPECT_TRUE(runOn(io_.ioc(), c->listSystemRobots("lost-bot", soon()))->empty())
      << "nothing left behind by the refused create";
}

TEST_F(HarborContractTest, ListsRobotsPastOneHundred) {
  auto c = client();
  auto id = runOn(io_.ioc(), c->createProject({"bulk", {}, std::nullopt}, soon()));
  ASSERT_TRUE(id.ok());
  for (int i = 0; i < 105; ++i) {
    ASSERT_TRUE(
        runOn(io_.ioc(), c->createRobot(pullRobot("r" + std::to_string(i), "bulk"), soon())).ok());
  }
  auto all = runOn(io_.ioc(), c->listProjectRobots(*id, "", soon()));
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(all->size(), 105u);
}

TEST_F(HarborContractTest, RobotCredentialsPullOnlyTheirProject) {
  auto c = client();
  auto robot = runOn(io_.ioc(), c->createRobot(pullRobot("reader", "shop"), soon()));
  ASSERT_TRUE(robot.ok()) << robot.status().message();
  // The robot reads artifacts through the API with its own credentials...
  auto asRobot = client(robot->name, robot->secret);
  auto artifact = runOn(io_.ioc(), asRobot->getArtifact("shop", "team/web", "1.4", soon()));
  ASSERT_TRUE(artifact.ok()) << artifact.status().message();
  EXPECT_EQ(artifact->digest, image_.digest);
  // ...but not another project, and it cannot create projects.
  auto other = runOn(io_.ioc(), asRobot->getProject("123", soon()));
  EXPECT_EQ(other.status().code(), StatusCode::kPermissionDenied);
  // A disabled robot logs in as anonymous, which Harbor answers with 401.
  auto got = runOn(io_.ioc(), c->getRobot(robot->id, soon()));
  ASSERT_TRUE(got.ok());
  got->disabled = true;
  ASSERT_TRUE(runOn(io_.ioc(), c->updateRobot(*got, soon())).ok());
  auto disabled = runOn(io_.ioc(), asRobot->getArtifact("shop", "team/web", "1.4", soon()));
  EXPECT_EQ(disabled.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(HarborContractTest, RobotTokensFollowRobotPermissions) {
  auto c = client();
  auto robot = runOn(io_.ioc(), c->createRobot(pullRobot("registry-reader", "shop"), soon()));
  ASSERT_TRUE(robot.ok()) << robot.status().message();
  auto http = net::HttpClient::create(io_.ioc().get_executor(), {});
  ASSERT_TRUE(http.ok());
  std::shared_ptr<net::HttpClient> shared(std::move(*http));
  registry::RegistryOptions opts;
  opts.plainHttpHosts = {rig_->host()};
  opts.credentials[rig_->host()] = {robot->name, robot->secret};
  auto reg = registry::Client::create(shared, opts);
  auto shop = imageref::parse(rig_->host() + "/shop/team/web:1.4");
  ASSERT_TRUE(shop.ok());
  auto digest = runOn(io_.ioc(), reg->resolveDigest(*shop, soon()));
  ASSERT_TRUE(digest.ok()) << digest.status().message();
  EXPECT_EQ(*digest, image_.digest);
  ASSERT_TRUE(runOn(io_.ioc(), c->createProject({"vault", {}, std::nullopt}, soon())).ok());
  auto elsewhere = imageref::parse(rig_->host() + "/vault/app:1");
  ASSERT_TRUE(elsewhere.ok());
  auto refused = runOn(io_.ioc(), reg->resolveDigest(*elsewhere, soon()));
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated)
      << "a shop robot's token carries no access to another project";
}

TEST_F(HarborContractTest, SystemRobotsWithAStarReachEveryProject) {
  auto c = client();
  RobotSpec spec = pullRobot("everywhere", "*");
  spec.level = "system";
  auto robot = runOn(io_.ioc(), c->createRobot(spec, soon()));
  ASSERT_TRUE(robot.ok()) << robot.status().message();
  EXPECT_EQ(robot->name, "robot$everywhere") << "system robots carry no project prefix";
  auto asRobot = client(robot->name, robot->secret);
  auto a = runOn(io_.ioc(), asRobot->getArtifact("shop", "team/web", "1.4", soon()));
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto write = runOn(io_.ioc(), asRobot->scanArtifact("shop", "team/web", "1.4", soon()));
  EXPECT_EQ(write.code(), StatusCode::kPermissionDenied) << "pull-only: no scan:create";
}

TEST_F(HarborContractTest, CheckCommandResolvesDigestAndShowsTheScan) {
  rig_->setScan(
      R"({"repository":"shop/team/web","digest":")" + image_.digest +
      R"(","status":"Success","vulnerabilities":[{"id":"CVE-1","package":"p","version":"1","fix_version":"2","severity":"Critical"}]})");
  hm::testing::TempDir dir;
  dir.write("policy.yaml",
            "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: prod}\n"
            "spec: {mode: Enforce, digest: Require}\n");
  setenv("HARBOR_USERNAME", "admin", 1);
  setenv("HARBOR_PASSWORD", rig_->adminPassword().c_str(), 1);
  std::string out;
  int status = hm::testing::runCommand(
      {HM_BINARY, "check", "--policy", dir.file("policy.yaml"), "--harbor-url",
       "http://" + rig_->host(), rig_->host() + "/shop/team/web:1.4"},
      out);
  unsetenv("HARBOR_PASSWORD");
  EXPECT_EQ(status, 1) << out;
  EXPECT_THAT(out, HasSubstr("digest: " + image_.digest));
  EXPECT_THAT(out, HasSubstr("scan: Success, 1 findings; Critical 1"));
  EXPECT_THAT(out, HasSubstr("use " + rig_->host() + "/shop/team/web@" + image_.digest))
      << "the fix names the exact digest";
  EXPECT_THAT(out, ::testing::Not(HasSubstr(rig_->adminPassword())));

  // With spec.vulnerabilities the verdict names the finding; credentials from a file.
  dir.write("scan-policy.yaml",
            "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: scans}\n"
            "spec: {digest: Off, vulnerabilities: {severity: High}}\n");
  dir.write("creds", "admin:" + rig_->adminPassword() + "\n");
  status = hm::testing::runCommand(
      {HM_BINARY, "check", "--policy", dir.file("scan-policy.yaml"), "--harbor-url",
       "http://" + rig_->host(), "--harbor-credentials-file", dir.file("creds"),
       rig_->host() + "/shop/team/web:1.4"},
      out);
  EXPECT_EQ(status, 1) << out;
  EXPECT_THAT(out, HasSubstr("DENIED"));
  EXPECT_THAT(out, HasSubstr("(vulnerabilities): "));
  EXPECT_THAT(out, HasSubstr("has 1 Critical finding; policy allows up to Medium: CVE-1"));
  status = hm::testing::runCommand({HM_BINARY, "check", "--policy", dir.file("scan-policy.yaml"),
                                    rig_->host() + "/shop/team/web:1.4"},
                                   out);
  EXPECT_EQ(status, 1) << "a scan policy without a Harbor cannot pass: " << out;
  EXPECT_THAT(out, HasSubstr("Harbormaster has no Harbor for"));
}

// harbor-sim over HTTPS with an external URL: the client verifies the certificate, and the
// registry token flow runs against an https realm (the only kind credentials are sent to).
TEST(HarborTlsTest, VerifiesTheCertificateAndRunsTheTokenFlowOverTls) {
  hm::testing::HarborRigOptions options;
  options.tls = true;
  options.externalUrl = "https://harbor.test.example";
  hm::testing::HarborRig rig(options);
  rig.createProject("secure");
  hm::testing::OciLayout layout;
  auto img = layout.addImage("1", "tls image");
  layout.push("1", rig.host() + "/secure/app:1", false, "admin:" + rig.adminPassword());
  hm::testing::IoThreads io;
  net::ClientOptions verified;
  verified.caFile = rig.caFile();
  auto http = net::HttpClient::create(io.ioc().get_executor(), verified);
  ASSERT_TRUE(http.ok());
  std::shared_ptr<net::HttpClient> shared(std::move(*http));
  auto h = Client::create(shared, {rig.url(), "admin", rig.adminPassword()});
  auto info = runOn(io.ioc(), h->systemInfo(soon()));
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->externalUrl, "https://harbor.test.example");
  auto artifact = runOn(io.ioc(), h->getArtifact("secure", "app", "1", soon()));
  ASSERT_TRUE(artifact.ok()) << artifact.status().message();
  EXPECT_EQ(artifact->digest, img.digest);

  registry::RegistryOptions opts;
  opts.credentials[rig.host()] = {"admin", rig.adminPassword()};
  auto reg = registry::Client::create(shared, opts);
  auto ref = imageref::parse(rig.host() + "/secure/app:1");
  ASSERT_TRUE(ref.ok());
  auto digest = runOn(io.ioc(), reg->resolveDigest(*ref, soon()));
  ASSERT_TRUE(digest.ok()) << digest.status().message();
  EXPECT_EQ(*digest, img.digest);

  // The system trust store does not know the simulator's self-signed certificate.
  auto untrusted = net::HttpClient::create(io.ioc().get_executor(), {});
  ASSERT_TRUE(untrusted.ok());
  auto stranger = Client::create(std::shared_ptr<net::HttpClient>(std::move(*untrusted)),
                                 {rig.url(), "admin", rig.adminPassword()});
  auto refused = runOn(io.ioc(), stranger->health(soon()));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("certificate"));
}

TEST(HarborModelTest, RejectsHostileShapes) {
  EXPECT_FALSE(parseProject("[]").ok());
  EXPECT_FALSE(parseProject(R"({"name":"a","metadata":{"public":true}})").ok());
  EXPECT_FALSE(parseProject(R"({"project_id":"7","name":"a"})").ok());
  EXPECT_FALSE(parseArtifact(R"({"id":1})").ok()) << "no digest";
  EXPECT_FALSE(parseArtifact(R"({"digest":"sha256:x","scan_overview":[]})").ok());
  EXPECT_FALSE(
      parseArtifact(
          R"({"digest":"sha256:x","scan_overview":{"application/vnd.security.vulnerability.report; version=1.1":{"summary":{"summary":{"High":-1}}}}})")
          .ok());
  auto older = parseArtifact(
      R"({"digest":"sha256:x","scan_overview":{"application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0":{"scan_status":"Success","severity":"Low"}}})");
  ASSERT_TRUE(older.ok());
  EXPECT_EQ(older->scan->severity, "Low") << "the 1.0 report type is read when 1.1 is absent";
  auto none = parseVulnerabilities("{}");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_FALSE(parseVulnerabilities("[1]").ok());
  EXPECT_FALSE(parseAllowlist(R"({"items":{"cve_id":"CVE-1"}})").ok());
  EXPECT_FALSE(parseAllowlist(R"({"items":[{"cve_id":7}]})").ok());
  EXPECT_FALSE(parseAllowlist(R"({"expires_at":"tomorrow"})").ok());
  auto never = parseAllowlist(R"({"items":[],"expires_at":null})");
  ASSERT_TRUE(never.ok());
  EXPECT_FALSE(never->expiresAt.has_value()) << "null expires_at means never";
  EXPECT_FALSE(parseProject(R"({"name":"a","cve_allowlist":[]})").ok());
  EXPECT_FALSE(parseSystemInfo(R"({"read_only":"no"})").ok());
  EXPECT_FALSE(parseArtifact(R"({"digest":"sha256:x","references":{}})").ok());
  EXPECT_FALSE(parseArtifact(R"({"digest":"sha256:x","references":[{"child_digest":1}]})").ok());
}

TEST(HarborLinkTest, ParsesHarborsLinkHeaderAndSurvivesJunk) {
  auto rels = linkRelations(
      R"(</api/v2.0/robots?page=1&page_size=100&q=Level%3Dproject%2CProjectID%3D1>; rel="prev" , )"
      R"(</api/v2.0/robots?page=3&page_size=100&q=a,b;c>; rel="next")");
  EXPECT_EQ(rels.at("prev"),
            "/api/v2.0/robots?page=1&page_size=100&q=Level%3Dproject%2CProjectID%3D1");
  EXPECT_EQ(rels.at("next"), "/api/v2.0/robots?page=3&page_size=100&q=a,b;c");
  EXPECT_EQ(linkRelations("<x>; rel=next").at("next"), "x");
  EXPECT_EQ(linkRelations(R"(<y>; rel="next last")").at("last"), "y");
  for (const char* junk :
       {"", "<", ">", "<<>>", "rel=next", "<x", "<x>; rel=", "<x>; rel=\"", "<x>;;;;rel", ",,,,"}) {
    auto r = linkRelations(junk);
    EXPECT_EQ(r.count("next"), 0u) << junk;
  }
}

TEST(HarborEncodingTest, DoubleEncodesRepositories) {
  EXPECT_EQ(encodeRepository("team/app"), "team%252Fapp");
  EXPECT_EQ(encodeRepository("app"), "app");
  EXPECT_EQ(harborError(R"({"errors":[{"code":"NOT_FOUND","message":"project x not found"}]})"),
            std::make_pair(std::string("NOT_FOUND"), std::string("project x not found")));
  EXPECT_EQ(harborError("junk"), std::make_pair(std::string(), std::string()));
}

}  // namespace
}  // namespace hm::harbor
