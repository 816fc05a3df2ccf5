// judgeScan: Harbor's pull-time rule plus spec.vulnerabilities, as a table over plain facts.
#include "harbormaster/policy/scan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm::policy {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const WallTime kNow = *parseRfc3339("2026-11-23T12:00:00Z");
constexpr int64_t kNowUnix = 1795435200;  // 2026-11-23T12:00:00Z

VulnerabilityRule rule(int severity = 4) {
  VulnerabilityRule r;
  r.severity = severity;
  return r;
}

ScanFinding finding(std::string id, std::string severity, std::string fix = "1.1") {
  return {std::move(id), "openssl", "1.0", std::move(fix), std::move(severity)};
}

ScanFacts scanned(std::vector<ScanFinding> findings) {
  ScanFacts f;
  f.digest = "sha256:" + std::string(64, 'a');
  f.uiLink =
      "https://harbor.example.com/harbor/projects/1/repositories/web/artifacts-tab/"
      "artifacts/" +
      f.digest;
  ArtifactScan a;
  a.digest = f.digest;
  a.state = ScanState::kSuccess;
  a.status = "Success";
  a.total = static_cast<int64_t>(findings.size());
  a.findings = std::move(findings);
  f.artifacts.push_back(std::move(a));
  f.project.name = "shop";
  return f;
}

ScanFacts inState(ScanState state, std::string status) {
  ScanFacts f = scanned({});
  f.artifacts[0].state = state;
  f.artifacts[0].status = std::move(status);
  return f;
}

TEST(SeverityTest, UsesHarborsScale) {
  EXPECT_EQ(severityCode("None"), 0);
  EXPECT_EQ(severityCode("Unknown"), 0);
  EXPECT_EQ(severityCode("negligible"), 1);
  EXPECT_EQ(severityCode("Low"), 2);
  EXPECT_EQ(severityCode("MEDIUM"), 3);
  EXPECT_EQ(severityCode("High"), 4);
  EXPECT_EQ(severityCode("Critical"), 5);
  EXPECT_EQ(severityCode("Apocalyptic"), 99) << "unrecognised severities rank above Critical";
}

TEST(JudgeScanTest, DeniesFindingsAtOrAboveTheThresholdAndNamesThem) {
  auto problems = judgeScan(rule(),
                            scanned({finding("CVE-1", "High"), finding("CVE-2", "Medium"),
                                     finding("CVE-3", "Critical", "")}),
                            kNow);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_FALSE(problems[0].warnOnly);
  EXPECT_THAT(problems[0].problem, HasSubstr("has 1 Critical, 1 High findings"));
  EXPECT_THAT(problems[0].problem, HasSubstr("policy allows up to Medium"));
  EXPECT_THAT(problems[0].problem, HasSubstr("CVE-3 Critical in openssl 1.0 (no fix yet)"));
  EXPECT_THAT(problems[0].problem, Not(HasSubstr("CVE-2"))) << "Medium is under the threshold";
  EXPECT_THAT(problems[0].fix, HasSubstr("artifacts-tab/artifacts/sha256:"));
}

TEST(JudgeScanTest, ShowsTheTopFiveFindingsWorstFirst) {
  std::vector<ScanFinding> many;
  for (int i = 0; i < 6; ++i) {
    many.push_back(finding("CVE-H" + std::to_string(i), "High"));
  }
  many.push_back(finding("CVE-C", "Critical"));
  auto problems = judgeScan(rule(), scanned(many), kNow);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].problem, HasSubstr(": CVE-C Critical"));
  EXPECT_THAT(problems[0].problem, HasSubstr("and 2 more"));
}

TEST(JudgeScanTest, UnknownFindingsPassALowThresholdButNotNone) {
  auto facts = scanned({finding("CVE-U", "Unknown")});
  EXPECT_THAT(judgeScan(rule(2), facts, kNow), IsEmpty());
  EXPECT_EQ(judgeScan(rule(0), facts, kNow).size(), 1u);
}

TEST(JudgeScanTest, PolicyAllowlistEntriesExpire) {
  auto facts = scanned({finding("CVE-1", "High")});
  VulnerabilityRule r = rule();
  r.allowlist.push_back({"CVE-1", kNow + std::chrono::hours(1), "SEC-1"});
  EXPECT_THAT(judgeScan(r, facts, kNow), IsEmpty());
  r.allowlist[0].expires = kNow - std::chrono::hours(1);
  EXPECT_EQ(judgeScan(r, facts, kNow).size(), 1u) << "an expired entry no longer covers";
}

