// The policy status controller's pure part: what status a policy or exception gets.
#include "policystatus/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harbormaster/policy/section.h"

namespace hm::op {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const WallTime kT1 = *parseRfc3339("2026-12-03T10:00:00Z");
const WallTime kT2 = *parseRfc3339("2026-12-03T11:00:00Z");

json objectAt(int64_t generation, json status = json::object()) {
  return {{"metadata", {{"name", "production"}, {"generation", generation}}},
          {"status", std::move(status)}};
}

json ready(const json& status) {
  for (const auto& c : status["conditions"]) {
    if (c["type"] == "Ready") {
      return c;
    }
  }
  return nullptr;
}

TEST(PolicyStatusTest, AValidPolicyIsReadyAndListsItsChecks) {
  policy::ImagePolicy p;
  p.registries = {"harbor.example.com"};
  p.vulnerabilities = policy::VulnerabilityRule{};
  json status = policyStatus(objectAt(4), okStatus(), 4, &p, kT1);
  EXPECT_EQ(status["observedGeneration"], 4);
  EXPECT_EQ(status["enforcedGeneration"], 4);
  EXPECT_EQ(status["checks"], "registry,digest,vulnerabilities");
  EXPECT_EQ(ready(status)["status"], "True");
  EXPECT_EQ(ready(status)["reason"], "Valid");
  EXPECT_EQ(ready(status)["observedGeneration"], 4);
}

// A fact source module's policy section (policy/section.h) is listed by its check's name.
class Provenance final : public policy::Section {
 public:
  std::string_view key() const override { return "provenance"; }
  std::string_view checkName() const override { return "provenance"; }
  StatusOr<std::shared_ptr<const policy::SectionRule>> read(
      const policy::SectionReader& in) const override {
    return in.error(in.field(), "not read here");
  }
};

TEST(PolicyStatusTest, ARegisteredSectionsCheckIsListed) {
  static const auto section = std::make_shared<const Provenance>();
  ASSERT_TRUE(policy::registerSection(section).ok());
  policy::ImagePolicy p;
  p.digest = policy::DigestRule::kOptional;
  p.sections.push_back({section.get(), policy::Check::kFirstSection, nullptr, ""});
  json status = policyStatus(objectAt(4), okStatus(), 4, &p, kT1);
  EXPECT_EQ(status["checks"], "provenance");
}

TEST(PolicyStatusTest, AnInvalidGenerationNamesTheFieldAndTheGenerationInForce) {
  policy::ImagePolicy p;
  json before = policyStatus(objectAt(4), okStatus(), 4, &p, kT1);
  Status bad = invalidArgument("ClusterImagePolicy \"production\": spec.mode: must be one of …");
  json status = policyStatus(objectAt(5, before), bad, 4, &p, kT2);
  EXPECT_EQ(status["observedGeneration"], 5);
  EXPECT_EQ(status["enforcedGeneration"], 4);
  EXPECT_EQ(ready(status)["status"], "False");
  EXPECT_EQ(ready(status)["reason"], "InvalidSpec");
  EXPECT_THAT(ready(status)["message"].get<std::string>(),
              HasSubstr("spec.mode: must be one of …; generation 4 stays in force"));
  EXPECT_EQ(ready(status)["lastTransitionTime"], "2026-12-03T11:00:00Z");

  // Never valid: nothing is enforced, and the status says so.
  json never = policyStatus(objectAt(1), bad, 0, nullptr, kT1);
  EXPECT_FALSE(never.contains("enforcedGeneration"));
  EXPECT_FALSE(never.contains("checks"));
  EXPECT_THAT(ready(never)["message"].get<std::string>(), HasSubstr("nothing of this policy"));
}

TEST(PolicyStatusTest, APolicyWhoseFileDoesNotLoadIsNotReadyAndSaysWhy) {
  policy::ImagePolicy p;
  p.mode = policy::Mode::kEnforce;
  p.signatures = policy::SignatureRule{};
  p.unenforceable =
      "cannot be enforced: spec.signatures.attestors[0].keys[0]: cannot open "
      "/etc/harbormaster/signatures/ci/cosign.pub: No such file or directory";
  json status = policyStatus(objectAt(2), okStatus(), 2, &p, kT1);
  EXPECT_EQ(ready(status)["status"], "False");
  EXPECT_EQ(ready(status)["reason"], "CannotBeEnforced");
  EXPECT_THAT(ready(status)["message"].get<std::string>(),
              HasSubstr("cannot open /etc/harbormaster/signatures/ci/cosign.pub: No such file or "
                        "directory; every image it selects is judged as not checked under mode "
                        "Enforce until the file loads"));
  // The file arrives: Ready, and the transition is stamped.
  p.unenforceable.clear();
  json fixed = policyStatus(objectAt(2, status), okStatus(), 2, &p, kT2);
  EXPECT_EQ(ready(fixed)["status"], "True");
  EXPECT_EQ(ready(fixed)["lastTransitionTime"], "2026-12-03T11:00:00Z");
}

TEST(PolicyStatusTest, WarningsAreListedAndClearedWithTheirCause) {
  policy::ImagePolicy p;
  p.warnings = {
      "spec.signatures.attestors[0].keyless.identities[0].subjectRegExp: \"acme\" is "
      "not anchored with ^…$"};
  json status = policyStatus(objectAt(1), okStatus(), 1, &p, kT1);
  EXPECT_EQ(status["warnings"], json(p.warnings));
  EXPECT_EQ(ready(status)["status"], "True") << "a warning never stops a policy";
  p.warnings.clear();
  EXPECT_FALSE(policyStatus(objectAt(2, status), okStatus(), 2, &p, kT2).contains("warnings"));
}

TEST(ExceptionWaiverTest, SaysWhatItWaivesAndWhoMayHaveAppliedIt) {
  policy::ImageException ex;
  ex.nameSpace = "shop";
  ex.policies = {"production"};
  ex.images = {"harbor.example.com/shop/web"};
  ex.checks = {policy::Check::kVulnerabilities};
  ex.cves = {"CVE-2026-1234"};
  ex.expiresAt = kT2;
  ex.reason = "SEC-9: no fixed package yet";
  ex.owner = "team-shop";
  ex.ticket = "SEC-9";
  // managedFields as the API server writes them: one entry per manager and operation, the
  // status writer's marked with its subresource.
  json object = {
      {"metadata",
       {{"name", "vendor"},
        {"namespace", "shop"},
        {"managedFields",
         {{{"manager", "kubectl-client-side-apply"}, {"operation", "Update"}},
          {{"manager", "argocd-controller"}, {"operation", "Apply"}},
          {{"manager", "kubectl-client-side-apply"}, {"operation", "Update"}},
          {{"manager", "harbormaster"}, {"operation", "Update"}, {"subresource", "status"}}}}}}};
  EXPECT_EQ(appliedBy(object), "kubectl-client-side-apply, argocd-controller");
  EXPECT_EQ(waiverDescription(object, ex),
            "waives vulnerabilities (only CVE-2026-1234) of policies production for images "
            "harbor.example.com/shop/web in namespace shop until 2026-12-03T11:00:00Z (reason: "
            "SEC-9: no fixed package yet; owner: team-shop; ticket: SEC-9); applied by "
            "kubectl-client-side-apply, argocd-controller");
  EXPECT_EQ(appliedBy(json{{"metadata", {{"name", "x"}}}}), "an unknown client");
  EXPECT_EQ(appliedBy(json{{"metadata", {{"managedFields", "junk"}}}}), "an unknown client");
}

TEST(PolicyStatusTest, AnUnchangedStatusKeepsItsTransitionTime) {
  policy::ImagePolicy p;
  json first = policyStatus(objectAt(1), okStatus(), 1, &p, kT1);
  json again = policyStatus(objectAt(1, first), okStatus(), 1, &p, kT2);
  EXPECT_EQ(first, again) << "written only when it changed";
}

TEST(ExceptionStatusTest, StatesAndReasons) {
  policy::ExceptionStanding active{policy::ExceptionState::kActive, "Active",
                                   "applies to production until 2026-12-10T00:00:00Z"};
  json a = exceptionStatus(objectAt(1), okStatus(), active, kT1);
  EXPECT_EQ(a["state"], "Active");
  EXPECT_EQ(ready(a)["status"], "True");

  policy::ExceptionStanding rejected{policy::ExceptionState::kRejected, "NotAllowed",
                                     "policy \"production\" takes no ImageExceptions"};
  json r = exceptionStatus(objectAt(1, a), okStatus(), rejected, kT2);
  EXPECT_EQ(r["state"], "Rejected");
  EXPECT_EQ(ready(r)["status"], "False");
  EXPECT_EQ(ready(r)["reason"], "NotAllowed");
  EXPECT_EQ(ready(r)["lastTransitionTime"], "2026-12-03T11:00:00Z");

  json invalid =
      exceptionStatus(objectAt(2), invalidArgument("spec.expiresAt: is required"), {}, kT1);
  EXPECT_EQ(invalid["state"], "Rejected");
  EXPECT_EQ(ready(invalid)["reason"], "InvalidSpec");
  EXPECT_EQ(ready(invalid)["message"], "spec.expiresAt: is required");
}

}  // namespace
}  // namespace hm::op
