// `harbormaster check` as a CI pipeline runs it: manifests from a file, a folder and stdin,
// Harbor and the robot's credentials from GitLab's variables alone, JSON and JUnit reports, and
// the GitLab job docs/ci.md documents, run as written.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/process.h"
#include "support/registry_rig.h"
#include "support/temp_dir.h"

namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A shell line run with bash -eo pipefail (as GitLab's runner runs scripts) in `dir`, with
// `env` set; stdout and stderr captured together.
int shell(const std::string& dir, const std::map<std::string, std::string>& env,
          const std::string& script, std::string& output) {
  std::string exports;
  for (const auto& [k, v] : env) {
    exports += "export " + k + "='" + v + "'\n";
  }
  hm::testing::TempDir tmp;
  tmp.write("script.sh", "cd '" + dir + "'\n" + exports + script + "\n");
  return hm::testing::runCommand({"/bin/bash", "-eo", "pipefail", tmp.file("script.sh")}, output);
}

const char* kPolicy = R"(apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: scans}
spec:
  mode: Enforce
  digest: Optional
  vulnerabilities: {severity: High}
---
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: pinning}
spec: {mode: Warn, digest: Require}
)";

class CheckE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rig_ = new hm::testing::HarborRig();
    rig_->createProject("shop");
    layout_ = new hm::testing::OciLayout();
    bad_ = layout_->addImage("1.4", "check bad");
    good_ = layout_->addImage("2.0", "check good");
    const std::string admin = "admin:" + rig_->adminPassword();
    layout_->push("1.4", rig_->host() + "/shop/web:1.4", false, admin);
    layout_->push("2.0", rig_->host() + "/shop/web:2.0", false, admin);
    rig_->setScan(
        R"({"repository":"shop/web","digest":")" + bad_.digest +
        R"(","status":"Success","vulnerabilities":[{"id":"CVE-2026-1","package":"openssl","version":"3.0.1","fix_version":"3.0.9","severity":"Critical"}]})");
    rig_->setScan(R"({"repository":"shop/web","digest":")" + good_.digest +
                  R"(","status":"Success","vulnerabilities":[]})");
    // The project robot GitLab's integration is configured with.
    std::string body;
    const int status = rig_->curl(
        "POST", "/api/v2.0/robots",
        R"({"name":"gitlab","level":"project","duration":30,"permissions":[{"kind":"project","namespace":"shop","access":[{"resource":"repository","action":"pull"},{"resource":"repository","action":"push"},{"resource":"artifact","action":"read"},{"resource":"artifact-addition","action":"read"},{"resource":"project","action":"read"}]}]})",
        body, "");
    ASSERT_EQ(status, 201) << body;
    const json robot = json::parse(body);
    robotName_ = robot["name"].get<std::string>();
    robotSecret_ = robot["secret"].get<std::string>();
  }
  static void TearDownTestSuite() {
    delete layout_;
    delete rig_;
  }

  // What GitLab's Harbor integration puts in every job.
  static std::map<std::string, std::string> gitlabVariables() {
    return {{"HARBOR_URL", rig_->url()},
            {"HARBOR_HOST", rig_->host()},
            {"HARBOR_OCI", "oci://" + rig_->host()},
            {"HARBOR_PROJECT", "shop"},
            {"HARBOR_USERNAME", robotName_},
            {"HARBOR_PASSWORD", robotSecret_}};
  }

  // The manifests a pipeline renders: a Service (skipped), a Deployment with an init container,
  // a List with a CronJob in its own namespace and a Pod pinned by digest.
  std::string manifests() const {
    const std::string h = rig_->host();
    return "---\n# Source: shop/templates/service.yaml\napiVersion: v1\nkind: Service\n"
           "metadata: {name: web}\nspec: {ports: [{port: 80}]}\n"
           "---\n# Source: shop/templates/web.yaml\napiVersion: apps/v1\nkind: Deployment\n"
           "metadata: {name: web}\nspec:\n  template:\n    spec:\n"
           "      initContainers: [{name: migrate, image: " +
           h +
           "/shop/web:2.0}]\n"
           "      containers: [{name: web, image: " +
           h +
           "/shop/web:1.4}]\n"
           "---\napiVersion: v1\nkind: List\nitems:\n"
           "- apiVersion: batch/v1\n  kind: CronJob\n  metadata: {name: nightly, namespace: "
           "batch}\n"
           "  spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: job, image: " +
           h +
           "/shop/web:2.0}]}}}}}\n"
           "- apiVersion: v1\n  kind: Pod\n  metadata: {name: debug}\n"
           "  spec: {containers: [{name: debug, image: \"" +
           h + "/shop/web@" + good_.digest + "\"}]}\n";
  }

  static hm::testing::HarborRig* rig_;
  static hm::testing::OciLayout* layout_;
  static hm::testing::PushedImage bad_, good_;
  static std::string robotName_, robotSecret_;
};

