// What `check` prints, from judged images: the per-check outcomes, exit codes, the summary line,
// the JSON fields docs/ci.md documents and JUnit XML a CI's test report reads.
#include "check_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kDigest = "sha256:" + std::string(64, 'a');

policy::PolicySet policies() {
  auto set = policy::parsePolicies(R"(
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: registries}
spec:
  mode: Enforce
  digest: Optional
  registries: [harbor.example.com]
  exceptions:
  - images: ["harbor.example.com/legacy/**"]
    checks: [registry]
    reason: migrating
---
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: pinning}
spec: {mode: Warn, digest: Require}
)",
                                   "p.yaml", {.ownNamespace = "", .readFiles = false});
  EXPECT_TRUE(set.ok()) << set.status().message();
  return std::move(*set);
}

CheckedImage judged(const policy::PolicySet& set, const std::string& image,
                    const std::string& kind = "Deployment") {
  CheckedImage c;
  c.nameSpace = "shop";
  if (!kind.empty()) {
    c.source = "deploy.yaml";
    c.document = 2;
    c.origin = "shop/templates/web.yaml";
    c.apiVersion = "apps/v1";
    c.kind = kind;
    c.name = "web";
  }
  c.use.container = "web";
  c.use.path = "spec.template.spec.containers[0].image";
  c.use.image = image;
  c.use.pod = true;
  c.use.resolvedDigest = kDigest;
  const auto plan = policy::planReview(set, "shop", {c.use});
  c.verdict =
      admission::judgeAsAdmitted(set, "shop", {c.use}, plan, std::chrono::system_clock::now())[0];
  return c;
}

std::map<std::string, std::string> results(const std::vector<PolicyOutcome>& outcomes) {
  std::map<std::string, std::string> out;
  for (const PolicyOutcome& p : outcomes) {
    for (const CheckOutcome& c : p.checks) {
      out[p.policy + "/" + c.check] = c.result;
    }
  }
  return out;
}

TEST(CheckReportTest, EveryPolicyAndCheckHasAnOutcomePassesIncluded) {
  const policy::PolicySet set = policies();
  EXPECT_EQ(results(outcomesOf(set, judged(set, "harbor.example.com/shop/web@" + kDigest))),
            (std::map<std::string, std::string>{{"registries/registry", "pass"},
                                                {"pinning/digest", "pass"}}));
  EXPECT_EQ(results(outcomesOf(set, judged(set, "docker.io/library/nginx:1"))),
            (std::map<std::string, std::string>{{"registries/registry", "fail"},
                                                {"pinning/digest", "warn"}}));
  const CheckedImage legacy = judged(set, "harbor.example.com/legacy/app@" + kDigest);
  const auto outcomes = outcomesOf(set, legacy);
  EXPECT_EQ(results(outcomes)["registries/registry"], "pass")
      << "harbor.example.com is allowed: nothing to except";
  const CheckedImage bad = judged(set, "Not An Image");
  EXPECT_EQ(results(outcomesOf(set, bad))["registries/reference"], "fail")
      << "a check the policy does not list but a finding names is shown";
}

TEST(CheckReportTest, AnExceptionIsShownAsSuch) {
  auto set = policy::parsePolicies(R"(
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: gate}
spec:
  digest: Require
  exceptions: [{images: ["**"], checks: [digest], reason: "CI images"}]
)",
                                   "p.yaml", {.ownNamespace = "", .readFiles = false});
  ASSERT_TRUE(set.ok()) << set.status().message();
  const CheckedImage c = judged(*set, "harbor.example.com/shop/web:1");
  EXPECT_EQ(c.verdict.verdict, policy::Verdict::kAllowed);
  const auto outcomes = outcomesOf(*set, c);
  ASSERT_EQ(outcomes.size(), 1u);
  ASSERT_EQ(outcomes[0].checks.size(), 1u);
  EXPECT_EQ(outcomes[0].checks[0].result, "excepted");
  EXPECT_EQ(outcomes[0].checks[0].findings.size(), 1u);
}

TEST(CheckReportTest, ExitCodesSummaryAndEnforceWarn) {
  const policy::PolicySet set = policies();
  CheckRun run;
  run.workloads = 1;
  run.images.push_back(judged(set, "harbor.example.com/shop/web:1"));  // warned (not pinned)
  run.skipped = {{"Service", 2}, {"ConfigMap", 1}};
  EXPECT_EQ(run.images[0].verdict.verdict, policy::Verdict::kWarned);
  EXPECT_EQ(exitCodeOf(run), 0) << "warnings allow";
  EXPECT_EQ(summaryLine(run),
            "check: 1 image in 1 workload: 0 allowed, 1 warned, 0 denied; skipped 3 objects of "
            "other kinds (1 ConfigMap, 2 Service)");
  run.enforceWarn = true;
  EXPECT_EQ(exitCodeOf(run), 1);
  EXPECT_THAT(summaryLine(run), HasSubstr("1 warned (failing: --enforce-warn)"));
  run.enforceWarn = false;
  run.images.push_back(judged(set, "docker.io/library/nginx@" + kDigest));
  EXPECT_EQ(exitCodeOf(run), 1) << "denied";
}

