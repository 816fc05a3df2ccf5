// The operator end to end: the real binary against kube-sim (driven with the real kubectl) and
// harbor-sim in front of the real registry. Assertions read Harbor's state through its API and
// check pull secrets by authenticating with them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "harbormaster/base/encoding.h"
#include "support/kube_rig.h"
#include "support/process.h"
#include "support/registry_rig.h"
#include "support/temp_dir.h"

namespace hm {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class OperatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string out;
    ASSERT_EQ(kube_.kubectl({"apply", "-f", std::string(HM_SOURCE_DIR) + "/crds"}, out), 0) << out;
    apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: harbormaster}\n");
    dir_.write("harbor-creds", "admin:" + harbor_.adminPassword() + "\n");
  }

  std::unique_ptr<testing::Process> startOperator(const std::string& log,
                                                  const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {HM_BINARY,
                                     "operator",
                                     "--kubeconfig",
                                     kube_.kubeconfig(),
                                     "--harbor-url",
                                     harbor_.url(),
                                     "--harbor-credentials-file",
                                     dir_.file("harbor-creds"),
                                     "--namespace",
                                     "harbormaster",
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(testing::freePort()),
                                     "--resync",
                                     "2s",
                                     "--rotation-grace",
                                     "1s"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<testing::Process>(argv, dir_.file(log));
  }

  void apply(const std::string& yaml) {
    dir_.write("apply.yaml", yaml);
    std::string out;
    ASSERT_EQ(kube_.kubectl({"apply", "-f", dir_.file("apply.yaml")}, out), 0) << out;
  }

  json get(const std::vector<std::string>& what) {
    std::vector<std::string> args = {"get"};
    args.insert(args.end(), what.begin(), what.end());
    args.insert(args.end(), {"-o", "json"});
    std::string out;
    if (kube_.kubectl(args, out) != 0) {
      return nullptr;
    }
    json j = json::parse(out, nullptr, false);
    return j.is_discarded() ? json(nullptr) : j;
  }

  std::string condition(const json& object, const std::string& type, const char* field) {
    if (!object.is_object()) {
      return "";
    }
    for (const auto& c :
         object.value("status", json::object()).value("conditions", json::array())) {
      if (c.value("type", "") == type) {
        return c.value(field, "");
      }
    }
    return "";
  }

  bool waitReady(const std::vector<std::string>& what, const std::string& reason = "Synced",
                 double seconds = 30) {
    return testing::eventually(seconds,
                               [&] { return condition(get(what), "Ready", "reason") == reason; });
  }

  json harborGet(const std::string& path) {
    std::string body;
    if (harbor_.curl("GET", path, "", body) != 200) {
      return nullptr;
    }
    return json::parse(body, nullptr, false);
  }

  // The robot credential in a pull secret, and whether Harbor accepts it.
  std::pair<std::string, std::string> pullCredential(const std::string& ns,
                                                     const std::string& name) {
    json s = get({"secret", "-n", ns, name});
    if (!s.is_object() || s.value("type", "") != "kubernetes.io/dockerconfigjson") {
      return {};
    }
    auto config = base64Decode(s["data"].value(".dockerconfigjson", ""));
    json auths = json::parse(config.value_or(""), nullptr, false).value("auths", json::object());
    if (!auths.contains(harbor_.host())) {
      return {};
    }
    return {auths[harbor_.host()].value("username", ""),
            auths[harbor_.host()].value("password", "")};
  }

  bool harborAccepts(const std::pair<std::string, std::string>& cred) {
    std::string body;
    return !cred.first.empty() && harbor_.curl("GET", "/api/v2.0/system/CVEAllowlist", "", body,
                                               cred.first + ":" + cred.second) == 200;
  }

  testing::HarborRig harbor_;
  testing::KubeSimRig kube_;
  testing::TempDir dir_;
};

constexpr const char* kProject = R"(apiVersion: harbormaster.io/v1alpha1
kind: HarborProject
metadata: {name: team-a}
spec:
  preventVulnerable: {enabled: true, severity: critical}
  cveAllowlist: {items: [CVE-2024-0001]}
  reuseSystemAllowlist: false
)";

