// Contract tests: the Harbor client against harbor-sim, which fronts a real registry.
#include "harbormaster/harbor/client.h"
#include "harbormaster/registry/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/async.h"
#include "support/process.h"
#include "support/registry_rig.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"

namespace hm::harbor {
namespace {

using hm::testing::runOn;
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
  std::unique_ptr<Client> client(std::string user = "admin", std::string password = "") {
    auto http = net::HttpClient::create(io_.ioc().get_executor(), {});
    EXPECT_TRUE(http.ok());
    HarborOptions o;
    o.url = "http://" + rig_->host();
    o.username = std::move(user);
    o.password = password.empty() && o.username == "admin" ? rig_->adminPassword() : password;
    return std::make_unique<Client>(std::shared_ptr<net::HttpClient>(std::move(*http)), o);
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
  registry::Client reg(shared, opts);
  auto shop = imageref::parse(rig_->host() + "/shop/team/web:1.4");
  ASSERT_TRUE(shop.ok());
  auto digest = runOn(io_.ioc(), reg.resolveDigest(*shop, soon()));
  ASSERT_TRUE(digest.ok()) << digest.status().message();
  EXPECT_EQ(*digest, image_.digest);
  ASSERT_TRUE(runOn(io_.ioc(), c->createProject({"vault", {}, std::nullopt}, soon())).ok());
  auto elsewhere = imageref::parse(rig_->host() + "/vault/app:1");
  ASSERT_TRUE(elsewhere.ok());
  auto refused = runOn(io_.ioc(), reg.resolveDigest(*elsewhere, soon()));
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated)
      << "a shop robot's token carries no access to another project";
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
  EXPECT_THAT(out,
              HasSubstr("scan: Success, severity Critical (1 findings, 1 fixable; Critical 1)"));
  EXPECT_THAT(out, HasSubstr("use " + rig_->host() + "/shop/team/web@" + image_.digest))
      << "the fix names the exact digest";
  EXPECT_THAT(out, ::testing::Not(HasSubstr(rig_->adminPassword())));
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