TEST(CheckReportTest, JsonHasTheDocumentedFields) {
  const policy::PolicySet set = policies();
  CheckRun run;
  run.workloads = 1;
  run.images.push_back(judged(set, "docker.io/library/nginx:1"));
  run.images.push_back(judged(set, "harbor.example.com/shop/cli:2", ""));
  const nlohmann::json j = renderJson(set, run);
  EXPECT_EQ(j["apiVersion"], "harbormaster.io/v1alpha1");
  EXPECT_EQ(j["kind"], "CheckReport");
  EXPECT_EQ(j["verdict"], "denied");
  EXPECT_EQ(j["exitCode"], 1);
  EXPECT_EQ(j["summary"]["images"], 2);
  EXPECT_EQ(j["summary"]["denied"], 1);
  EXPECT_EQ(j["summary"]["warned"], 1);
  const auto& r = j["results"][0];
  EXPECT_EQ(r["source"]["file"], "deploy.yaml");
  EXPECT_EQ(r["source"]["document"], 2);
  EXPECT_EQ(r["source"]["template"], "shop/templates/web.yaml");
  EXPECT_EQ(r["namespace"], "shop");
  EXPECT_EQ(r["kind"], "Deployment");
  EXPECT_EQ(r["apiVersion"], "apps/v1");
  EXPECT_EQ(r["name"], "web");
  EXPECT_EQ(r["container"], "web");
  EXPECT_EQ(r["path"], "spec.template.spec.containers[0].image");
  EXPECT_EQ(r["image"], "docker.io/library/nginx:1");
  EXPECT_EQ(r["digest"], kDigest);
  EXPECT_EQ(r["verdict"], "denied");
  EXPECT_EQ(r["fails"], true);
  ASSERT_EQ(r["policies"].size(), 2u);
  EXPECT_EQ(r["policies"][0]["name"], "registries");
  EXPECT_EQ(r["policies"][0]["mode"], "Enforce");
  const auto& check = r["policies"][0]["checks"][0];
  EXPECT_EQ(check["check"], "registry");
  EXPECT_EQ(check["result"], "fail");
  EXPECT_EQ(check["fix"], "use an image from harbor.example.com");
  EXPECT_THAT(check["message"].get<std::string>(), HasSubstr("which is not allowed"));
  EXPECT_EQ(check["findings"][0]["problem"], "comes from registry docker.io, which is not allowed");
  EXPECT_TRUE(j["results"][1]["source"].is_null()) << "an image argument has no source";
  EXPECT_EQ(j["results"][1]["kind"], "");
}

TEST(CheckReportTest, JunitHasOneCasePerWorkloadImageAndFailuresCarryTheDenial) {
  const policy::PolicySet set = policies();
  CheckRun run;
  run.workloads = 1;
  run.images.push_back(judged(set, "docker.io/library/nginx:1"));
  run.images.push_back(judged(set, "harbor.example.com/shop/web@" + kDigest));
  const std::string xml = renderJunit(set, run);
  EXPECT_THAT(xml, HasSubstr("<testsuites name=\"harbormaster check\" tests=\"2\" failures=\"1\""));
  EXPECT_THAT(xml, HasSubstr("<testsuite name=\"namespace shop\" tests=\"2\" failures=\"1\""));
  EXPECT_THAT(xml, HasSubstr("classname=\"shop/Deployment/web\" name=\"container web: "
                             "docker.io/library/nginx:1\" file=\"shop/templates/web.yaml\""));
  EXPECT_THAT(xml, HasSubstr("<failure type=\"denied\" message=\"Enforce policy &quot;registries"
                             "&quot; (registry): container &quot;web&quot;"));
  EXPECT_THAT(xml, Not(HasSubstr("<failure type=\"warned\""))) << "warnings do not fail";
  run.enforceWarn = true;
  run.images.pop_back();
  run.images.push_back(judged(set, "harbor.example.com/shop/web:1"));
  EXPECT_THAT(renderJunit(set, run), HasSubstr("<failure type=\"warned\" message=\"Warn policy"));
}

TEST(CheckReportTest, XmlEscapeKeepsTheDocumentWellFormed) {
  EXPECT_EQ(xmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(xmlEscape("tab\tnl\n"), "tab\tnl\n");
  EXPECT_EQ(xmlEscape(std::string("nul\0x", 5)), "nul\xEF\xBF\xBDx");
  EXPECT_EQ(xmlEscape("\xC3\xA9t\xC3\xA9 \xE2\x80\x94"), "\xC3\xA9t\xC3\xA9 \xE2\x80\x94");
  EXPECT_EQ(xmlEscape("bad\xC3"), "bad\xEF\xBF\xBD") << "a truncated sequence";
  EXPECT_EQ(xmlEscape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD") << "an overlong '/'";
  EXPECT_EQ(xmlEscape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") << "a surrogate";
}

TEST(CheckReportTest, TextGroupsImagesUnderTheirWorkloadAndEndsWithTheSummary) {
  const policy::PolicySet set = policies();
  CheckRun run;
  run.workloads = 1;
  run.images.push_back(judged(set, "docker.io/library/nginx:1"));
  const std::string text = renderText(set, run);
  EXPECT_THAT(text, HasSubstr("shop/Deployment/web (deploy.yaml, document 2; "
                              "shop/templates/web.yaml)\nDENIED   docker.io/library/nginx:1"));
  EXPECT_THAT(text, HasSubstr("  Enforce policy \"registries\" (registry): "));
  EXPECT_THAT(text, HasSubstr("\ncheck: 1 image in 1 workload: 0 allowed, 0 warned, 1 denied\n"));
}

}  // namespace
}  // namespace hm::cli