TEST_F(OperatorTest, HarborProjectIsCreatedUpdatedRepairedAndRetained) {
  auto op = startOperator("operator.log");
  apply(kProject);
  ASSERT_TRUE(waitReady({"harborproject", "team-a"})) << op->output();
  json hp = get({"harborproject", "team-a"});
  EXPECT_EQ(hp["status"]["projectName"], "team-a");
  EXPECT_GT(hp["status"].value("projectID", 0), 0);
  EXPECT_EQ(hp["status"]["observedGeneration"], hp["metadata"]["generation"]);
  EXPECT_THAT(hp["metadata"]["finalizers"].dump(), HasSubstr("harbormaster.io/cleanup"));
  json project = harborGet("/api/v2.0/projects/team-a");
  ASSERT_TRUE(project.is_object());
  EXPECT_EQ(project["metadata"]["prevent_vul"], "true");
  EXPECT_EQ(project["metadata"]["severity"], "critical");
  EXPECT_EQ(project["metadata"]["public"], "false");
  EXPECT_EQ(project["metadata"]["reuse_sys_cve_allowlist"], "false");
  EXPECT_EQ(project["cve_allowlist"]["items"][0]["cve_id"], "CVE-2024-0001");
  const std::string transition = condition(hp, "Ready", "lastTransitionTime");

  // A spec change reaches Harbor.
  std::string out;
  ASSERT_EQ(kube_.kubectl({"patch", "harborproject", "team-a", "--type=merge", "-p",
                           R"({"spec":{"public":true}})"},
                          out),
            0)
      << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    json p = harborGet("/api/v2.0/projects/team-a");
    return p.is_object() && p["metadata"].value("public", "") == "true";
  }));

  // A change made in Harbor's UI is put back at the next resync, with a Warning Event.
  ASSERT_EQ(harbor_.curl("PUT", "/api/v2.0/projects/team-a",
                         R"({"metadata":{"prevent_vul":"false","auto_scan":"false"}})", out),
            200)
      << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    json p = harborGet("/api/v2.0/projects/team-a");
    return p.is_object() && p["metadata"].value("prevent_vul", "") == "true" &&
           p["metadata"].value("auto_scan", "") == "true";
  })) << op->output();
  ASSERT_TRUE(testing::eventually(10, [&] {
    return get({"events.events.k8s.io", "-A"}).dump().find("DriftRepaired") != std::string::npos;
  }));
  EXPECT_EQ(condition(get({"harborproject", "team-a"}), "Ready", "lastTransitionTime"), transition)
      << "Ready stayed True throughout: its transition time does not move";

  // deletionPolicy Retain (the default): the CR goes, the Harbor project stays.
  ASSERT_EQ(kube_.kubectl({"delete", "harborproject", "team-a", "--wait=false"}, out), 0) << out;
  ASSERT_TRUE(testing::eventually(20, [&] { return get({"harborproject", "team-a"}).is_null(); }));
  EXPECT_TRUE(harborGet("/api/v2.0/projects/team-a").is_object());
}

TEST_F(OperatorTest, ExistingProjectsAreAdoptedOnlyWhenAskedAndDeletionWaitsForRepositories) {
  harbor_.createProject("legacy");
  auto op = startOperator("operator.log");
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: HarborProject
metadata: {name: legacy}
spec: {deletionPolicy: Delete}
)");
  ASSERT_TRUE(waitReady({"harborproject", "legacy"}, "AlreadyExists")) << op->output();
  EXPECT_THAT(condition(get({"harborproject", "legacy"}), "Ready", "message"),
              HasSubstr("adoptExisting"));
  std::string out;
  ASSERT_EQ(kube_.kubectl({"patch", "harborproject", "legacy", "--type=merge", "-p",
                           R"({"spec":{"adoptExisting":true}})"},
                          out),
            0);
  ASSERT_TRUE(waitReady({"harborproject", "legacy"}));
  EXPECT_EQ(get({"harborproject", "legacy"})["status"]["adopted"], true);

  // A project that still holds repositories is not deleted, and the condition says why.
  testing::OciLayout layout;
  layout.addImage("v1", "legacy");
  layout.push("v1", harbor_.host() + "/legacy/app:v1", false, "admin:" + harbor_.adminPassword());
  ASSERT_EQ(kube_.kubectl({"delete", "harborproject", "legacy", "--wait=false"}, out), 0) << out;
  ASSERT_TRUE(waitReady({"harborproject", "legacy"}, "DeletionBlocked")) << op->output();
  EXPECT_TRUE(harborGet("/api/v2.0/projects/legacy").is_object());
  ASSERT_EQ(harbor_.curl("DELETE", "/api/v2.0/projects/legacy/repositories/app", "", out), 200)
      << out;
  ASSERT_TRUE(testing::eventually(60, [&] {
    return get({"harborproject", "legacy"}).is_null();
  })) << op->output();
  EXPECT_TRUE(harborGet("/api/v2.0/projects/legacy").is_null()) << "deletionPolicy: Delete";
}

TEST_F(OperatorTest, InvalidSpecsAndAnUnreachableHarborAreConditionsNotHalfAppliedState) {
  harbor_.control("POST", "/sim/faults",
                  R"({"path_prefix":"/api/v2.0/projects","status":503,"count":-1})");
  auto op = startOperator("operator.log");
  apply(kProject);
  ASSERT_TRUE(waitReady({"harborproject", "team-a"}, "HarborError")) << op->output();
  harbor_.control("DELETE", "/sim/faults");
  ASSERT_TRUE(waitReady({"harborproject", "team-a"}, "Synced", 60)) << "recovers with backoff";

  // The CRD lets a RobotAccount with an impossible rotation through; the operator says why.
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: RobotAccount
metadata: {name: odd}
spec: {project: team-a, duration: 1, rotateBefore: 48h}
)");
  ASSERT_TRUE(waitReady({"robotaccount", "odd"}, "InvalidSpec")) << op->output();
  EXPECT_THAT(condition(get({"robotaccount", "odd"}), "Ready", "message"),
              HasSubstr("rotateBefore"));
  json robots = harborGet(
      "/api/v2.0/robots?q=Level%3Dproject%2CProjectID%3D" +
      std::to_string(get({"harborproject", "team-a"})["status"]["projectID"].get<int64_t>()));
  EXPECT_TRUE(robots.is_array() && robots.empty()) << "nothing created in Harbor: " << robots;
}

}  // namespace
}  // namespace hm
