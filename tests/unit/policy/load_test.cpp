#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harbormaster/base/files.h"
#include "harbormaster/policy/policy.h"
#include "support/temp_dir.h"

namespace hm::policy {
namespace {

using ::testing::HasSubstr;

// A YAML double-quoted scalar holding `text` (PEM keys inline in a policy).
std::string yamlQuoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out + "\"";
}

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
        BadCase{"digest", "  digest: Maybe\n",
                "spec.digest: must be one of Require, Pin, Optional"},
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
        BadCase{"sig-no-attestors", "  signatures: {required: true}\n",
                "spec.signatures.attestors: must list at least one attestor"},
        BadCase{"sig-typo", "  signatures: {attestor: []}\n",
                "spec.signatures.attestor: unknown field"},
        BadCase{"sig-no-name", "  signatures: {tlog: Skip, attestors: [{keys: [/k.pub]}]}\n",
                "spec.signatures.attestors[0].name: is required"},
        BadCase{"sig-both", "  signatures: {attestors: [{name: a, keys: [/k], keyless: {}}]}\n",
                "spec.signatures.attestors[0]: set exactly one of keys and keyless"},
        BadCase{"sig-neither", "  signatures: {attestors: [{name: a}]}\n",
                "spec.signatures.attestors[0]: set exactly one of keys and keyless"},
        BadCase{"sig-key-relative",
                "  signatures: {tlog: Skip, attestors: [{name: a, keys: [k.pub]}]}\n",
                "spec.signatures.attestors[0].keys[0]: must be a PEM public key"},
        BadCase{"sig-key-junk",
                "  signatures: {tlog: Skip, attestors: [{name: a, keys: [\"-----BEGIN PUBLIC "
                "KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n\"]}]}\n",
                "spec.signatures.attestors[0].keys[0]: is not a usable public key"},
        BadCase{"sig-tlog", "  signatures: {tlog: Always, attestors: [{name: a, keys: [/k]}]}\n",
                "spec.signatures.tlog: must be one of Require, Skip"},
        BadCase{"sig-keyless-root",
                "  signatures: {attestors: [{name: a, keyless: {identities: []}}]}\n",
                "spec.signatures.attestors[0].keyless.trustedRoot: is required"},
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
                "kind: must be ClusterImagePolicy, ImagePolicy or ImageException"},
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

const std::string kVectors = std::string(HM_SHARED_DIR) + "/sigstore/vectors";
const std::string kKey = kVectors + "/legacy-tag/keys/cosign.pub";
const std::string kRoot = kVectors + "/trusted-roots/public-good.sigstore-go.json";

std::string signaturesPolicy(const std::string& signatures) {
  return "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: signed}\n"
         "spec:\n  signatures:\n" +
         signatures;
}

TEST(LoadTest, ParsesTheSignaturesSection) {
  const std::string inlineKey = readFile(kVectors + "/legacy-tag/keys/cosign2.pub", 65536).value();
  std::string yaml = signaturesPolicy(
      "    required: false\n"
      "    count: 2\n"
      "    tlog: Require\n"
      "    repository: harbor.example.com/signatures/app\n"
      "    predicateTypes: [\"https://slsa.dev/provenance/v1\"]\n"
      "    attestors:\n"
      "      - name: ci\n"
      "        keys: [\"" +
      kKey + "\", " + yamlQuoted(inlineKey) +
      "]\n"
      "        trustedRoot: " +
      kRoot +
      "\n"
      "      - name: github-actions\n"
      "        keyless:\n"
      "          trustedRoot: " +
      kRoot +
      "\n"
      "          identities:\n"
      "            - {issuer: \"https://token.actions.githubusercontent.com\", subjectRegExp: "
      "\"^https://github.com/acme/.*$\"}\n"
      "            - {issuer: \"https://accounts.google.com\", subject: "
      "\"release@acme.example\"}\n");
  auto set = parsePolicies(yaml, "policy.yaml", {});
  ASSERT_TRUE(set.ok()) << set.status().message();
  const auto& rule = set->policies.at(0).signatures;
  ASSERT_TRUE(rule.has_value());
  EXPECT_FALSE(rule->required);
  EXPECT_EQ(rule->count, 2);
  EXPECT_EQ(rule->tlog, TlogRule::kRequire);
  EXPECT_EQ(rule->repository, "harbor.example.com/signatures/app");
  EXPECT_EQ(rule->predicateTypes, std::vector<std::string>{"https://slsa.dev/provenance/v1"});
  ASSERT_EQ(rule->attestors.size(), 2u);
  const Attestor& ci = rule->attestors[0];
  EXPECT_EQ(ci.name, "ci");
  ASSERT_EQ(ci.keys.size(), 2u);
  EXPECT_EQ(ci.keys[0], readFile(kKey, 65536).value()) << "a key file is read at load time";
  EXPECT_EQ(ci.keys[1], inlineKey);
  EXPECT_EQ(ci.trustedRoot, readFile(kRoot, 1 << 22).value());
  const Attestor& gha = rule->attestors[1];
  ASSERT_EQ(gha.identities.size(), 2u);
  EXPECT_EQ(gha.identities[0].subjectRegExp, "^https://github.com/acme/.*$");
  EXPECT_EQ(gha.identities[1].subject, "release@acme.example");
  EXPECT_EQ(gha.trustedRootFile, kRoot);
  EXPECT_EQ(set->files.count(kKey), 1u) << "files are remembered for reloads";
  EXPECT_EQ(set->files.count(kRoot), 1u);
  EXPECT_EQ(rule->fingerprint.size(), 32u);
}

