#include "harbormaster/policy/evaluate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kDigest = "sha256:" + std::string(64, 'c');

WallTime at(const char* rfc3339) {
  return *parseRfc3339(rfc3339);
}

// Fixture builder: a policy by name plus modifiers.
ImagePolicy policyNamed(std::string name, Mode mode = Mode::kEnforce) {
  ImagePolicy p;
  p.name = std::move(name);
  p.mode = mode;
  return p;
}

PolicySet setOf(std::vector<ImagePolicy> policies, std::string ownNamespace = "harbormaster") {
  PolicySet s;
  s.policies = std::move(policies);
  s.defaultExcludedNamespaces = {"kube-system", ownNamespace};
  return s;
}

ImageUse use(std::string image, std::string container = "app", bool unchanged = false) {
  ImageUse u;
  u.container = std::move(container);
  u.path = "spec.containers[0].image";
  u.image = std::move(image);
  u.unchanged = unchanged;
  return u;
}

TEST(EvaluateTest, DeniesTagAndAllowsDigest) {
  auto set = setOf({policyNamed("production")});
  auto now = at("2026-01-01T00:00:00Z");
  Evaluation tagged = evaluate(set, "shop", {use("harbor.example.com/shop/web:1.4", "web")}, now);
  ASSERT_EQ(tagged.findings.size(), 1u);
  EXPECT_TRUE(tagged.denied());
  EXPECT_EQ(tagged.findings[0].check, Check::kDigest);
  EXPECT_EQ(describe(tagged.findings[0]),
            "container \"web\" (spec.containers[0].image) harbor.example.com/shop/web:1.4 is not "
            "pinned by digest — use harbor.example.com/shop/web@sha256:<digest>");

  Evaluation pinned = evaluate(set, "shop", {use("harbor.example.com/shop/web@" + kDigest)}, now);
  EXPECT_TRUE(pinned.findings.empty());
  EXPECT_FALSE(pinned.denied());
  EXPECT_THAT(pinned.matchedPolicies, ElementsAre("production"));

  Evaluation both = evaluate(set, "shop", {use("harbor.example.com/shop/web:1.4@" + kDigest)}, now);
  EXPECT_FALSE(both.denied()) << "a tag next to a digest is still pinned";
}

TEST(EvaluateTest, TheFixNamesTheResolvedDigestWhenKnown) {
  ImageUse u = use("harbor.example.com/shop/web:1.4", "web");
  u.resolvedDigest = kDigest;
  auto ev = evaluate(setOf({policyNamed("production")}), "shop", {u}, at("2026-01-01T00:00:00Z"));
  ASSERT_EQ(ev.findings.size(), 1u);
  EXPECT_EQ(ev.findings[0].fix, "use harbor.example.com/shop/web@" + kDigest);
}

TEST(EvaluateTest, DigestOffAllowsTags) {
  auto p = policyNamed("relaxed");
  p.digest = DigestRule::kOptional;
  auto ev = evaluate(setOf({p}), "shop", {use("nginx:1.25")}, at("2026-01-01T00:00:00Z"));
  EXPECT_FALSE(ev.denied());
}

TEST(EvaluateTest, ModesDecideWhatDenies) {
  auto now = at("2026-01-01T00:00:00Z");
  auto warn = evaluate(setOf({policyNamed("w", Mode::kWarn)}), "shop", {use("nginx")}, now);
  ASSERT_EQ(warn.findings.size(), 1u);
  EXPECT_FALSE(warn.denied());
  EXPECT_EQ(warn.findings[0].mode, Mode::kWarn);
  auto audit = evaluate(setOf({policyNamed("a", Mode::kAudit)}), "shop", {use("nginx")}, now);
  ASSERT_EQ(audit.findings.size(), 1u);
  EXPECT_FALSE(audit.denied());
  auto mixed = evaluate(setOf({policyNamed("w", Mode::kWarn), policyNamed("e")}), "shop",
                        {use("nginx")}, now);
  EXPECT_TRUE(mixed.denied()) << "every Enforce policy must pass";
  EXPECT_EQ(mixed.findings.size(), 2u);
}

