// A fact source with its own policy section, registered as a new one is (support/age_module.h):
// the loader reads its grammar with errors that name the field, ImageExceptions name its check,
// its source plans one lookup per distinct rule, and the engine judges its facts under each
// policy's mode — with nothing in pkg/policy, pkg/facts or pkg/review naming it. No processes.
#include "harbormaster/policy/section.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fakes.h"
#include "harbormaster/review/engine.h"
#include "support/age_module.h"
#include "support/async.h"
#include "support/fake_clock.h"

namespace hm::review {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace age = hm::testing::age;

const std::string kOld = "sha256:" + std::string(64, '1');    // built 40 days ago
const std::string kFresh = "sha256:" + std::string(64, '2');  // built 3 days ago
const std::string kUnknown = "sha256:" + std::string(64, '3');

// Registers the section the way cmd/ does (cli::registerPolicySections) for every test here.
class SectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    age::AgeModule module({});
    for (auto& s : module.sections()) {
      ASSERT_TRUE(policy::registerSection(s).ok());
    }
  }

  static StatusOr<policy::PolicySet> load(const std::string& spec, const std::string& more = "") {
    return policy::parsePolicies(
        "apiVersion: harbormaster.io/v1alpha1\nkind: ClusterImagePolicy\n"
        "metadata: {name: fresh}\nspec: " +
            spec + "\n" + more,
        "policy.yaml", {});
  }

  admission::Outcome review(const std::vector<std::string>& images,
                            std::shared_ptr<const policy::PolicySet> policies) {
    age::AgeModule module({{kOld, 40}, {kFresh, 3}});
    auto source = module.create({});
    EXPECT_TRUE(source.ok());
    Engine engine({*source}, nullptr, {}, clock_);
    return hm::testing::runOn(io_.ioc(),
                              engine.review(testing::podReview(images), std::move(policies),
                                            std::chrono::steady_clock::now() + 5s));
  }

  hm::testing::FakeClock clock_;
  hm::testing::IoThreads io_;
};

class Named final : public policy::Section {
 public:
  Named(std::string key, std::string check) : key_(std::move(key)), check_(std::move(check)) {}
  std::string_view key() const override { return key_; }
  std::string_view checkName() const override { return check_; }
  StatusOr<std::shared_ptr<const policy::SectionRule>> read(
      const policy::SectionReader& in) const override {
    return in.error(in.field(), "not read here");
  }

 private:
  std::string key_, check_;
};

TEST_F(SectionTest, RegistrationRefusesTakenBuiltInAndMalformedNames) {
  EXPECT_TRUE(policy::registerSection(age::section()).ok()) << "the same section again: no-op";
  auto again = policy::registerSection(std::make_shared<age::AgeSection>());
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.message(), HasSubstr("registered"));
  EXPECT_THAT(policy::registerSection(std::make_shared<Named>("other", "age")).message(),
              HasSubstr("registered"));
  EXPECT_THAT(policy::registerSection(std::make_shared<Named>("signatures", "sigs")).message(),
              HasSubstr("built-in"));
  EXPECT_THAT(policy::registerSection(std::make_shared<Named>("provenance", "digest")).message(),
              HasSubstr("built-in"));
  EXPECT_THAT(policy::registerSection(std::make_shared<Named>("Bad-Name", "bad")).message(),
              HasSubstr("lowerCamelCase"));
  EXPECT_FALSE(policy::registerSection(nullptr).ok());
  // None of the refused ones took a key or a check.
  for (const policy::Section* s : policy::registeredSections()) {
    EXPECT_TRUE(s == age::section().get() || s->key() == "throws") << s->key();
  }
  EXPECT_EQ(policy::registeredSections()[0], age::section().get());
  EXPECT_EQ(policy::checkName(policy::Check::kFirstSection), "age");
  EXPECT_EQ(policy::sectionOf(policy::Check::kFirstSection), age::section().get());
  EXPECT_EQ(policy::sectionOf(policy::Check::kSignatures), nullptr);
  EXPECT_EQ(policy::checkName(static_cast<policy::Check>(40)), "unknown");
}

