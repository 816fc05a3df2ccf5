// Report building: one result per (workload, image, policy, check) with the denial's words,
// pass/fail/warn/error as admission would judge, severity from the worst finding, reports split
// and capped under etcd's limits, the cluster summary — and every report valid against the real
// PolicyReport CRD (../shared/crds/policyreport.yaml, read in place). Pure; no processes.
#include "harbormaster/compliance/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e/kube-sim/schema.h"
#include "harbormaster/base/files.h"
#include "support/chart.h"

namespace hm::compliance {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const std::string kWeb = "harbor.example.com/shop/web@sha256:" + std::string(64, 'a');
const std::string kDb = "harbor.example.com/shop/db@sha256:" + std::string(64, 'b');
const WallTime kNow = *parseRfc3339("2026-12-06T12:00:00Z");
const ObjectRef kDeployment{"apps/v1", "Deployment", "shop", "web", "web-uid"};

policy::PolicySet policies(const std::string& yaml) {
  auto set = policy::parsePolicies(yaml, "policy.yaml", {});
  EXPECT_TRUE(set.ok()) << set.status().message();
  return set.ok() ? *set : policy::PolicySet{};
}

std::shared_ptr<const policy::ScanFacts> scan(const std::string& digest,
                                              std::vector<std::string> severities) {
  auto f = std::make_shared<policy::ScanFacts>();
  f->digest = digest;
  policy::ArtifactScan a;
  a.digest = digest;
  a.state = policy::ScanState::kSuccess;
  a.status = "Success";
  for (size_t i = 0; i < severities.size(); ++i) {
    a.findings.push_back(
        {"CVE-2026-000" + std::to_string(i), "openssl", "3.0.1", "3.0.2", severities[i]});
    a.counts[severities[i]]++;
  }
  a.total = static_cast<int64_t>(severities.size());
  f->artifacts.push_back(a);
  return f;
}

policy::ImageUse use(const std::string& container, const std::string& path,
                     const std::string& image, std::shared_ptr<const policy::ScanFacts> facts) {
  policy::ImageUse u;
  u.container = container;
  u.path = path;
  u.image = image;
  u.pod = true;
  u.scan = std::move(facts);
  return u;
}

// Judges the uses as admission does and builds the rows.
std::vector<ResultRow> judge(const policy::PolicySet& set,
                             const std::vector<policy::ImageUse>& uses,
                             const std::string& ns = "shop") {
  const auto plan = policy::planReview(set, ns, uses);
  const auto evaluation = policy::evaluate(set, ns, uses, plan, kNow);
  std::vector<std::string> digests;
  for (const auto& u : uses) {
    digests.push_back(u.scan ? u.scan->digest : "");
  }
  ObjectRef workload = kDeployment;
  workload.nameSpace = ns;
  return rowsOf(workload, uses, digests, set, plan, evaluation);
}

const ResultRow* find(const std::vector<ResultRow>& rows, const std::string& container,
                      const std::string& policy, const std::string& check) {
  for (const auto& r : rows) {
    if (r.container == container && r.policy == policy && r.check == check) {
      return &r;
    }
  }
  return nullptr;
}

const std::string kPolicies = R"(
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: strict}
spec: {registries: [harbor.example.com], vulnerabilities: {severity: High}}
---
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: advisory}
spec: {mode: Warn, digest: Optional, vulnerabilities: {severity: Medium}}
---
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: watch}
spec: {mode: Audit, digest: Optional, vulnerabilities: {severity: Low}}
)";