TEST(EvaluateTest, MatchAndExcludeSelectPolicies) {
  auto p = policyNamed("prod");
  p.match.namespaces = {"prod-*"};
  p.match.images = {"harbor.example.com/**"};
  p.exclude.namespaces = {"prod-sandbox"};
  p.exclude.images = {"harbor.example.com/tools/**"};
  auto set = setOf({p});
  auto now = at("2026-01-01T00:00:00Z");
  EXPECT_TRUE(evaluate(set, "prod-eu", {use("harbor.example.com/shop/web:1")}, now).denied());
  EXPECT_FALSE(evaluate(set, "staging", {use("harbor.example.com/shop/web:1")}, now).denied());
  EXPECT_FALSE(evaluate(set, "prod-sandbox", {use("harbor.example.com/shop/web:1")}, now).denied());
  EXPECT_FALSE(evaluate(set, "prod-eu", {use("harbor.example.com/tools/jq:1")}, now).denied());
  auto other = evaluate(set, "prod-eu", {use("nginx:1")}, now);
  EXPECT_FALSE(other.denied());
  EXPECT_TRUE(other.matchedPolicies.empty());
}

TEST(EvaluateTest, ImageGlobsMatchNormalisedAndWrittenForms) {
  auto p = policyNamed("hub");
  p.match.images = {"docker.io/library/*"};
  auto now = at("2026-01-01T00:00:00Z");
  EXPECT_TRUE(evaluate(setOf({p}), "shop", {use("nginx:1.25")}, now).denied());
  p.match.images = {"nginx:*"};
  EXPECT_TRUE(evaluate(setOf({p}), "shop", {use("nginx:1.25")}, now).denied());
  p.match.images = {"docker.io/acme/*"};
  EXPECT_FALSE(evaluate(setOf({p}), "shop", {use("nginx:1.25")}, now).denied());
}

TEST(EvaluateTest, AnyHostSpellingOfAnImageIsJudgedByThePolicyThatSelectsIt) {
  ImagePolicy harbor = policyNamed("harbor-only");
  harbor.match.images = {"harbor.example.com/shop/**"};
  harbor.exclude.images = {"harbor.example.com/shop/tools"};
  auto set = setOf({harbor});
  const auto now = at("2026-01-01T00:00:00Z");
  for (const char* image :
       {"harbor.example.com/shop/web:1.4", "HARBOR.EXAMPLE.COM/shop/web:1.4",
        "harbor.example.com:443/shop/web:1.4", "Harbor.Example.Com:443/shop/web:1.4"}) {
    Evaluation e = evaluate(set, "shop", {use(image)}, now);
    EXPECT_TRUE(e.denied()) << image << " escaped the policy";
    EXPECT_THAT(e.matchedPolicies, ElementsAre("harbor-only")) << image;
  }
  for (const char* image :
       {"HARBOR.example.com/shop/tools:1", "harbor.example.com:443/shop/tools:1"}) {
    EXPECT_TRUE(evaluate(set, "shop", {use(image)}, now).matchedPolicies.empty()) << image;
  }
  // A port other than HTTPS's is another registry.
  EXPECT_TRUE(evaluate(set, "shop", {use("harbor.example.com:8443/shop/web:1")}, now)
                  .matchedPolicies.empty());
}