hm::testing::HarborRig* CheckE2E::rig_ = nullptr;
hm::testing::OciLayout* CheckE2E::layout_ = nullptr;
hm::testing::PushedImage CheckE2E::bad_, CheckE2E::good_;
std::string CheckE2E::robotName_, CheckE2E::robotSecret_;

const std::string kSummary =
    "check: 4 images in 3 workloads: 1 allowed, 2 warned, 1 denied; skipped 1 object of other "
    "kinds (1 Service)";

TEST_F(CheckE2E, AFileAFolderAndStdinGiveTheSameVerdictsWithGitLabsVariablesAlone) {
  hm::testing::TempDir dir;
  dir.write("policy.yaml", kPolicy);
  dir.write("rendered.yaml", manifests());
  std::filesystem::create_directories(dir.file("folder"));
  // The same objects split across two files, with a file that is no manifest beside them.
  const std::string all = manifests();
  const size_t split = all.find("---\napiVersion: v1\nkind: List");
  std::ofstream(dir.file("folder/a.yaml")) << all.substr(0, split);
  std::ofstream(dir.file("folder/b.yaml")) << all.substr(split);
  std::ofstream(dir.file("folder/README.md")) << "not a manifest";
  const std::string hm = HM_BINARY;
  for (const std::string& input : {std::string("-f rendered.yaml"), std::string("-f folder"),
                                   std::string("-f - < rendered.yaml")}) {
    std::string out;
    const int status =
        shell(dir.path(), gitlabVariables(), hm + " check --policy policy.yaml " + input, out);
    EXPECT_EQ(status, 1) << input << "\n" << out;
    EXPECT_THAT(out, HasSubstr(kSummary)) << input;
    EXPECT_THAT(out, HasSubstr("default/Deployment/web ("));
    EXPECT_THAT(out, HasSubstr("DENIED   " + rig_->host() + "/shop/web:1.4  (container \"web\""));
    EXPECT_THAT(out, HasSubstr("digest: " + bad_.digest))
        << "the robot's credentials from HARBOR_USERNAME/PASSWORD resolved the tag";
    EXPECT_THAT(out, HasSubstr("scan: Success, 1 findings; Critical 1"));
    EXPECT_THAT(out, HasSubstr("batch/CronJob/nightly"));
    EXPECT_THAT(out, Not(HasSubstr(robotSecret_))) << "the password is never printed";
  }
  // Without the variables there is no Harbor: the scan policy cannot pass.
  std::string out;
  EXPECT_EQ(shell(dir.path(), {}, hm + " check --policy policy.yaml -f rendered.yaml", out), 1);
  EXPECT_THAT(out, HasSubstr("Harbormaster has no Harbor for"));
  // A wrong password is Harbor refusing the robot, said as such, and still never printed.
  auto wrong = gitlabVariables();
  wrong["HARBOR_PASSWORD"] = "not-the-secret-XYZ";
  EXPECT_EQ(shell(dir.path(), wrong, hm + " check --policy policy.yaml -f rendered.yaml", out), 1);
  EXPECT_THAT(out, Not(HasSubstr("not-the-secret-XYZ")));
  // --enforce-warn: the warned images fail too; the verdicts stay the webhook's.
  EXPECT_EQ(
      shell(dir.path(), gitlabVariables(),
            hm + " check --policy policy.yaml --enforce-warn " + rig_->host() + "/shop/web:2.0",
            out),
      1)
      << out;
  EXPECT_THAT(out, HasSubstr("1 warned (failing: --enforce-warn)"));
  EXPECT_EQ(shell(dir.path(), gitlabVariables(),
                  hm + " check --policy policy.yaml " + rig_->host() + "/shop/web:2.0", out),
            0)
      << out;
}