TEST(LoadTest, SignatureDefaultsAndFingerprints) {
  auto load = [](const std::string& signatures) {
    auto set = parsePolicies(signaturesPolicy(signatures), "p.yaml", {});
    EXPECT_TRUE(set.ok()) << set.status().message();
    return set.ok() ? *set->policies.at(0).signatures : SignatureRule{};
  };
  SignatureRule a = load("    tlog: Skip\n    attestors: [{name: ci, keys: [" + kKey + "]}]\n");
  EXPECT_TRUE(a.required);
  EXPECT_EQ(a.count, 1);
  EXPECT_EQ(a.predicateTypes, std::vector<std::string>{std::string(kCosignSignPredicate)});
  EXPECT_EQ(a.tlog, TlogRule::kSkip);
  EXPECT_TRUE(a.repository.empty());
  EXPECT_EQ(load("    tlog: Skip\n    attestors: [{name: ci, keys: [" + kKey + "]}]\n").fingerprint,
            a.fingerprint)
      << "the same rule, the same fingerprint";
  EXPECT_NE(
      load("    tlog: Skip\n    attestors: [{name: other, keys: [" + kKey + "]}]\n").fingerprint,
      a.fingerprint);
  EXPECT_NE(load("    attestors: [{name: ci, keys: [" + kKey + "], trustedRoot: " + kRoot + "}]\n")
                .fingerprint,
            a.fingerprint);
  EXPECT_NE(load("    tlog: Skip\n    repository: r.example.com/sigs\n"
                 "    attestors: [{name: ci, keys: [" +
                 kKey + "]}]\n")
                .fingerprint,
            a.fingerprint);
}