TEST(EvaluateTest, APolicyThatCannotBeEnforcedJudgesEveryImageItSelectsUnderItsMode) {
  const auto now = at("2026-01-01T00:00:00Z");
  for (Mode mode : {Mode::kEnforce, Mode::kWarn, Mode::kAudit}) {
    ImagePolicy p = policyNamed("signed", mode);
    p.digest = DigestRule::kOptional;
    p.signatures = SignatureRule{};
    p.signatures->fingerprint = "fp";
    p.unenforceable =
        "cannot be enforced: spec.signatures.attestors[0].keys[0]: cannot open /keys/ci.pub: No "
        "such file or directory";
    auto set = setOf({p});
    std::vector<ImageUse> images = {use("harbor.example.com/shop/web:1.4")};
    ReviewPlan plan = planReview(set, "shop", images);
    EXPECT_TRUE(signatureRules(plan.images[0]).empty()) << "no lookup for a rule it cannot apply";
    Evaluation e = evaluate(set, "shop", images, plan, now);
    ASSERT_EQ(e.findings.size(), 1u);
    EXPECT_EQ(e.findings[0].check, Check::kSignatures);
    EXPECT_EQ(e.findings[0].mode, mode);
    EXPECT_EQ(e.denied(), mode == Mode::kEnforce);
    EXPECT_THAT(describe(e.findings[0]),
                HasSubstr("harbor.example.com/shop/web:1.4 is not checked: policy \"signed\" "
                          "cannot be enforced: spec.signatures.attestors[0].keys[0]: cannot open "
                          "/keys/ci.pub"));
  }
}

TEST(EvaluateTest, ProtectedNamespacesNeedALiteralOptIn) {
  auto all = policyNamed("all");
  auto now = at("2026-01-01T00:00:00Z");
  EXPECT_FALSE(evaluate(setOf({all}), "kube-system", {use("nginx")}, now).denied());
  EXPECT_FALSE(evaluate(setOf({all}), "harbormaster", {use("nginx")}, now).denied());
  all.match.namespaces = {"*"};
  EXPECT_FALSE(evaluate(setOf({all}), "kube-system", {use("nginx")}, now).denied());
  all.match.namespaces = {"kube-system"};
  EXPECT_TRUE(evaluate(setOf({all}), "kube-system", {use("nginx")}, now).denied());
}

TEST(EvaluateTest, RegistriesRestrictWhereImagesComeFrom) {
  auto p = policyNamed("prod");
  p.registries = {"harbor.example.com", "docker.io"};
  p.digest = DigestRule::kOptional;
  auto now = at("2026-01-01T00:00:00Z");
  EXPECT_FALSE(evaluate(setOf({p}), "shop", {use("nginx:1")}, now).denied());
  EXPECT_FALSE(evaluate(setOf({p}), "shop", {use("harbor.example.com/a/b:1")}, now).denied());
  auto quay = evaluate(setOf({p}), "shop", {use("quay.io/a/b:1")}, now);
  ASSERT_EQ(quay.findings.size(), 1u);
  EXPECT_EQ(quay.findings[0].check, Check::kRegistry);
  EXPECT_THAT(describe(quay.findings[0]),
              HasSubstr("comes from registry quay.io, which is not allowed — use an image from "
                        "harbor.example.com or docker.io"));
}

TEST(EvaluateTest, InvalidReferencesAreDeniedAndCannotBeExcepted) {
  auto p = policyNamed("prod");
  p.exceptions.push_back({{}, {}, {Check::kDigest, Check::kRegistry}, std::nullopt, "all"});
  auto ev = evaluate(setOf({p}), "shop", {use("Not A Ref")}, at("2026-01-01T00:00:00Z"));
  ASSERT_EQ(ev.findings.size(), 1u);
  EXPECT_EQ(ev.findings[0].check, Check::kReference);
  EXPECT_TRUE(ev.denied());
  EXPECT_THAT(describe(ev.findings[0]), HasSubstr("is not a valid image reference"));
}

TEST(EvaluateTest, ExceptionsApplyUntilTheyExpire) {
  auto p = policyNamed("production");
  p.exceptions.push_back({{"harbor.example.com/legacy/**"},
                          {"prod-legacy"},
                          {Check::kDigest},
                          at("2026-12-31T00:00:00Z"),
                          "OPS-123 migration"});
  auto set = setOf({p});
  std::vector<ImageUse> legacy = {use("harbor.example.com/legacy/app:3")};

  auto before = evaluate(set, "prod-legacy", legacy, at("2026-06-01T00:00:00Z"));
  EXPECT_FALSE(before.denied());
  EXPECT_EQ(before.exceptionsApplied(), 1);

  auto otherNs = evaluate(set, "prod-eu", legacy, at("2026-06-01T00:00:00Z"));
  EXPECT_TRUE(otherNs.denied()) << "the exception is scoped to its namespaces";

  auto after = evaluate(set, "prod-legacy", legacy, at("2026-12-31T00:00:00Z"));
  ASSERT_TRUE(after.denied());
  EXPECT_THAT(describe(after.findings[0]),
              HasSubstr("(exception \"OPS-123 migration\" expired 2026-12-31T00:00:00Z)"));
}