TEST_F(CheckE2E, JsonReportsEveryWorkloadImagePolicyAndCheck) {
  hm::testing::TempDir dir;
  dir.write("policy.yaml", kPolicy);
  dir.write("rendered.yaml", manifests());
  std::string out;
  const int status =
      shell(dir.path(), gitlabVariables(),
            std::string(HM_BINARY) +
                " check --policy policy.yaml -f - -o json < rendered.yaml > report.json",
            out);
  EXPECT_EQ(status, 1) << out;
  EXPECT_THAT(out, HasSubstr(kSummary)) << "the summary goes to stderr";
  const json report = json::parse(readAll(dir.file("report.json")));
  EXPECT_EQ(report["kind"], "CheckReport");
  EXPECT_EQ(report["verdict"], "denied");
  EXPECT_EQ(report["exitCode"], 1);
  EXPECT_EQ(report["summary"]["images"], 4);
  EXPECT_EQ(report["summary"]["skippedKinds"]["Service"], 1);
  ASSERT_EQ(report["results"].size(), 4u);
  const json& migrate = report["results"][0];
  EXPECT_EQ(migrate["source"]["file"], "stdin");
  EXPECT_EQ(migrate["source"]["document"], 2);
  EXPECT_EQ(migrate["source"]["template"], "shop/templates/web.yaml");
  EXPECT_EQ(migrate["container"], "migrate");
  EXPECT_EQ(migrate["path"], "spec.template.spec.initContainers[0].image");
  EXPECT_EQ(migrate["verdict"], "warned");
  EXPECT_EQ(migrate["fails"], false);
  const json& web = report["results"][1];
  EXPECT_EQ(web["namespace"], "default");
  EXPECT_EQ(web["apiVersion"], "apps/v1");
  EXPECT_EQ(web["kind"], "Deployment");
  EXPECT_EQ(web["name"], "web");
  EXPECT_EQ(web["container"], "web");
  EXPECT_EQ(web["path"], "spec.template.spec.containers[0].image");
  EXPECT_EQ(web["image"], rig_->host() + "/shop/web:1.4");
  EXPECT_EQ(web["digest"], bad_.digest);
  EXPECT_EQ(web["verdict"], "denied");
  EXPECT_EQ(web["fails"], true);
  EXPECT_EQ(web["scan"]["artifacts"][0]["counts"]["Critical"], 1);
  ASSERT_EQ(web["policies"].size(), 2u);
  EXPECT_EQ(web["policies"][0]["name"], "scans");
  EXPECT_EQ(web["policies"][0]["mode"], "Enforce");
  const json& scan = web["policies"][0]["checks"][0];
  EXPECT_EQ(scan["check"], "vulnerabilities");
  EXPECT_EQ(scan["result"], "fail");
  EXPECT_THAT(scan["message"].get<std::string>(), HasSubstr("CVE-2026-1"));
  EXPECT_FALSE(scan["fix"].get<std::string>().empty());
  const json& pin = web["policies"][1]["checks"][0];
  EXPECT_EQ(pin["check"], "digest");
  EXPECT_EQ(pin["result"], "warn");
  EXPECT_EQ(pin["fix"], "use " + rig_->host() + "/shop/web@" + bad_.digest)
      << "the fix names the digest the tag resolved to";
  const json& cron = report["results"][2];
  EXPECT_EQ(cron["namespace"], "batch");
  EXPECT_EQ(cron["source"]["item"], "items[0]");
  const json& debug = report["results"][3];
  EXPECT_EQ(debug["kind"], "Pod");
  EXPECT_EQ(debug["verdict"], "allowed");
  EXPECT_EQ(debug["policies"][0]["checks"][0]["result"], "pass");
  EXPECT_EQ(debug["policies"][1]["checks"][0]["result"], "pass");
}

// Parses the JUnit file as XML (python3's parser) and lists its test cases.
std::string junitCases(const std::string& path, std::string& output) {
  const std::string script =
      "import sys, xml.etree.ElementTree as ET\n"
      "root = ET.parse(sys.argv[1]).getroot()\n"
      "print(root.tag, root.get('tests'), root.get('failures'))\n"
      "for s in root.iter('testsuite'):\n"
      "  for c in s.iter('testcase'):\n"
      "    f = c.find('failure')\n"
      "    print(s.get('name'), '|', c.get('classname'), '|', c.get('name'), '|',\n"
      "          f.get('type') + ': ' + f.get('message') if f is not None else 'ok')\n";
  hm::testing::TempDir tmp;
  tmp.write("junit.py", script);
  const int status = hm::testing::runCommand({"python3", tmp.file("junit.py"), path}, output);
  return status == 0 ? output : "python3 failed: " + output;
}