TEST(LoadTest, BadSignatureSectionsNameTheFieldAndProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"    attestors: [{name: ci, keys: [" + kKey + "]}]\n",
       "spec.signatures.attestors[0].trustedRoot: is required with tlog: Require"},
      {"    tlog: Skip\n    count: 2\n    attestors: [{name: ci, keys: [" + kKey + "]}]\n",
       "spec.signatures.count: must be a whole number from 1 to the number of attestors (1)"},
      {"    tlog: Skip\n    count: 0\n    attestors: [{name: ci, keys: [" + kKey + "]}]\n",
       "spec.signatures.count"},
      {"    tlog: Skip\n    attestors: [{name: ci, keys: [" + kKey + "]}, {name: ci, keys: [" +
           kKey + "]}]\n",
       "spec.signatures.attestors[1].name: attestor \"ci\" is defined twice"},
      {"    tlog: Skip\n    predicateTypes: []\n    attestors: [{name: ci, keys: [" + kKey +
           "]}]\n",
       "spec.signatures.predicateTypes: must list at least one predicate type"},
      {"    tlog: Skip\n    repository: \"r.example.com/sigs:v1\"\n"
       "    attestors: [{name: ci, keys: [" +
           kKey + "]}]\n",
       "spec.signatures.repository: \"r.example.com/sigs:v1\" must be a repository without tag"},
      {"    attestors: [{name: gha, keyless: {trustedRoot: " + kRoot + "}}]\n",
       "spec.signatures.attestors[0].keyless.identities: must list at least one"},
      {"    attestors: [{name: gha, keyless: {trustedRoot: " + kRoot +
           ", identities: [{subject: x}]}}]\n",
       "spec.signatures.attestors[0].keyless.identities[0].issuer: is required"},
      {"    attestors: [{name: gha, keyless: {trustedRoot: " + kRoot +
           ", identities: [{issuer: i}]}}]\n",
       "spec.signatures.attestors[0].keyless.identities[0]: set exactly one of subject and "
       "subjectRegExp"},
      {"    attestors: [{name: gha, keyless: {trustedRoot: " + kRoot +
           ", identities: [{issuer: i, subjectRegExp: \"(\"}]}}]\n",
       "spec.signatures.attestors[0].keyless.identities[0].subjectRegExp: is not a valid regular "
       "expression (Go/RE2 syntax)"},
      // Not Go syntax (backtracking-only constructs), and a pattern past the length limit.
      {"    attestors: [{name: gha, keyless: {trustedRoot: " + kRoot +
           ", identities: [{issuer: i, subjectRegExp: \"^(a)\\\\1$\"}]}}]\n",
       "subjectRegExp: is not a valid regular expression (Go/RE2 syntax)"},
      {"    attestors: [{name: gha, keyless: {trustedRoot: " + kRoot +
           ", identities: [{issuer: i, subjectRegExp: \"" + std::string(1025, 'a') + "\"}]}}]\n",
       "subjectRegExp: is 1025 bytes long; a regular expression may have at most 1024"},
      {"    attestors: [{name: gha, trustedRoot: " + kRoot + ", keyless: {trustedRoot: " + kRoot +
           ", identities: [{issuer: i, subject: s}]}}]\n",
       "spec.signatures.attestors[0].trustedRoot: belongs under keyless"},
  };
  for (const auto& [yaml, want] : cases) {
    auto set = parsePolicies(signaturesPolicy(yaml), "p.yaml", {});
    ASSERT_FALSE(set.ok()) << yaml;
    EXPECT_THAT(set.status().message(), HasSubstr("p.yaml, document 1 (ImagePolicy \"signed\")"));
    EXPECT_THAT(set.status().message(), HasSubstr(want)) << yaml;
  }
}

TEST(LoadTest, IdentityPatternsAreCompiledOnceAndUnanchoredOnesWarned) {
  auto set = parsePolicies(
      signaturesPolicy("    attestors: [{name: gha, keyless: {trustedRoot: " + kRoot +
                       ", identities: [{issuer: i, subjectRegExp: \"^https://github\\\\.com/"
                       "acme/.*$\"}, {issuer: i, subjectRegExp: \"github.com/acme/\"}]}}]\n"),
      "p.yaml", {});
  ASSERT_TRUE(set.ok()) << set.status().message();
  const ImagePolicy& p = set->policies.at(0);
  const auto& ids = p.signatures->attestors[0].identities;
  ASSERT_TRUE(ids[0].subjectPattern.has_value());
  EXPECT_TRUE(ids[0].subjectPattern->search("https://github.com/acme/app@refs/tags/v1"));
  EXPECT_FALSE(ids[0].subjectPattern->search("https://github.com/evil/acme/app"));
  // Loads, but status and check say what an unanchored pattern trusts.
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_THAT(p.warnings[0],
              HasSubstr("attestors[0].keyless.identities[1].subjectRegExp: \"github.com/acme/\" "
                        "is not anchored with ^…$"));
  EXPECT_TRUE(p.unenforceable.empty());
}