TEST(RowsOfTest, OneResultPerImagePolicyAndCheckWithTheDenialsWords) {
  const auto set = policies(kPolicies);
  const std::vector<policy::ImageUse> uses = {
      use("migrate", "spec.initContainers[0].image", kDb, scan(kDb.substr(kDb.find('@') + 1), {})),
      use("web", "spec.containers[0].image", kWeb,
          scan(kWeb.substr(kWeb.find('@') + 1), {"Critical", "Medium"}))};
  const auto rows = judge(set, uses);
  // strict: registry, digest, vulnerabilities; advisory and watch: vulnerabilities — per image.
  EXPECT_EQ(rows.size(), 2u * (3 + 1 + 1));

  const ResultRow* initDigest = find(rows, "migrate", "strict", "digest");
  ASSERT_NE(initDigest, nullptr) << "the init container has results of its own";
  EXPECT_EQ(initDigest->result, Result::kPass);
  EXPECT_EQ(initDigest->severity, "");
  EXPECT_EQ(find(rows, "migrate", "strict", "vulnerabilities")->result, Result::kPass);

  const ResultRow* fail = find(rows, "web", "strict", "vulnerabilities");
  ASSERT_NE(fail, nullptr);
  EXPECT_EQ(fail->result, Result::kFail);
  EXPECT_EQ(fail->severity, "critical") << "the worst finding Harbor's scan has";
  EXPECT_EQ(fail->workload, kDeployment);
  EXPECT_EQ(fail->digest, "sha256:" + std::string(64, 'a'));
  // The same words as the denial.
  const auto plan = policy::planReview(set, "shop", uses);
  const auto evaluation = policy::evaluate(set, "shop", uses, plan, kNow);
  std::string denial;
  for (const auto& f : evaluation.findings) {
    if (f.policy == "strict" && f.check == policy::Check::kVulnerabilities) {
      denial = policy::describe(f);
    }
  }
  ASSERT_FALSE(denial.empty());
  EXPECT_EQ(fail->message, denial);

  const ResultRow* warn = find(rows, "web", "advisory", "vulnerabilities");
  ASSERT_NE(warn, nullptr);
  EXPECT_EQ(warn->result, Result::kWarn);
  EXPECT_EQ(warn->severity, "critical");
  // Audit findings are what audit mode is for: they fail in the report.
  EXPECT_EQ(find(rows, "web", "watch", "vulnerabilities")->result, Result::kFail);
}

TEST(RowsOfTest, ACheckThatCouldNotBeMadeIsAnErrorWithItsReason) {
  const auto set = policies(kPolicies);
  auto gone = std::make_shared<policy::ScanFacts>();
  gone->source = policy::ScanFacts::Source::kNotFound;
  gone->error = "artifact sha256:aaaa was deleted";
  auto down = std::make_shared<policy::ScanFacts>();
  down->source = policy::ScanFacts::Source::kUnreachable;
  down->error = "connect: connection refused";
  auto rows = judge(set, {use("web", "spec.containers[0].image", kWeb, gone)});
  const ResultRow* error = find(rows, "web", "strict", "vulnerabilities");
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->result, Result::kError);
  EXPECT_THAT(error->message, HasSubstr("is not in Harbor (artifact sha256:aaaa was deleted)"));
  EXPECT_EQ(error->severity, "");
  rows = judge(set, {use("web", "spec.containers[0].image", kWeb, down)});
  EXPECT_EQ(find(rows, "web", "strict", "vulnerabilities")->result, Result::kError);
  // A Warn policy that could not check is an error too: never a pass.
  EXPECT_EQ(find(rows, "web", "advisory", "vulnerabilities")->result, Result::kError);
}

TEST(RowsOfTest, AnExceptedCheckPassesAndAnUnselectedImageHasNoRows) {
  const auto set = policies(kPolicies + R"(
---
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: elsewhere}
spec: {match: {namespaces: [billing]}, digest: Require}
---
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: waived}
spec:
  digest: Optional
  vulnerabilities: {severity: High}
  exceptions: [{images: ["harbor.example.com/shop/web"], checks: [vulnerabilities], reason: OPS-1}]
)");
  const auto rows = judge(set, {use("web", "spec.containers[0].image", kWeb,
                                    scan(kWeb.substr(kWeb.find('@') + 1), {"Critical"}))});
  EXPECT_EQ(find(rows, "web", "waived", "vulnerabilities")->result, Result::kPass);
  EXPECT_EQ(find(rows, "web", "elsewhere", "digest"), nullptr);
}

TEST(RowsOfTest, AnUnparseableReferenceIsItsOwnResult) {
  const auto set = policies(kPolicies);
  const auto rows = judge(set, {use("web", "spec.containers[0].image", "Not An Image", nullptr)});
  const ResultRow* ref = find(rows, "web", "strict", "reference");
  ASSERT_NE(ref, nullptr);
  EXPECT_EQ(ref->result, Result::kFail);
  EXPECT_THAT(ref->message, HasSubstr("is not a valid image reference"));
}