TEST(EvaluateTest, ExceptionCoversOnlyItsChecks) {
  auto p = policyNamed("prod");
  p.registries = {"harbor.example.com"};
  p.exceptions.push_back({{}, {}, {Check::kDigest}, std::nullopt, "digests later"});
  auto ev = evaluate(setOf({p}), "shop", {use("quay.io/a/b:1")}, at("2026-01-01T00:00:00Z"));
  ASSERT_EQ(ev.findings.size(), 1u);
  EXPECT_EQ(ev.findings[0].check, Check::kRegistry);
}

TEST(EvaluateTest, UnchangedImagesAreSkippedUnlessThePolicySaysOtherwise) {
  auto p = policyNamed("prod");
  auto now = at("2026-01-01T00:00:00Z");
  std::vector<ImageUse> images = {use("nginx:1", "old", true), use("redis:7", "new", false)};
  auto ev = evaluate(setOf({p}), "shop", images, now);
  ASSERT_EQ(ev.findings.size(), 1u);
  EXPECT_EQ(ev.findings[0].use.container, "new");
  p.onUpdate = UpdateRule::kCheckAll;
  EXPECT_EQ(evaluate(setOf({p}), "shop", images, now).findings.size(), 2u);
}

TEST(EvaluateTest, EveryContainerIsReported) {
  auto ev =
      evaluate(setOf({policyNamed("prod")}), "shop",
               {use("a:1", "a"), use("b:1", "b"), use("a:1", "c")}, at("2026-01-01T00:00:00Z"));
  ASSERT_EQ(ev.findings.size(), 3u);
  EXPECT_EQ(ev.findings[2].use.container, "c");
}

ImagePolicy signedPolicy(std::string name, int count = 1, bool required = true) {
  ImagePolicy p = policyNamed(std::move(name));
  p.digest = DigestRule::kOptional;
  SignatureRule rule;
  rule.attestors = {Attestor{"ci", {"pem"}, "", "", {}}, Attestor{"gha", {}, "root", "/r", {}}};
  rule.count = count;
  rule.required = required;
  rule.fingerprint = "fp-" + std::to_string(count);
  p.signatures = rule;
  return p;
}

std::shared_ptr<const SignatureFacts> sigFacts(std::vector<AttestorVerdict> verdicts,
                                               size_t found = 1) {
  auto f = std::make_shared<SignatureFacts>();
  f->digest = kDigest;
  f->repository = "harbor.example.com/shop/web";
  f->signaturesFound = found;
  f->attestors = std::move(verdicts);
  return f;
}

TEST(EvaluateTest, SignaturesPassWhenEnoughAttestorsVerify) {
  auto set = setOf({signedPolicy("signed")});
  ImageUse u = use("harbor.example.com/shop/web@" + kDigest);
  u.signatures["fp-1"] =
      sigFacts({{"ci", true, "key abc", ""}, {"gha", false, "", "no signature found"}});
  auto ev = evaluate(set, "shop", {u}, at("2026-01-01T00:00:00Z"));
  EXPECT_TRUE(ev.findings.empty()) << describe(ev.findings.at(0));

  auto two = setOf({signedPolicy("two", 2)});
  u.signatures["fp-2"] = u.signatures["fp-1"];
  ev = evaluate(two, "shop", {u}, at("2026-01-01T00:00:00Z"));
  ASSERT_EQ(ev.findings.size(), 1u);
  EXPECT_TRUE(ev.denied());
  EXPECT_EQ(ev.findings[0].check, Check::kSignatures);
  EXPECT_THAT(ev.findings[0].problem,
              HasSubstr("1 of the 2 attestors required verified: attestor \"ci\": verified (key "
                        "abc); attestor \"gha\": no signature found"));
}