// A referenced file that does not load is not a spec error: the policy stands, is never
// skipped, and says why it cannot be enforced.
TEST(LoadTest, APolicyWhoseFileDoesNotLoadCannotBeEnforced) {
  hm::testing::TempDir dir;
  const std::string key = dir.file("cosign.pub");
  auto load = [](const std::string& signatures) {
    auto set = parsePolicies(signaturesPolicy(signatures), "p.yaml", {});
    EXPECT_TRUE(set.ok()) << set.status().message();
    return set.ok() ? *set : PolicySet{};
  };
  PolicySet missing = load("    tlog: Skip\n    attestors: [{name: ci, keys: [" + key + "]}]\n");
  ASSERT_EQ(missing.policies.size(), 1u);
  EXPECT_EQ(missing.policies[0].unenforceable,
            "cannot be enforced: spec.signatures.attestors[0].keys[0]: cannot open " + key +
                ": No such file or directory");
  EXPECT_EQ(missing.files.count(key), 1u) << "remembered, so its arrival reloads the policy";
  EXPECT_NE(missing.files[key], snapshotReferencedFile(kKey));

  PolicySet junkRoot =
      load("    attestors: [{name: ci, keys: [" + kKey + "], trustedRoot: " + kKey + "}]\n");
  EXPECT_THAT(junkRoot.policies[0].unenforceable,
              HasSubstr("spec.signatures.attestors[0].trustedRoot: " + kKey +
                        " is not a usable Sigstore trusted root"));

  dir.write("cosign.pub", "not a key");
  PolicySet junkKey = load("    tlog: Skip\n    attestors: [{name: ci, keys: [" + key + "]}]\n");
  EXPECT_THAT(junkKey.policies[0].unenforceable,
              HasSubstr("attestors[0].keys[0]: " + key + " is not a usable public key"));
  EXPECT_EQ(junkKey.files[key], "not a key");

  dir.write("cosign.pub", readFile(kKey, 65536).value());
  PolicySet fine = load("    tlog: Skip\n    attestors: [{name: ci, keys: [" + key + "]}]\n");
  EXPECT_TRUE(fine.policies[0].unenforceable.empty());
  EXPECT_EQ(fine.files[key], snapshotReferencedFile(key));
}

TEST(LoadTest, DigestOptionalAndItsOldNameOff) {
  auto digest = [](const std::string& value) {
    return parsePolicies(
        "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: p}\n"
        "spec: {digest: " +
            value + "}\n",
        "p.yaml", {});
  };
  for (const char* v : {"Optional", "Off", "\"Off\""}) {
    auto set = digest(v);
    ASSERT_TRUE(set.ok()) << v << ": " << set.status().message();
    EXPECT_EQ(set->policies[0].digest, DigestRule::kOptional) << v;
  }
  auto yaml11 = digest("false");  // what a YAML 1.1 reader made of a bare Off
  ASSERT_FALSE(yaml11.ok());
  EXPECT_THAT(yaml11.status().message(),
              HasSubstr("spec.digest: must be one of Require, Pin, Optional, got false (a YAML "
                        "1.1 reader turned an unquoted Off into false: write Optional)"));
  auto typo = digest("optional");
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(typo.status().message(),
              HasSubstr("must be one of Require, Pin, Optional, got \"optional\""));
}

TEST(LoadTest, RegistryHostsInPatternsAreNormalised) {
  auto set = parsePolicies(
      "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: p}\nspec:\n"
      "  match: {images: [\"HARBOR.Example.com:443/shop/**\", \"library/nginx:*\"]}\n"
      "  exclude: {images: [\"Harbor.example.com/shop/tools:*\"]}\n"
      "  registries: [\"HARBOR.example.com:443\", \"quay.io:8443\"]\n"
      "  exceptions: [{images: [\"harbor.EXAMPLE.com:443/shop/legacy\"], checks: [digest], "
      "reason: r}]\n",
      "p.yaml", {});
  ASSERT_TRUE(set.ok()) << set.status().message();
  const ImagePolicy& p = set->policies[0];
  EXPECT_EQ(p.match.images,
            (std::vector<std::string>{"harbor.example.com/shop/**", "library/nginx:*"}));
  EXPECT_EQ(p.exclude.images, std::vector<std::string>{"harbor.example.com/shop/tools:*"});
  EXPECT_EQ(p.registries, (std::vector<std::string>{"harbor.example.com", "quay.io:8443"}));
  EXPECT_EQ(p.exceptions[0].images, std::vector<std::string>{"harbor.example.com/shop/legacy"});
}

TEST(LoadTest, SignaturesCanBeExcepted) {
  auto set = parsePolicies(
      "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: p}\nspec:\n"
      "  exceptions: [{checks: [signatures], reason: vendor image}]\n",
      "p.yaml", {});
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->policies[0].exceptions[0].checks, std::vector<Check>{Check::kSignatures});
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