std::vector<ResultRow> manyRows(size_t n, size_t failEvery) {
  std::vector<ResultRow> rows;
  for (size_t i = 0; i < n; ++i) {
    ResultRow r;
    r.workload = ObjectRef{"apps/v1", "Deployment", "shop", "web-" + std::to_string(i / 4),
                           "uid-" + std::to_string(i / 4)};
    r.container = "c" + std::to_string(i % 4);
    r.image = kWeb;
    r.digest = "sha256:" + std::string(64, 'a');
    r.policy = "strict";
    r.check = "vulnerabilities";
    if (failEvery > 0 && i % failEvery == 0) {
      r.result = Result::kFail;
      r.severity = "high";
      r.message = "container \"c\" " + kWeb + " has 1 High vulnerability — update it";
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

json crdSchema(const std::string& crd, const std::string& version) {
  auto text = readFile(std::string(HM_SHARED_DIR) + "/crds/policyreport.yaml", 16 << 20);
  EXPECT_TRUE(text.ok());
  for (const json& doc : testing::yamlDocuments(text.ok() ? *text : "")) {
    if (doc["metadata"]["name"] == crd) {
      for (const json& v : doc["spec"]["versions"]) {
        if (v["name"] == version) {
          return v["schema"]["openAPIV3Schema"];
        }
      }
    }
  }
  ADD_FAILURE() << crd << " " << version << " not in shared/crds/policyreport.yaml";
  return json::object();
}

// What the API server would say about the object: nothing pruned, nothing invalid.
void expectValid(const json& schema, json object) {
  const auto outcome = kubesim::applySchema(schema, object);
  EXPECT_THAT(outcome.unknownFields, ::testing::IsEmpty());
  for (const auto& e : outcome.invalid) {
    ADD_FAILURE() << e.field << ": " << e.message;
  }
}

TEST(NamespaceReportsTest, SplitUnderBothLimitsEachWithItsSummary) {
  ReportOptions options;
  options.now = kNow;
  const auto reports = namespaceReports("shop", manyRows(2500, 10), options);
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports[0]["metadata"]["name"], "harbormaster");
  EXPECT_EQ(reports[1]["metadata"]["name"], "harbormaster-2");
  EXPECT_EQ(reports[2]["metadata"]["name"], "harbormaster-3");
  int64_t pass = 0, fail = 0;
  for (const auto& r : reports) {
    EXPECT_EQ(r["kind"], "PolicyReport");
    EXPECT_EQ(r["apiVersion"], "wgpolicyk8s.io/v1alpha2");
    EXPECT_EQ(r["metadata"]["namespace"], "shop");
    EXPECT_EQ(r["metadata"]["labels"]["app.kubernetes.io/managed-by"], "harbormaster");
    EXPECT_LE(r["results"].size(), 1000u);
    EXPECT_LT(r.dump().size(), 1024u * 1024u) << "far under etcd's 1.5 MiB";
    pass += r["summary"]["pass"].get<int64_t>();
    fail += r["summary"]["fail"].get<int64_t>();
    EXPECT_EQ(r["summary"]["pass"].get<int64_t>() + r["summary"]["fail"].get<int64_t>(),
              static_cast<int64_t>(r["results"].size()));
  }
  EXPECT_EQ(pass, 2250);
  EXPECT_EQ(fail, 250);
  EXPECT_FALSE(reports[0]["metadata"].contains("annotations"));

  // The byte limit splits too, whatever the count.
  options.maxBytesPerReport = 20 * 1024;
  const auto small = namespaceReports("shop", manyRows(200, 10), options);
  EXPECT_GT(small.size(), 1u);
  size_t results = 0;
  for (const auto& r : small) {
    EXPECT_LT(r["results"].dump().size(), 20u * 1024u);
    results += r["results"].size();
  }
  EXPECT_EQ(results, 200u);

  EXPECT_TRUE(namespaceReports("shop", {}, options).empty());
}

TEST(NamespaceReportsTest, OverTheCapPassResultsGoFirstAndItIsSaid) {
  ReportOptions options;
  options.now = kNow;
  options.maxResultsPerReport = 10;
  options.maxReportsPerNamespace = 2;
  const auto reports = namespaceReports("shop", manyRows(30, 6), options);  // 5 fail
  ASSERT_EQ(reports.size(), 2u);
  int64_t fail = 0, listed = 0;
  for (const auto& r : reports) {
    fail += r["summary"]["fail"].get<int64_t>();
    listed += static_cast<int64_t>(r["results"].size());
  }
  EXPECT_EQ(fail, 5) << "every failure stays listed";
  EXPECT_EQ(listed, 20);
  EXPECT_THAT(
      reports[0]["metadata"]["annotations"]["harbormaster.io/omitted-results"].get<std::string>(),
      HasSubstr("10 results not listed"));
}

TEST(NamespaceReportsTest, ReportsAreValidPolicyReportsAndOpenReports) {
  const auto set = policies(kPolicies);
  const auto rows = judge(set, {use("web", "spec.containers[0].image", kWeb,
                                    scan(kWeb.substr(kWeb.find('@') + 1), {"Critical"}))});
  ReportOptions options;
  options.now = kNow;
  const auto reports = namespaceReports("shop", rows, options);
  ASSERT_EQ(reports.size(), 1u);
  expectValid(crdSchema("policyreports.wgpolicyk8s.io", "v1alpha2"), reports[0]);
  const json& first = reports[0]["results"][0];
  EXPECT_EQ(first["resources"][0]["kind"], "Deployment");
  EXPECT_EQ(first["resources"][0]["uid"], "web-uid");
  EXPECT_EQ(first["timestamp"]["seconds"], 1796558400);
  EXPECT_EQ(first["source"], "harbormaster");
  EXPECT_EQ(first["properties"]["container"], "web");

  std::map<std::string, std::vector<ResultRow>> byNamespace = {{"shop", rows}};
  byNamespace["billing"] = judge(
      set, {use("api", "spec.containers[0].image", kDb, scan(kDb.substr(kDb.find('@') + 1), {}))},
      "billing");
  const json cluster = clusterReport(byNamespace, options);
  EXPECT_EQ(cluster["kind"], "ClusterPolicyReport");
  EXPECT_FALSE(cluster["metadata"].contains("namespace"));
  expectValid(crdSchema("clusterpolicyreports.wgpolicyk8s.io", "v1alpha2"), cluster);
  ASSERT_EQ(cluster["results"].size(), 3u);  // advisory, strict, watch
  const json& strict = cluster["results"][1];
  EXPECT_EQ(strict["policy"], "strict");
  EXPECT_EQ(strict["result"], "fail");
  EXPECT_EQ(strict["severity"], "critical");
  EXPECT_THAT(strict["message"].get<std::string>(), HasSubstr("not compliant in shop"));
  EXPECT_THAT(strict["message"].get<std::string>(), ::testing::Not(HasSubstr("billing")));
  EXPECT_EQ(cluster["summary"]["fail"].get<int64_t>() + cluster["summary"]["pass"].get<int64_t>() +
                cluster["summary"]["warn"].get<int64_t>(),
            static_cast<int64_t>(rows.size() + byNamespace["billing"].size()));

  options.apiVersion = "openreports.io/v1alpha1";
  EXPECT_EQ(namespaceReports("shop", rows, options)[0]["kind"], "Report");
  EXPECT_EQ(clusterReport(byNamespace, options)["kind"], "ClusterReport");
}

}  // namespace
}  // namespace hm::compliance

