#include "harbormaster/policy/evaluate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

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
  return ImageUse{
      std::move(container), "spec.containers[0].image", std::move(image), unchanged, "", nullptr};
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
  p.digest = DigestRule::kOff;
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
  p.digest = DigestRule::kOff;
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
  EXPECT_EQ(before.exceptionsApplied, 1);

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

}  // namespace
}  // namespace hm::policy