TEST_F(SectionTest, TheLoaderReadsTheSectionAndItsErrorsNameDocumentAndField) {
  auto set = load("{digest: Optional, age: {maxDays: 30}}");
  ASSERT_TRUE(set.ok()) << set.status().message();
  const auto& uses = set->policies[0].sections;
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(policy::checkName(uses[0].check), "age");
  const auto* rule = dynamic_cast<const age::AgeRule*>(uses[0].rule.get());
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->maxDays(), 30);
  EXPECT_EQ(uses[0].factKey, "age/30");

  auto typo = load("{age: {maxDay: 30}}");
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(typo.status().message(), HasSubstr("policy.yaml, document 1"));
  EXPECT_THAT(typo.status().message(),
              HasSubstr("spec.age.maxDay: unknown field (known fields: maxDays, required)"));
  auto range = load("{age: {maxDays: 0}}");
  ASSERT_FALSE(range.ok());
  EXPECT_THAT(range.status().message(),
              HasSubstr("spec.age.maxDays: must be a whole number from 1 to 3650, got 0"));
  auto word = load("{age: {maxDays: thirty}}");
  ASSERT_FALSE(word.ok());
  EXPECT_THAT(word.status().message(), HasSubstr("got \"thirty\""));
  auto missing = load("{age: {required: false}}");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("spec.age.maxDays: is required"));
  // The section's key is among spec's known fields; other unknown fields stay errors.
  auto unknown = load("{provenance: {}}");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("spec.provenance: unknown field"));
  EXPECT_THAT(unknown.status().message(), HasSubstr("signatures, age"));
  // A null section is no section.
  auto null = load("{age: null}");
  ASSERT_TRUE(null.ok()) << null.status().message();
  EXPECT_TRUE(null->policies[0].sections.empty());
  // What the section warns about reaches the policy's warnings (status and `check` show them).
  auto lax = load("{age: {maxDays: 400}}");
  ASSERT_TRUE(lax.ok()) << lax.status().message();
  EXPECT_THAT(lax->policies[0].warnings,
              ::testing::Contains(HasSubstr("spec.age.maxDays: more than a year")));
}

class Throws final : public policy::Section {
 public:
  std::string_view key() const override { return "throws"; }
  std::string_view checkName() const override { return "throws"; }
  StatusOr<std::shared_ptr<const policy::SectionRule>> read(
      const policy::SectionReader& in) const override {
    (void)in.node()["n"].as<int>();  // a grammar that lets yaml-cpp throw
    return in.error(in.field(), "not reached");
  }
};

TEST_F(SectionTest, ASectionThatThrowsIsAnErrorAboutItsFieldNotACrash) {
  static const auto throws = std::make_shared<const Throws>();
  ASSERT_TRUE(policy::registerSection(throws).ok());
  auto set = load("{throws: {n: many}}");
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("spec.throws: could not be read ("));
}

TEST_F(SectionTest, ExceptionsNameTheSectionsCheck) {
  const std::string exception =
      "---\napiVersion: harbormaster.io/v1alpha1\nkind: ImageException\n"
      "metadata: {name: old-base, namespace: shop}\n"
      "spec: {policies: [fresh], images: [\"**\"], checks: [CHECKS], expiresAt: "
      "\"2099-01-01T00:00:00Z\", "
      "reason: OPS-7}\n";
  auto with = [&](const std::string& checks) {
    std::string text = exception;
    text.replace(text.find("CHECKS"), 6, checks);
    return text;
  };
  auto set = load("{exceptionPolicy: {allowed: true}, age: {maxDays: 30}}", with("age"));
  ASSERT_TRUE(set.ok()) << set.status().message();
  ASSERT_EQ(set->exceptions.at("shop").size(), 1u);
  EXPECT_EQ(set->exceptions.at("shop")[0].checks,
            std::vector<policy::Check>{policy::Check::kFirstSection});
  auto typo = load("{age: {maxDays: 30}}", with("agee"));
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(typo.status().message(),
              HasSubstr("unknown check \"agee\" (known checks: registry, digest, "
                        "vulnerabilities, signatures, age"));
}