namespace hm::compliance {
namespace {

ResultRow row(const std::string& container, const std::string& check, Result result,
              const std::string& message = "") {
  ResultRow r;
  r.workload = ObjectRef{"apps/v1", "Deployment", "shop", "web", "web-uid"};
  r.container = container;
  r.image = "harbor.example.com/shop/" + container + ":1";
  r.policy = "strict";
  r.check = check;
  r.result = result;
  r.message = message;
  return r;
}

TEST(TransitionsTest, OnlyChangesAreEventsAndAnOutageFlapsNothing) {
  Standings standings;
  Standings next;
  // First pass: web passes (no news), db fails (news: first seen failing).
  auto t = transitions(standings,
                       {row("web", "digest", Result::kPass), row("db", "digest", Result::kPass),
                        row("db", "vulnerabilities", Result::kFail, "has 1 Critical — fix")},
                       next);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].container, "db");
  EXPECT_EQ(t[0].type, "Warning");
  EXPECT_EQ(t[0].reason, "ImageNonCompliant");
  EXPECT_THAT(t[0].note, HasSubstr("\"strict\" (vulnerabilities): has 1 Critical — fix"));
  standings = next;

  // The same again: nothing.
  EXPECT_TRUE(transitions(standings,
                          {row("web", "digest", Result::kPass),
                           row("db", "vulnerabilities", Result::kFail, "has 1 Critical")},
                          next)
                  .empty());
  standings = next;

  // Harbor down: errors keep the standings; no event either way.
  EXPECT_TRUE(transitions(standings,
                          {row("web", "vulnerabilities", Result::kError),
                           row("db", "vulnerabilities", Result::kError)},
                          next)
                  .empty());
  standings = next;

  // db fixed; web newly failing.
  t = transitions(standings,
                  {row("web", "vulnerabilities", Result::kFail, "has 2 High"),
                   row("db", "vulnerabilities", Result::kPass)},
                  next);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].container, "db");
  EXPECT_EQ(t[0].reason, "ImageCompliant");
  EXPECT_EQ(t[0].type, "Normal");
  EXPECT_EQ(t[1].container, "web");
  EXPECT_EQ(t[1].reason, "ImageNonCompliant");
  standings = next;

  // Warnings are admitted: compliant. A workload image gone is forgotten.
  t = transitions(standings, {row("web", "vulnerabilities", Result::kWarn)}, next);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].reason, "ImageCompliant");
  EXPECT_EQ(next.size(), 1u);
}

}  // namespace
}  // namespace hm::compliance