TEST(JudgeScanTest, HarborAllowlistsFollowReuseAndExpiry) {
  auto facts = scanned({finding("CVE-1", "High")});
  facts.systemAllowlist.items = {"CVE-1"};
  EXPECT_THAT(judgeScan(rule(), facts, kNow), IsEmpty()) << "the system list, reused by default";
  facts.systemAllowlist.expiresAt = kNowUnix - 1;
  EXPECT_EQ(judgeScan(rule(), facts, kNow).size(), 1u) << "an expired list is ignored whole";
  facts.project.reuseSystemAllowlist = false;
  facts.project.allowlist.items = {"CVE-1"};
  EXPECT_THAT(judgeScan(rule(), facts, kNow), IsEmpty()) << "the project's own list";
  VulnerabilityRule strict = rule();
  strict.harborAllowlists = false;
  EXPECT_EQ(judgeScan(strict, facts, kNow).size(), 1u);
  facts.project.allowlist.items = {"cve-1"};
  EXPECT_EQ(judgeScan(rule(), facts, kNow).size(), 1u) << "matching is case-sensitive";
}

TEST(JudgeScanTest, FixableOnlyAndMaxCounts) {
  auto facts = scanned({finding("CVE-1", "High", ""), finding("CVE-2", "Medium"),
                        finding("CVE-3", "Medium"), finding("CVE-4", "Medium")});
  VulnerabilityRule r = rule();
  r.fixableOnly = true;
  EXPECT_THAT(judgeScan(r, facts, kNow), IsEmpty()) << "the High has no fix";
  r.maxCounts["Medium"] = 2;
  auto problems = judgeScan(r, facts, kNow);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].problem, HasSubstr("has 3 Medium findings; policy allows at most 2"));
  VulnerabilityRule capsOnly;
  capsOnly.maxCounts["Critical"] = 0;
  EXPECT_THAT(judgeScan(capsOnly, facts, kNow), IsEmpty());
}

TEST(JudgeScanTest, EachScanStateHasItsOwnOutcomeAndWording) {
  struct Case {
    ScanState state;
    std::string status;
    ScanStateAction VulnerabilityRule::*field;
    std::string wording;
  };
  for (const Case& c : {Case{ScanState::kNotScanned, "not scanned", &VulnerabilityRule::notScanned,
                             "has not been scanned"},
                        Case{ScanState::kPending, "Running", &VulnerabilityRule::pending,
                             "is still being scanned (Harbor says Running)"},
                        Case{ScanState::kFailed, "Error", &VulnerabilityRule::failed,
                             "has a failed scan (Harbor says Error)"},
                        Case{ScanState::kUnsupported, "not scannable",
                             &VulnerabilityRule::unsupported, "cannot be scanned"}}) {
    auto facts = inState(c.state, c.status);
    VulnerabilityRule r = rule();
    r.*c.field = ScanStateAction::kDeny;
    auto denied = judgeScan(r, facts, kNow);
    ASSERT_EQ(denied.size(), 1u) << c.wording;
    EXPECT_FALSE(denied[0].warnOnly);
    EXPECT_THAT(denied[0].problem, HasSubstr(c.wording));
    r.*c.field = ScanStateAction::kWarn;
    auto warned = judgeScan(r, facts, kNow);
    ASSERT_EQ(warned.size(), 1u);
    EXPECT_TRUE(warned[0].warnOnly);
    r.*c.field = ScanStateAction::kAllow;
    EXPECT_THAT(judgeScan(r, facts, kNow), IsEmpty()) << c.wording;
  }
}

TEST(JudgeScanTest, ScanAndDenySaysWhenToRetry) {
  auto facts = inState(ScanState::kNotScanned, "not scanned");
  facts.scanTriggered = true;
  VulnerabilityRule r = rule();
  r.notScanned = ScanStateAction::kScanAndDeny;
  auto problems = judgeScan(r, facts, kNow);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].problem, HasSubstr("asked Harbor to scan it, retry in about 60 s"));
}