TEST_F(CheckE2E, JunitIsWellFormedWithACasePerWorkloadImage) {
  hm::testing::TempDir dir;
  dir.write("policy.yaml", kPolicy);
  dir.write("rendered.yaml", manifests());
  std::string out;
  EXPECT_EQ(shell(dir.path(), gitlabVariables(),
                  std::string(HM_BINARY) +
                      " check --policy policy.yaml -f rendered.yaml --output junit > report.xml",
                  out),
            1)
      << out;
  std::string parsed;
  const std::string cases = junitCases(dir.file("report.xml"), parsed);
  const std::string h = rig_->host();
  EXPECT_THAT(cases, HasSubstr("testsuites 4 1\n"));
  EXPECT_THAT(cases, HasSubstr("namespace default | default/Deployment/web | container migrate: " +
                               h + "/shop/web:2.0 | ok"));
  EXPECT_THAT(cases, HasSubstr("namespace default | default/Deployment/web | container web: " + h +
                               "/shop/web:1.4 | denied: Enforce policy \"scans\" "
                               "(vulnerabilities): container \"web\""));
  EXPECT_THAT(cases, HasSubstr("namespace batch | batch/CronJob/nightly | container job: " + h +
                               "/shop/web:2.0 | ok"));
  EXPECT_THAT(cases, HasSubstr("namespace default | default/Pod/debug | container debug: "));
  EXPECT_EQ(shell(dir.path(), gitlabVariables(),
                  std::string(HM_BINARY) +
                      " check --policy policy.yaml -f rendered.yaml -o junit --enforce-warn > "
                      "strict.xml",
                  out),
            1);
  EXPECT_THAT(junitCases(dir.file("strict.xml"), parsed), HasSubstr("testsuites 4 3\n"))
      << "the two warned images fail too";
}

TEST_F(CheckE2E, MalformedInputIsAClearErrorNamingFileAndDocument) {
  hm::testing::TempDir dir;
  dir.write("policy.yaml", kPolicy);
  dir.write("nokind.yaml", "apiVersion: v1\nkind: Service\n---\napiVersion: v1\nmetadata: {}\n");
  dir.write("broken.yaml", "apiVersion: v1\nkind: [Pod\n");
  struct Case {
    std::string args;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {"-f nokind.yaml", "nokind.yaml, document 2 (line 3): has no kind"},
           {"-f broken.yaml", "broken.yaml, document 1, line 3"},
           {"-f missing.yaml", "missing.yaml"},
           {"-f - < /dev/null", "no Kubernetes objects in stdin"},
           {"-f rendered.yaml -o xml", "--output must be text, json or junit"},
           {"--help-me", "unknown flag --help-me"},
           {"", "nothing to check"},
       }) {
    std::string out;
    EXPECT_EQ(shell(dir.path(), gitlabVariables(),
                    std::string(HM_BINARY) + " check --policy policy.yaml " + c.args, out),
              2)
        << c.args << "\n"
        << out;
    EXPECT_THAT(out, HasSubstr(c.says)) << c.args;
  }
}

TEST(HelpE2E, EveryCommandAnswersHelpWithItsFlags) {
  for (const std::string command : {"webhook", "check", "operator"}) {
    std::string out;
    EXPECT_EQ(hm::testing::runCommand({HM_BINARY, command, "--help"}, out), 0) << command;
    EXPECT_THAT(out, HasSubstr("Usage:\n  harbormaster " + command)) << out;
    EXPECT_THAT(out, HasSubstr("--harbor-url URL"));
    EXPECT_EQ(hm::testing::runCommand({HM_BINARY, "help", command}, out), 0);
  }
  std::string out;
  EXPECT_EQ(hm::testing::runCommand({HM_BINARY, "--help"}, out), 0);
  EXPECT_THAT(out, HasSubstr("harbormaster check"));
}

// The pipeline docs/ci.md documents, run as written: the render job's and the check job's
// scripts under bash -eo pipefail with the Harbor integration's variables; the push job's kaniko
// step is replaced by skopeo pushing the image to the same place.
class CheckCiDocsTest : public CheckE2E {};