TEST_F(SectionTest, TheEngineGathersAndJudgesTheSectionsFactsUnderEachPolicysMode) {
  auto enforce = load("{digest: Optional, age: {maxDays: 30}}");
  ASSERT_TRUE(enforce.ok()) << enforce.status().message();
  auto policies = std::make_shared<const policy::PolicySet>(std::move(*enforce));

  auto fresh = review({"harbor.example.com/shop/web@" + kFresh}, policies);
  EXPECT_EQ(fresh.decision, admission::Decision::kAllowed) << fresh.message;
  ASSERT_EQ(fresh.request.images.size(), 1u);
  EXPECT_EQ(fresh.request.images[0].facts.count("age/30"), 1u) << "the source attached its fact";

  auto old = review({"harbor.example.com/shop/web@" + kOld}, policies);
  EXPECT_EQ(old.decision, admission::Decision::kDenied);
  EXPECT_THAT(old.message, HasSubstr("was built 40 days ago, more than 30 — rebuild the image"));
  ASSERT_EQ(old.evaluation.findings.size(), 1u);
  EXPECT_EQ(policy::checkName(old.evaluation.findings[0].check), "age");

  // A lookup that learnt nothing is "could not check", never a pass.
  auto unknown = review({"harbor.example.com/shop/web@" + kUnknown}, policies);
  EXPECT_EQ(unknown.decision, admission::Decision::kDenied);
  EXPECT_THAT(unknown.message, HasSubstr("cannot be checked for age (no build date for"));

  // required: false makes the section's problems warnings, as spec.signatures' does.
  auto lax = load("{digest: Optional, age: {maxDays: 30, required: false}}");
  ASSERT_TRUE(lax.ok());
  auto warned =
      review({"harbor.example.com/shop/web@" + kOld}, std::make_shared<policy::PolicySet>(*lax));
  EXPECT_EQ(warned.decision, admission::Decision::kWarned);
  EXPECT_THAT(warned.body, HasSubstr("was built 40 days ago"));

  // A policy without the section asks the source nothing.
  auto without = load("{digest: Optional}");
  ASSERT_TRUE(without.ok());
  auto plain = review({"harbor.example.com/shop/web@" + kOld},
                      std::make_shared<policy::PolicySet>(*without));
  EXPECT_EQ(plain.decision, admission::Decision::kAllowed);
  ASSERT_EQ(plain.request.images.size(), 1u);
  EXPECT_TRUE(plain.request.images[0].facts.empty());
}

TEST_F(SectionTest, AnImageExceptionForTheCheckLetsTheImagePass) {
  auto set = load("{digest: Optional, exceptionPolicy: {allowed: true}, age: {maxDays: 30}}",
                  "---\napiVersion: harbormaster.io/v1alpha1\nkind: ImageException\n"
                  "metadata: {name: old-base, namespace: shop}\n"
                  "spec: {policies: [fresh], images: [\"**\"], checks: [age], expiresAt: "
                  "\"2099-01-01T00:00:00Z\", "
                  "reason: OPS-7}\n");
  ASSERT_TRUE(set.ok()) << set.status().message();
  auto out = review({"harbor.example.com/shop/web@" + kOld},
                    std::make_shared<const policy::PolicySet>(std::move(*set)));
  EXPECT_EQ(out.decision, admission::Decision::kAllowed) << out.message;
  EXPECT_EQ(out.evaluation.exceptionsApplied(), 1);
}

TEST_F(SectionTest, PoliciesWithTheSameRuleShareOneLookup) {
  auto set = load("{digest: Optional, age: {maxDays: 30}}",
                  "---\napiVersion: harbormaster.io/v1alpha1\nkind: ClusterImagePolicy\n"
                  "metadata: {name: same}\nspec: {digest: Optional, age: {maxDays: 30}}\n"
                  "---\napiVersion: harbormaster.io/v1alpha1\nkind: ClusterImagePolicy\n"
                  "metadata: {name: stricter}\nspec: {digest: Optional, age: {maxDays: 7}}\n");
  ASSERT_TRUE(set.ok()) << set.status().message();
  policy::ImageUse use;
  use.image = "harbor.example.com/shop/web@" + kFresh;
  const auto plan = policy::planReview(*set, "shop", {use});
  const auto rules = policy::sectionRules(plan.images[0], "age");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].factKey, "age/30");
  EXPECT_EQ(rules[1].factKey, "age/7");
  EXPECT_TRUE(policy::sectionRules(plan.images[0], "other").empty());
  // Both rules judged from the facts the source attached: 3 days passes both.
  auto out = review({use.image}, std::make_shared<const policy::PolicySet>(std::move(*set)));
  EXPECT_EQ(out.decision, admission::Decision::kAllowed) << out.message;
  ASSERT_EQ(out.request.images.size(), 1u);
  EXPECT_EQ(out.request.images[0].facts.size(), 2u);
}

}  // namespace
}  // namespace hm::review
