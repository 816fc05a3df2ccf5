#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harbormaster/policy/policy.h"

namespace hm::policy {
namespace {

using ::testing::HasSubstr;

constexpr const char* kFull = R"(
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: production}
spec:
  mode: Enforce
  match:   {namespaces: ["prod-*"], images: ["harbor.example.com/**"]}
  exclude: {namespaces: ["prod-sandbox"], images: []}
  registries: ["harbor.example.com", "Index.Docker.IO"]
  digest: Require
  onUpdate: CheckAllImages
  exceptions:
    - {images: ["harbor.example.com/legacy/**"], namespaces: ["prod-legacy"], checks: [digest],
       expires: "2026-12-31T00:00:00Z", reason: "OPS-123 migration"}
---
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: warn-all}
spec:
  mode: Warn
---
)";

TEST(LoadTest, ParsesEveryField) {
  auto set = parsePolicies(kFull, "policy.yaml", {.ownNamespace = "harbormaster"});
  ASSERT_TRUE(set.ok()) << set.status().message();
  ASSERT_EQ(set->policies.size(), 2u);
  const ImagePolicy& p = set->policies[0];
  EXPECT_EQ(p.name, "production");
  EXPECT_EQ(p.source, "policy.yaml, document 1");
  EXPECT_EQ(p.mode, Mode::kEnforce);
  EXPECT_EQ(p.match.namespaces, std::vector<std::string>{"prod-*"});
  EXPECT_EQ(p.match.images, std::vector<std::string>{"harbor.example.com/**"});
  EXPECT_EQ(p.exclude.namespaces, std::vector<std::string>{"prod-sandbox"});
  EXPECT_EQ(p.registries, (std::vector<std::string>{"harbor.example.com", "docker.io"}));
  EXPECT_EQ(p.digest, DigestRule::kRequire);
  EXPECT_EQ(p.onUpdate, UpdateRule::kCheckAll);
  ASSERT_EQ(p.exceptions.size(), 1u);
  EXPECT_EQ(p.exceptions[0].checks, std::vector<Check>{Check::kDigest});
  ASSERT_TRUE(p.exceptions[0].expires.has_value());
  EXPECT_EQ(formatRfc3339(*p.exceptions[0].expires), "2026-12-31T00:00:00Z");
  EXPECT_EQ(p.exceptions[0].reason, "OPS-123 migration");

  const ImagePolicy& w = set->policies[1];
  EXPECT_EQ(w.mode, Mode::kWarn);
  EXPECT_EQ(w.digest, DigestRule::kRequire) << "digest defaults to Require";
  EXPECT_EQ(w.onUpdate, UpdateRule::kSkipUnchanged);
  EXPECT_EQ(set->defaultExcludedNamespaces,
            (std::vector<std::string>{"kube-system", "harbormaster"}));
}

struct BadCase {
  std::string name;
  std::string spec;  // YAML under "spec:", or a whole document when it starts with "!"
  std::string mentions;
};

class BadPolicyTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadPolicyTest, NamesDocumentFieldAndProblem) {
  const BadCase& c = GetParam();
  std::string doc = c.spec.rfind("!", 0) == 0
                        ? c.spec.substr(1)
                        : "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\n"
                          "metadata: {name: p1}\nspec:\n" +
                              c.spec;
  auto set = parsePolicies(doc, "bad.yaml", {});
  ASSERT_FALSE(set.ok()) << c.name;
  EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(set.status().message(), HasSubstr("bad.yaml")) << c.name;
  EXPECT_THAT(set.status().message(), HasSubstr(c.mentions)) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadPolicyTest,
    ::testing::Values(
        BadCase{"mode", "  mode: enforce\n", "spec.mode: must be one of Enforce, Warn, Audit"},
        BadCase{"typo", "  digets: Require\n", "spec.digets: unknown field"},
        BadCase{"digest", "  digest: Maybe\n", "spec.digest: must be one of Require, Off"},
        BadCase{"match-type", "  match: [a]\n", "spec.match: must be a mapping"},
        BadCase{"match-field", "  match: {namespace: [a]}\n", "spec.match.namespace: unknown"},
        BadCase{"images-type", "  match: {images: \"a\"}\n", "spec.match.images: must be a list"},
        BadCase{"images-empty", "  match: {images: [\"\"]}\n", "spec.match.images[0]"},
        BadCase{"registry-path", "  registries: [\"harbor.example.com/shop\"]\n",
                "spec.registries[0]"},
        BadCase{"exception-check", "  exceptions: [{checks: [sbom], reason: r}]\n",
                "unknown check \"sbom\""},
        BadCase{"exception-nochecks", "  exceptions: [{reason: r}]\n",
                "spec.exceptions[0].checks: must name at least one check"},
        BadCase{"exception-reason", "  exceptions: [{checks: [digest]}]\n",
                "spec.exceptions[0].reason: is required"},
        BadCase{"exception-expires",
                "  exceptions: [{checks: [digest], reason: r, expires: soon}]\n",
                "spec.exceptions[0].expires"},
        BadCase{"exceptions-type", "  exceptions: {a: b}\n", "spec.exceptions: must be a list"},
        BadCase{"later-section", "  signatures: {required: true}\n",
                "spec.signatures: is not supported by this version"},
        BadCase{"vuln-severity", "  vulnerabilities: {severity: Severe}\n",
                "spec.vulnerabilities.severity: must be one of None, Low, Medium, High, Critical"},
        BadCase{"vuln-empty", "  vulnerabilities: {fixableOnly: true}\n",
                "spec.vulnerabilities: set severity"},
        BadCase{"vuln-typo", "  vulnerabilities: {severity: High, notscanned: Deny}\n",
                "spec.vulnerabilities.notscanned: unknown field"},
        BadCase{"vuln-caps", "  vulnerabilities: {maxCounts: {High: -1}}\n",
                "spec.vulnerabilities.maxCounts.High: must be a whole number"},
        BadCase{"vuln-cap-key", "  vulnerabilities: {maxCounts: {Severe: 1}}\n",
                "spec.vulnerabilities.maxCounts.Severe: unknown field"},
        BadCase{"vuln-scan-pending", "  vulnerabilities: {severity: High, pending: ScanAndDeny}\n",
                "spec.vulnerabilities.pending: must be one of Deny, Warn, Allow"},
        BadCase{"vuln-allow-reason",
                "  vulnerabilities: {severity: High, allowlist: [{id: CVE-2024-1}]}\n",
                "spec.vulnerabilities.allowlist[0].reason: is required"},
        BadCase{"vuln-allow-expiry",
                "  vulnerabilities: {severity: High, allowlist: [{id: CVE-1, reason: r, expires: "
                "soon}]}\n",
                "spec.vulnerabilities.allowlist[0].expires"},
        BadCase{"vuln-bool", "  vulnerabilities: {severity: High, fixableOnly: yes}\n",
                "spec.vulnerabilities.fixableOnly: must be true or false"},
        BadCase{"vuln-unreachable",
                "  vulnerabilities: {severity: High, harborUnreachable: Maybe}\n",
                "spec.vulnerabilities.harborUnreachable"},
        BadCase{"onUpdate", "  onUpdate: Sometimes\n", "spec.onUpdate"},
        BadCase{"no-spec",
                "!apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\n"
                "metadata: {name: p}\n",
                "spec: is required"},
        BadCase{"apiVersion", "!apiVersion: v1\nkind: ImagePolicy\nmetadata: {name: p}\nspec: {}\n",
                "apiVersion: must be harbormaster.io/v1alpha1"},
        BadCase{"kind",
                "!apiVersion: harbormaster.io/v1alpha1\nkind: Policy\nmetadata: {name: p}\n"
                "spec: {}\n",
                "kind: must be ImagePolicy"},
        BadCase{"name",
                "!apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\n"
                "metadata: {name: Prod_1}\nspec: {}\n",
                "metadata.name"},
        BadCase{"no-name",
                "!apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\n"
                "metadata: {}\nspec: {}\n",
                "metadata.name: is required"},
        BadCase{"yaml", "!apiVersion: [unclosed\n", "not valid YAML"},
        BadCase{"top-level-list", "!- a\n- b\n", "must be a mapping"},
        BadCase{"duplicate",
                "!apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: p}\n"
                "spec: {}\n---\napiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\n"
                "metadata: {name: p}\nspec: {}\n",
                "document 2: metadata.name: ImagePolicy \"p\" "
                "is defined twice"}));

TEST(LoadTest, ErrorNamesThePolicyAndDocument) {
  std::string text = std::string(kFull) +
                     "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\n"
                     "metadata: {name: third}\nspec: {mode: Sometimes}\n";
  auto set = parsePolicies(text, "policy.yaml", {});
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(),
              HasSubstr("policy.yaml, document 3 (ImagePolicy \"third\"): spec.mode"));
}

TEST(LoadTest, ParsesTheVulnerabilitiesSection) {
  auto set = parsePolicies(R"(apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: scans}
spec:
  vulnerabilities:
    severity: High
    maxCounts: {Critical: 0, High: 3}
    fixableOnly: true
    notScanned: ScanAndDeny
    pending: Warn
    failed: Deny
    unsupported: Allow
    allowlist:
      - {id: CVE-2024-0001, expires: "2026-12-31T00:00:00Z", reason: "not reachable, SEC-42"}
    harborAllowlists: false
    projectPolicy: false
    harborUnreachable: AllowIfCached
  exceptions:
    - {images: ["legacy/**"], checks: [vulnerabilities], reason: "SEC-7"}
)",
                           "p.yaml", {});
  ASSERT_TRUE(set.ok()) << set.status().message();
  const auto& v = set->policies[0].vulnerabilities;
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->severity, 4);
  EXPECT_EQ(v->maxCounts.at("Critical"), 0);
  EXPECT_EQ(v->maxCounts.at("High"), 3);
  EXPECT_TRUE(v->fixableOnly);
  EXPECT_EQ(v->notScanned, ScanStateAction::kScanAndDeny);
  EXPECT_EQ(v->pending, ScanStateAction::kWarn);
  EXPECT_FALSE(v->harborAllowlists);
  EXPECT_FALSE(v->projectPolicy);
  EXPECT_EQ(v->harborUnreachable, UnreachableAction::kAllowIfCached);
  ASSERT_EQ(v->allowlist.size(), 1u);
  EXPECT_EQ(v->allowlist[0].id, "CVE-2024-0001");
  EXPECT_TRUE(v->allowlist[0].expires.has_value());
  EXPECT_EQ(set->policies[0].exceptions[0].checks[0], Check::kVulnerabilities);
}

TEST(LoadTest, EmptyFileHasNoPolicies) {
  auto set = parsePolicies("", "empty.yaml", {});
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->policies.empty());
}

TEST(LoadTest, MissingFileIsNotFound) {
  auto set = loadPolicyFile("/nonexistent/policy.yaml", {});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(set.status().message(), HasSubstr("/nonexistent/policy.yaml"));
}

}  // namespace
}  // namespace hm::policy