std::string between(const std::string& text, const std::string& begin, const std::string& end) {
  const size_t a = text.find(begin);
  const size_t b = text.find(end);
  if (a == std::string::npos || b == std::string::npos || b < a) {
    return "";
  }
  std::string block = text.substr(a + begin.size(), b - a - begin.size());
  const size_t open = block.find("```yaml\n");
  const size_t close = block.rfind("```");
  return open == std::string::npos ? "" : block.substr(open + 8, close - open - 8);
}

std::vector<std::string> scriptOf(const YAML::Node& pipeline, const std::string& job) {
  std::vector<std::string> out;
  for (const auto& line : pipeline[job]["script"]) {
    out.push_back(line.as<std::string>());
  }
  return out;
}

TEST_F(CheckCiDocsTest, TheDocumentedGitLabPipelineReportsTheDenial) {
  const std::string doc = readAll(std::string(HM_SOURCE_DIR) + "/docs/ci.md");
  const YAML::Node gitlab =
      YAML::Load(between(doc, "<!-- ci.md:gitlab:begin -->", "<!-- ci.md:gitlab:end -->"));
  ASSERT_TRUE(gitlab["harbormaster-check"]) << "docs/ci.md has no GitLab pipeline";
  EXPECT_EQ(gitlab["harbormaster-check"]["artifacts"]["reports"]["junit"].as<std::string>(),
            "harbormaster.xml");
  EXPECT_EQ(gitlab["harbormaster-check"]["artifacts"]["when"].as<std::string>(), "always");

  // The project the job checks out: a chart whose Deployment takes image.repository/tag, and
  // the policies file the job names.
  hm::testing::TempDir project;
  std::filesystem::create_directories(project.file("chart/templates"));
  std::filesystem::create_directories(project.file("deploy"));
  std::ofstream(project.file("chart/Chart.yaml")) << "apiVersion: v2\nname: shop\nversion: 1.0.0\n";
  std::ofstream(project.file("chart/values.yaml")) << "image: {repository: nginx, tag: latest}\n";
  std::ofstream(project.file("chart/templates/web.yaml"))
      << "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n"
         "    spec:\n      containers:\n      - name: web\n"
         "        image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n"
         "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n";
  std::ofstream(project.file("deploy/image-policies.yaml")) << kPolicy;

  auto env = gitlabVariables();
  env["CI_COMMIT_SHORT_SHA"] = "a1b2c3d4";
  env["CI_PROJECT_DIR"] = project.path();
  env["PATH"] = std::filesystem::path(HM_BINARY).parent_path().string() + ":" + getenv("PATH");
  // push-image, with skopeo: the commit's image is the one Harbor found a Critical in.
  layout_->push("1.4", rig_->host() + "/shop/web:a1b2c3d4", false, robotName_ + ":" + robotSecret_);

  std::string out;
  for (const std::string& line : scriptOf(gitlab, "render")) {
    ASSERT_EQ(shell(project.path(), env, line, out), 0) << line << "\n" << out;
  }
  int status = 0;
  for (const std::string& line : scriptOf(gitlab, "harbormaster-check")) {
    status = shell(project.path(), env, line, out);
  }
  EXPECT_EQ(status, 1) << "the denial fails the job: " << out;
  EXPECT_THAT(out, HasSubstr("check: 1 image in 1 workload: 0 allowed, 0 warned, 1 denied; "
                             "skipped 1 object of other kinds (1 Service)"));
  std::string parsed;
  EXPECT_THAT(junitCases(project.file("harbormaster.xml"), parsed),
              HasSubstr("shop/Deployment/web | container web: " + rig_->host() +
                        "/shop/web:a1b2c3d4 | denied: Enforce policy \"scans\" (vulnerabilities)"));

  // The GitHub job runs the same check, word for word.
  const std::string github =
      between(doc, "<!-- ci.md:github:begin -->", "<!-- ci.md:github:end -->");
  const std::string check = scriptOf(gitlab, "harbormaster-check").at(0);
  ASSERT_EQ(check.rfind("harbormaster ", 0), 0u);
  EXPECT_THAT(github, HasSubstr(check.substr(std::string("harbormaster ").size())))
      << "the GitHub job's check arguments drifted from the GitLab job's";
}

}  // namespace