TEST(EvaluateTest, SignatureDenialsNameEachAttestorAndTheFix) {
  auto set = setOf({signedPolicy("signed")});
  ImageUse u = use("harbor.example.com/shop/web@" + kDigest);
  u.signatures["fp-1"] = sigFacts(
      {{"ci", false, "", "no signature found"}, {"gha", false, "", "no signature found"}}, 0);
  auto ev = evaluate(set, "shop", {u}, at("2026-01-01T00:00:00Z"));
  ASSERT_EQ(ev.findings.size(), 1u);
  const std::string text = describe(ev.findings[0]);
  EXPECT_THAT(text, HasSubstr("has no cosign signature for " + kDigest));
  EXPECT_THAT(text, HasSubstr("attestor \"ci\": no signature found; attestor \"gha\": no "
                              "signature found"));
  EXPECT_THAT(text, HasSubstr("sign it (cosign sign harbor.example.com/shop/web@" + kDigest +
                              ") with a key or identity of attestor \"ci\" or \"gha\""));
  EXPECT_THAT(text, Not(HasSubstr("add the signer")));

  u.signatures["fp-1"] = sigFacts(
      {{"ci", false, "", "signed by an unknown key"},
       {"gha", false, "",
        "certificate identity https://github.com/x/y/.github/workflows/r.yml@refs/heads/main "
        "does not match ^https://github.com/acme/.*$"}},
      2);
  ev = evaluate(set, "shop", {u}, at("2026-01-01T00:00:00Z"));
  ASSERT_EQ(ev.findings.size(), 1u);
  EXPECT_THAT(ev.findings[0].problem, HasSubstr("is not signed by a trusted signer"));
  EXPECT_THAT(ev.findings[0].problem, HasSubstr("signed by an unknown key"));
  EXPECT_THAT(ev.findings[0].problem, HasSubstr("does not match ^https://github.com/acme/.*$"));
  EXPECT_THAT(ev.findings[0].fix, HasSubstr("or add the signer to spec.signatures.attestors"));
}

TEST(EvaluateTest, AnUnreachableRegistryIsNeverUnsigned) {
  auto set = setOf({signedPolicy("signed")});
  ImageUse u = use("harbor.example.com/shop/web@" + kDigest);
  auto f = std::make_shared<SignatureFacts>();
  f->source = SignatureFacts::Source::kUnreachable;
  f->error = "registry harbor.example.com: connection refused";
  u.signatures["fp-1"] = f;
  auto ev = evaluate(set, "shop", {u}, at("2026-01-01T00:00:00Z"));
  ASSERT_EQ(ev.findings.size(), 1u);
  EXPECT_TRUE(ev.denied());
  EXPECT_THAT(ev.findings[0].problem,
              HasSubstr("could not check signatures: registry harbor.example.com: connection "
                        "refused"));
  EXPECT_THAT(ev.findings[0].problem, Not(HasSubstr("unsigned")));
  EXPECT_THAT(ev.findings[0].fix, HasSubstr("not judged unsigned"));
}

TEST(EvaluateTest, UnrequiredSignaturesOnlyWarnAndExceptionsApply) {
  auto set = setOf({signedPolicy("signed", 1, /*required=*/false)});
  ImageUse u = use("harbor.example.com/shop/web@" + kDigest);
  u.signatures["fp-1"] = sigFacts(
      {{"ci", false, "", "no signature found"}, {"gha", false, "", "no signature found"}}, 0);
  auto ev = evaluate(set, "shop", {u}, at("2026-01-01T00:00:00Z"));
  ASSERT_EQ(ev.findings.size(), 1u);
  EXPECT_EQ(ev.findings[0].mode, Mode::kWarn);
  EXPECT_FALSE(ev.denied());

  ImagePolicy excepted = signedPolicy("signed");
  excepted.exceptions.push_back(
      {{"harbor.example.com/shop/**"}, {}, {Check::kSignatures}, {}, "vendor"});
  ev = evaluate(setOf({excepted}), "shop", {u}, at("2026-01-01T00:00:00Z"));
  EXPECT_TRUE(ev.findings.empty());
  EXPECT_EQ(ev.exceptionsApplied(), 1);
}