TEST(JudgeScanTest, ProjectPreventVulAddsHarborsOwnFloor) {
  auto facts = scanned({finding("CVE-1", "Medium")});
  facts.project.preventVulnerable = true;
  facts.project.severity = "medium";
  auto problems = judgeScan(rule(), facts, kNow);
  ASSERT_EQ(problems.size(), 1u) << "policy says High, Harbor's project says medium";
  EXPECT_THAT(problems[0].problem, HasSubstr("Harbor project shop prevents vulnerable images"));
  VulnerabilityRule off = rule();
  off.projectPolicy = false;
  EXPECT_THAT(judgeScan(off, facts, kNow), IsEmpty());
  facts.project.severity = "";
  facts.artifacts[0].findings = {finding("CVE-U", "Unknown")};
  EXPECT_EQ(judgeScan(rule(), facts, kNow).size(), 1u)
      << "no project severity parses as Unknown: any finding blocks, as in Harbor";
  // The floor ignores the policy's allowlist and fixableOnly (Harbor knows neither).
  facts.project.severity = "high";
  facts.artifacts[0].findings = {finding("CVE-1", "High", "")};
  VulnerabilityRule lenient = rule(5);
  lenient.allowlist.push_back({"CVE-1", std::nullopt, "accepted"});
  EXPECT_EQ(judgeScan(lenient, facts, kNow).size(), 1u);
  // But Harbor's own allowlist covers it.
  facts.systemAllowlist.items = {"CVE-1"};
  EXPECT_THAT(judgeScan(lenient, facts, kNow), IsEmpty());
  // An unscanned image in such a project fails at pull time, whatever notScanned says.
  auto unscanned = inState(ScanState::kNotScanned, "not scanned");
  unscanned.project = facts.project;
  VulnerabilityRule allowUnscanned = rule();
  allowUnscanned.notScanned = ScanStateAction::kAllow;
  auto floor = judgeScan(allowUnscanned, unscanned, kNow);
  ASSERT_EQ(floor.size(), 1u);
  EXPECT_THAT(floor[0].problem, HasSubstr("so the pull would fail"));
}

TEST(JudgeScanTest, IndexChildrenAreJudgedOneByOne) {
  auto facts = scanned({});
  facts.isIndex = true;
  facts.artifacts[0].platform = "linux/amd64";
  ArtifactScan arm = facts.artifacts[0];
  arm.platform = "linux/arm64";
  arm.digest = "sha256:" + std::string(64, 'b');
  arm.state = ScanState::kFailed;
  arm.status = "Error";
  facts.artifacts.push_back(arm);
  auto problems = judgeScan(rule(), facts, kNow);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].problem, HasSubstr("platform linux/arm64 (sha256:bbbbbbbbbbbb"));
  EXPECT_THAT(problems[0].problem, HasSubstr("has a failed scan"));
}

TEST(JudgeScanTest, HarborOutagesFollowHarborUnreachable) {
  ScanFacts down;
  down.source = ScanFacts::Source::kUnreachable;
  down.error = "connection refused";
  VulnerabilityRule r = rule();
  auto denied = judgeScan(r, down, kNow);
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_THAT(denied[0].problem, HasSubstr("Harbor is unreachable (connection refused)"));
  EXPECT_THAT(denied[0].problem, Not(HasSubstr("finding"))) << "an outage is not a vulnerability";
  r.harborUnreachable = UnreachableAction::kAllow;
  auto allowed = judgeScan(r, down, kNow);
  ASSERT_EQ(allowed.size(), 1u);
  EXPECT_TRUE(allowed[0].warnOnly);
  r.harborUnreachable = UnreachableAction::kAllowIfCached;
  EXPECT_THAT(judgeScan(r, down, kNow)[0].problem, HasSubstr("no earlier scan"));
  // With the last facts seen, AllowIfCached judges them.
  ScanFacts cached = scanned({finding("CVE-1", "Low")});
  cached.source = ScanFacts::Source::kUnreachable;
  cached.error = "timeout";
  cached.stale = true;
  EXPECT_THAT(judgeScan(r, cached, kNow), IsEmpty());
  cached.artifacts[0].findings = {finding("CVE-1", "Critical")};
  auto staleDenied = judgeScan(r, cached, kNow);
  ASSERT_EQ(staleDenied.size(), 1u);
  EXPECT_THAT(staleDenied[0].problem, HasSubstr("from the last scan seen"));

  ScanFacts refused;
  refused.source = ScanFacts::Source::kCredentials;
  refused.error = "user robot$ci rejected";
  EXPECT_THAT(judgeScan(rule(), refused, kNow)[0].problem,
              HasSubstr("Harbor refused Harbormaster's credentials (user robot$ci rejected)"));
}

}  // namespace
}  // namespace hm::policy