TEST(EvaluateTest, SignatureFactsNotLookedUpAreAFindingNotAPass) {
  auto set = setOf({signedPolicy("signed")});
  auto ev = evaluate(set, "shop", {use("harbor.example.com/shop/web@" + kDigest)},
                     at("2026-01-01T00:00:00Z"));
  ASSERT_EQ(ev.findings.size(), 1u);
  EXPECT_THAT(ev.findings[0].problem, HasSubstr("cannot be checked for signatures"));
}

TEST(EvaluateTest, ScanAndSignatureChecksAreBothReported) {
  ImagePolicy p = signedPolicy("both");
  p.vulnerabilities = VulnerabilityRule{};
  p.vulnerabilities->severity = 4;
  ImageUse u = use("harbor.example.com/shop/web@" + kDigest);
  u.signatures["fp-1"] = sigFacts(
      {{"ci", false, "", "no signature found"}, {"gha", false, "", "no signature found"}}, 0);
  auto ev = evaluate(setOf({p}), "shop", {u}, at("2026-01-01T00:00:00Z"));
  ASSERT_EQ(ev.findings.size(), 2u) << "no Harbor for the scan does not hide the signature result";
  EXPECT_EQ(ev.findings[0].check, Check::kVulnerabilities);
  EXPECT_EQ(ev.findings[1].check, Check::kSignatures);
}

TEST(EvaluateTest, SignatureRulesAreListedOncePerFingerprint) {
  ImagePolicy other = signedPolicy("other");
  ImagePolicy excluded = signedPolicy("excluded", 2);
  excluded.exclude.images = {"harbor.example.com/shop/**"};
  auto set = setOf({signedPolicy("signed"), other, excluded, policyNamed("plain")});
  auto planned = [&](std::string_view ns) {
    return planReview(set, ns, {use("harbor.example.com/shop/web@" + kDigest)}).images.at(0);
  };
  auto rules = signatureRules(planned("shop"));
  ASSERT_EQ(rules.size(), 1u) << "two policies with one rule share its lookup";
  EXPECT_EQ(rules[0]->fingerprint, "fp-1");
  EXPECT_TRUE(signatureRules(planned("kube-system")).empty());
}

TEST(EvaluateTest, APlanParsesEachDistinctImageOnceAndKeepsUpdateSkipsApart) {
  auto set = setOf({policyNamed("a"), policyNamed("b")});
  set.policies[1].onUpdate = UpdateRule::kCheckAll;
  std::vector<ImageUse> uses = {use("nginx:1.25"), use("nginx:1.25"), use("nginx:1.25"),
                                use("bad image")};
  uses[2].unchanged = true;
  ReviewPlan plan = planReview(set, "shop", uses);
  ASSERT_EQ(plan.images.size(), 3u) << "one entry per text, unchanged kept apart";
  EXPECT_EQ(plan.imageOfUse, (std::vector<size_t>{0, 0, 1, 2}));
  EXPECT_EQ(plan.images[0].uses, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(plan.images[0].judging.size(), 2u);
  EXPECT_TRUE(plan.images[0].wantsDigest());
  EXPECT_EQ(plan.images[1].judging.size(), 1u) << "only the CheckAll policy judges it again";
  EXPECT_TRUE(plan.images[1].matches[0]) << "the skipping policy still matched";
  EXPECT_FALSE(plan.images[2].ref.ok());
  EXPECT_FALSE(plan.images[2].wantsDigest());
  // The plan gives what planning inside evaluate() gives.
  auto now = std::chrono::system_clock::now();
  auto planned = evaluate(set, "shop", uses, plan, now);
  auto direct = evaluate(set, "shop", uses, now);
  EXPECT_EQ(planned.findings.size(), direct.findings.size());
  EXPECT_EQ(planned.matchedPolicies, direct.matchedPolicies);
}

}  // namespace
}  // namespace hm::policy
