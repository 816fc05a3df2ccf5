// ClusterImagePolicy, ImagePolicy and ImageException: loading (files and API objects),
// namespace selectors, tenancy, and exception governance, with an explicit clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harbormaster/policy/evaluate.h"
#include "harbormaster/policy/policy.h"

namespace hm::policy {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kDigest = "sha256:" + std::string(64, 'c');
const WallTime kCreated = *parseRfc3339("2026-12-01T00:00:00Z");
const WallTime kNow = *parseRfc3339("2026-12-03T00:00:00Z");

WallTime at(const char* rfc3339) {
  return *parseRfc3339(rfc3339);
}

// An object as the API server returns it: server-set metadata and status included.
json object(std::string kind, std::string name, std::string ns, json spec) {
  json meta = {{"name", name},
               {"generation", 3},
               {"uid", "6f1c"},
               {"resourceVersion", "42"},
               {"creationTimestamp", "2026-12-01T00:00:00Z"},
               {"managedFields", json::array({{{"manager", "kubectl"}}})}};
  if (!ns.empty()) {
    meta["namespace"] = ns;
  }
  return {{"apiVersion", "harbormaster.io/v1alpha1"},
          {"kind", std::move(kind)},
          {"metadata", meta},
          {"spec", std::move(spec)},
          {"status", {{"observedGeneration", 2}}}};
}

ImagePolicy policyOf(const json& o) {
  auto parsed = parseObject(o, {});
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  return parsed.ok() && parsed->policy ? *parsed->policy : ImagePolicy{};
}

ImageException exceptionOf(const json& o) {
  auto parsed = parseObject(o, {});
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  return parsed.ok() && parsed->exception ? *parsed->exception : ImageException{};
}

json exceptionSpec(std::vector<std::string> checks, std::string expires = "2026-12-10T00:00:00Z") {
  return {{"policies", {"production"}},
          {"images", {"harbor.example.com/shop/**"}},
          {"checks", checks},
          {"expiresAt", expires},
          {"reason", "SEC-9: waiting for the vendor's fix"},
          {"owner", "team-shop"}};
}

PolicySet setOf(std::vector<ImagePolicy> policies, std::vector<ImageException> exceptions = {},
                std::map<std::string, Labels> namespaces = {}) {
  PolicySet s;
  s.policies = std::move(policies);
  s.defaultExcludedNamespaces = {"kube-system", "harbormaster"};
  for (auto& ex : exceptions) {
    s.exceptions[ex.nameSpace].push_back(std::move(ex));
  }
  s.namespaceLabels = std::make_shared<const std::map<std::string, Labels>>(std::move(namespaces));
  return s;
}

ImageUse use(std::string image) {
  ImageUse u;
  u.container = "web";
  u.path = "spec.containers[0].image";
  u.image = std::move(image);
  return u;
}

std::vector<Check> checks(const Evaluation& ev) {
  std::vector<Check> out;
  for (const auto& f : ev.findings) {
    out.push_back(f.check);
  }
  return out;
}

TEST(PolicyObjectTest, LoadsAClusterPolicyAsTheApiServerReturnsIt) {
  json o = object("ClusterImagePolicy", "production", "",
                  {{"mode", "Warn"},
                   {"match",
                    {{"namespaces", {"shop-*"}},
                     {"namespaceSelector",
                      {{"matchLabels", {{"env", "prod"}}},
                       {"matchExpressions",
                        {{{"key", "tier"}, {"operator", "NotIn"}, {"values", {"test"}}}}}}}}},
                   {"exceptionPolicy", {{"maxDuration", "168h"}, {"allowed", true}}}});
  ImagePolicy p = policyOf(o);
  EXPECT_EQ(p.name, "production");
  EXPECT_EQ(p.resourceName, "production");
  EXPECT_EQ(p.scope, PolicyScope::kCluster);
  EXPECT_EQ(p.mode, Mode::kWarn);
  ASSERT_TRUE(p.namespaceSelector.has_value());
  EXPECT_EQ(p.namespaceSelector->matchLabels.at("env"), "prod");
  ASSERT_EQ(p.namespaceSelector->matchExpressions.size(), 1u);
  EXPECT_EQ(p.namespaceSelector->matchExpressions[0].op, LabelRequirement::Op::kNotIn);
  EXPECT_EQ(p.exceptionPolicy.maxDuration, std::chrono::hours(168));
}

TEST(PolicyObjectTest, ErrorsNameTheObjectAndTheField) {
  auto bad = parseObject(object("ClusterImagePolicy", "production", "", {{"mode", "enforce"}}), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "ClusterImagePolicy \"production\": spec.mode: must be one of Enforce, Warn, Audit, "
            "got \"enforce\"");

  auto typo = parseObject(object("ImagePolicy", "strict", "shop", {{"digset", "Require"}}), {});
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(typo.status().message(),
              HasSubstr("ImagePolicy \"shop/strict\": spec.digset: unknown field"));

  auto duration = parseObject(
      object("ClusterImagePolicy", "p", "", {{"exceptionPolicy", {{"maxDuration", "30d"}}}}), {});
  ASSERT_FALSE(duration.ok());
  EXPECT_THAT(duration.status().message(),
              HasSubstr("spec.exceptionPolicy.maxDuration: \"30d\" must be a duration"));

  auto selector =
      parseObject(object("ClusterImagePolicy", "p", "",
                         {{"match",
                           {{"namespaceSelector",
                             {{"matchExpressions", {{{"key", "env"}, {"operator", "In"}}}}}}}}}),
                  {});
  ASSERT_FALSE(selector.ok());
  EXPECT_THAT(selector.status().message(),
              HasSubstr("spec.match.namespaceSelector.matchExpressions[0].values: must not be "
                        "empty for In and NotIn"));
}

TEST(PolicyObjectTest, ANamespacedPolicyNamesNoOtherNamespaces) {
  ImagePolicy p = policyOf(object("ImagePolicy", "strict", "shop", {{"digest", "Require"}}));
  EXPECT_EQ(p.name, "shop/strict");
  EXPECT_EQ(p.resourceName, "strict");
  EXPECT_EQ(p.scope, PolicyScope::kNamespace);
  EXPECT_EQ(p.nameSpace, "shop");

  for (const json& match : {json{{"namespaces", {"other"}}},
                            json{{"namespaceSelector", {{"matchLabels", {{"a", "b"}}}}}}}) {
    auto bad = parseObject(object("ImagePolicy", "strict", "shop", {{"match", match}}), {});
    ASSERT_FALSE(bad.ok());
    EXPECT_THAT(bad.status().message(), HasSubstr("spec.match.namespace"));
    EXPECT_THAT(bad.status().message(), HasSubstr("unknown field (known fields: images)"));
  }
}

TEST(PolicyObjectTest, ExceptionsNeedAnEndAReasonAndVulnerabilitiesForCves) {
  ImageException ex = exceptionOf(
      object("ImageException", "vendor-cve", "shop", exceptionSpec({"vulnerabilities"})));
  EXPECT_EQ(ex.nameSpace, "shop");
  EXPECT_EQ(ex.name, "vendor-cve");
  EXPECT_EQ(ex.expiresAt, at("2026-12-10T00:00:00Z"));
  ASSERT_TRUE(ex.created.has_value());
  EXPECT_EQ(*ex.created, kCreated);
  EXPECT_EQ(ex.owner, "team-shop");

  json noEnd = exceptionSpec({"digest"});
  noEnd.erase("expiresAt");
  auto a = parseObject(object("ImageException", "x", "shop", noEnd), {});
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("spec.expiresAt: is required"));

  json noReason = exceptionSpec({"digest"});
  noReason.erase("reason");
  auto b = parseObject(object("ImageException", "x", "shop", noReason), {});
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("spec.reason: is required"));

  json cves = exceptionSpec({"digest"});
  cves["cves"] = {"CVE-2024-1"};
  auto c = parseObject(object("ImageException", "x", "shop", cves), {});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("spec.cves: needs vulnerabilities in spec.checks"));

  auto d = parseObject(object("ImageException", "x", "", exceptionSpec({"digest"})), {});
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("metadata.namespace: is required"));

  // An exception names the images it covers; "**" says "all" explicitly.
  for (json images : {json::array(), json(nullptr)}) {
    json noImages = exceptionSpec({"digest"});
    if (images.is_null()) {
      noImages.erase("images");
    } else {
      noImages["images"] = images;
    }
    auto e = parseObject(object("ImageException", "x", "shop", noImages), {});
    ASSERT_FALSE(e.ok());
    EXPECT_THAT(e.status().message(),
                HasSubstr("spec.images: must name at least one image glob or digest"));
  }
}

TEST(PolicyFileTest, HoldsEveryKindAndKeepsTheLegacyClusterWideImagePolicy) {
  auto set = parsePolicies(R"(apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: legacy}
spec: {digest: Require}
---
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: registries}
spec: {registries: [harbor.example.com], digest: Optional}
---
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: strict, namespace: shop}
spec: {digest: Require}
---
apiVersion: harbormaster.io/v1alpha1
kind: ImageException
metadata: {name: legacy-tags, namespace: shop}
spec: {policies: [legacy], images: ["**"], checks: [digest], expiresAt: "2027-01-01T00:00:00Z",
       reason: OPS-1}
)",
                           "policy.yaml", {});
  ASSERT_TRUE(set.ok()) << set.status().message();
  ASSERT_EQ(set->policies.size(), 3u);
  EXPECT_EQ(set->policies[0].scope, PolicyScope::kCluster);
  EXPECT_EQ(set->policies[1].name, "registries");
  EXPECT_EQ(set->policies[2].name, "shop/strict");
  ASSERT_EQ(set->exceptions.at("shop").size(), 1u);
  EXPECT_FALSE(set->exceptions.at("shop")[0].created.has_value());
}

TEST(LabelSelectorTest, MatchesAsKubernetesDoes) {
  LabelSelector sel;
  sel.matchLabels = {{"env", "prod"}};
  sel.matchExpressions = {{"tier", LabelRequirement::Op::kIn, {"web", "api"}},
                          {"legacy", LabelRequirement::Op::kDoesNotExist, {}},
                          {"team", LabelRequirement::Op::kExists, {}},
                          {"zone", LabelRequirement::Op::kNotIn, {"eu"}}};
  EXPECT_TRUE(selectorMatches(sel, {{"env", "prod"}, {"tier", "web"}, {"team", "a"}}));
  EXPECT_FALSE(selectorMatches(sel, {{"env", "dev"}, {"tier", "web"}, {"team", "a"}}));
  EXPECT_FALSE(selectorMatches(sel, {{"env", "prod"}, {"tier", "db"}, {"team", "a"}}));
  EXPECT_FALSE(selectorMatches(sel, {{"env", "prod"}, {"tier", "web"}}));
  EXPECT_FALSE(
      selectorMatches(sel, {{"env", "prod"}, {"tier", "web"}, {"team", "a"}, {"legacy", ""}}));
  EXPECT_FALSE(
      selectorMatches(sel, {{"env", "prod"}, {"tier", "web"}, {"team", "a"}, {"zone", "eu"}}));
  EXPECT_TRUE(selectorMatches(LabelSelector{}, {}));
}

TEST(NamespaceSelectorTest, FollowsTheNamespacesLabelsAndNeverOptsInProtectedOnes) {
  ImagePolicy p =
      policyOf(object("ClusterImagePolicy", "production", "",
                      {{"match", {{"namespaceSelector", {{"matchLabels", {{"env", "prod"}}}}}}}}));
  const std::string tagged = "harbor.example.com/shop/web:1.4";
  auto labelled = setOf({p}, {}, {{"shop", {{"env", "prod"}}}, {"dev", {{"env", "dev"}}}});
  EXPECT_TRUE(evaluate(labelled, "shop", {use(tagged)}, kNow).denied());
  EXPECT_FALSE(evaluate(labelled, "dev", {use(tagged)}, kNow).denied());
  auto relabelled = setOf({p}, {}, {{"shop", {{"env", "dev"}}}});
  EXPECT_FALSE(evaluate(relabelled, "shop", {use(tagged)}, kNow).denied());
  auto protectedNs = setOf({p}, {}, {{"kube-system", {{"env", "prod"}}}});
  EXPECT_FALSE(evaluate(protectedNs, "kube-system", {use(tagged)}, kNow).denied());

  // The name every namespace carries works without cluster labels too.
  ImagePolicy byName = policyOf(object(
      "ClusterImagePolicy", "by-name", "",
      {{"match",
        {{"namespaceSelector", {{"matchLabels", {{"kubernetes.io/metadata.name", "shop"}}}}}}}}));
  PolicySet noCluster = setOf({byName});
  noCluster.namespaceLabels = nullptr;
  EXPECT_TRUE(evaluate(noCluster, "shop", {use(tagged)}, kNow).denied());
  EXPECT_FALSE(evaluate(noCluster, "other", {use(tagged)}, kNow).denied());
}

TEST(TenancyTest, ANamespacedPolicyJudgesItsNamespaceOnlyAndCannotWeakenAClusterPolicy) {
  ImagePolicy tenant =
      policyOf(object("ImagePolicy", "registries", "shop",
                      {{"registries", {"harbor.example.com"}}, {"digest", "Off"}}));
  auto onlyTenant = setOf({tenant});
  Evaluation shop = evaluate(onlyTenant, "shop", {use("docker.io/library/nginx:1.25")}, kNow);
  EXPECT_THAT(checks(shop), ElementsAre(Check::kRegistry));
  EXPECT_THAT(shop.matchedPolicies, ElementsAre("shop/registries"));
  EXPECT_FALSE(evaluate(onlyTenant, "other", {use("docker.io/library/nginx:1.25")}, kNow).denied());

  // digest: Off in the tenant's policy does not lift the cluster's Require.
  ImagePolicy cluster = policyOf(object("ClusterImagePolicy", "production", "", json::object()));
  auto both = setOf({cluster, tenant});
  Evaluation ev = evaluate(both, "shop", {use("harbor.example.com/shop/web:1.4")}, kNow);
  EXPECT_TRUE(ev.denied());
  EXPECT_THAT(checks(ev), ElementsAre(Check::kDigest));
  EXPECT_EQ(ev.findings[0].policy, "production");
}

// A ClusterImagePolicy that lets ImageExceptions apply (they are closed by default).
const json kAllowing = {{"exceptionPolicy", {{"allowed", true}}}};

ImagePolicy shortLivedClosed() {
  return policyOf(object("ClusterImagePolicy", "production", "",
                         {{"exceptionPolicy", {{"maxDuration", "168h"}}}}));
}

TEST(ImageExceptionTest, ExceptsItsChecksInItsNamespaceUntilItExpires) {
  ImagePolicy p = policyOf(object("ClusterImagePolicy", "production", "", kAllowing));
  ImageException ex =
      exceptionOf(object("ImageException", "tags", "shop", exceptionSpec({"digest"})));
  auto set = setOf({p}, {ex});
  const std::string tagged = "harbor.example.com/shop/web:1.4";
  Evaluation excepted = evaluate(set, "shop", {use(tagged)}, kNow);
  EXPECT_FALSE(excepted.denied());
  EXPECT_EQ(excepted.exceptionsApplied(), 1);

  EXPECT_TRUE(evaluate(set, "other", {use(tagged)}, kNow).denied()) << "own namespace only";
  EXPECT_TRUE(evaluate(set, "shop", {use("harbor.example.com/ops/tool:1")}, kNow).denied())
      << "its images only";

  // At its time, exactly: the review a second later is denied and says why.
  EXPECT_FALSE(evaluate(set, "shop", {use(tagged)}, at("2026-12-09T23:59:59Z")).denied());
  Evaluation expired = evaluate(set, "shop", {use(tagged)}, at("2026-12-10T00:00:00Z"));
  ASSERT_TRUE(expired.denied());
  EXPECT_THAT(expired.findings[0].note,
              HasSubstr("ImageException shop/tags expired 2026-12-10T00:00:00Z"));

  // Another policy's exception does not apply to this one.
  json other = exceptionSpec({"digest"});
  other["policies"] = {"someone-else"};
  auto unrelated = setOf({p}, {exceptionOf(object("ImageException", "o", "shop", other))});
  EXPECT_TRUE(evaluate(unrelated, "shop", {use(tagged)}, kNow).denied());
}

TEST(ImageExceptionTest, AnExactDigestMatchesThePinnedOrResolvedDigest) {
  ImagePolicy p = policyOf(
      object("ClusterImagePolicy", "production", "",
             {{"registries", {"harbor.example.com"}}, {"exceptionPolicy", {{"allowed", true}}}}));
  json spec = exceptionSpec({"registry"});
  spec["images"] = {kDigest};
  auto set = setOf({p}, {exceptionOf(object("ImageException", "d", "shop", spec))});
  EXPECT_FALSE(evaluate(set, "shop", {use("quay.io/x/y@" + kDigest)}, kNow).denied());
  EXPECT_TRUE(
      evaluate(set, "shop", {use("quay.io/x/y@sha256:" + std::string(64, 'd'))}, kNow).denied());
}

TEST(ImageExceptionTest, ThePolicysExceptionPolicyGovernsIt) {
  const std::string tagged = "harbor.example.com/shop/web:1.4";
  ImageException ex =
      exceptionOf(object("ImageException", "tags", "shop", exceptionSpec({"digest"})));
  std::map<std::string, Labels> labels{{"shop", {{"exceptions", "allowed"}}}};

  ImagePolicy closed = policyOf(
      object("ClusterImagePolicy", "production", "", {{"exceptionPolicy", {{"allowed", false}}}}));
  Evaluation a = evaluate(setOf({closed}, {ex}, labels), "shop", {use(tagged)}, kNow);
  ASSERT_TRUE(a.denied());
  EXPECT_THAT(a.findings[0].note, HasSubstr("takes no ImageExceptions"));

  ImagePolicy selective =
      policyOf(object("ClusterImagePolicy", "production", "",
                      {{"exceptionPolicy",
                        {{"allowed", true},
                         {"namespaceSelector", {{"matchLabels", {{"exceptions", "allowed"}}}}}}}}));
  EXPECT_FALSE(evaluate(setOf({selective}, {ex}, labels), "shop", {use(tagged)}, kNow).denied());
  auto unlabelled = setOf({selective}, {ex}, {{"shop", {}}});
  Evaluation b = evaluate(unlabelled, "shop", {use(tagged)}, kNow);
  ASSERT_TRUE(b.denied());
  EXPECT_THAT(b.findings[0].note, HasSubstr("from namespace shop"));

  // 9 days from creation against a 7-day maximum.
  ImagePolicy shortLived =
      policyOf(object("ClusterImagePolicy", "production", "",
                      {{"exceptionPolicy", {{"allowed", true}, {"maxDuration", "168h"}}}}));
  Evaluation c = evaluate(setOf({shortLived}, {ex}, labels), "shop", {use(tagged)}, kNow);
  ASSERT_TRUE(c.denied());
  EXPECT_THAT(c.findings[0].note, HasSubstr("at most 168h from creation"));

  // Allowed, the default maximum is 30 days: 31 is too long.
  ImagePolicy open = policyOf(object("ClusterImagePolicy", "production", "", kAllowing));
  ImageException longOne = exceptionOf(
      object("ImageException", "long", "shop", exceptionSpec({"digest"}, "2027-01-01T00:00:01Z")));
  EXPECT_TRUE(evaluate(setOf({open}, {longOne}), "shop", {use(tagged)}, kNow).denied());
  EXPECT_FALSE(evaluate(setOf({open}, {ex}), "shop", {use(tagged)}, kNow).denied());

  // Closed by default: a ClusterImagePolicy that says nothing takes no ImageException...
  ImagePolicy defaults = policyOf(object("ClusterImagePolicy", "production", "", json::object()));
  EXPECT_FALSE(defaults.exceptionPolicy.allowed);
  Evaluation d = evaluate(setOf({defaults}, {ex}), "shop", {use(tagged)}, kNow);
  ASSERT_TRUE(d.denied());
  EXPECT_THAT(d.findings[0].note, HasSubstr("takes no ImageExceptions"));
  EXPECT_EQ(standing(ex, setOf({defaults}), kNow).reason, "NotAllowed");
  // ... nor does one that sets only a maximum; a namespace's own ImagePolicy takes its own.
  EXPECT_FALSE(shortLivedClosed().exceptionPolicy.allowed);
  ImagePolicy own = policyOf(object("ImagePolicy", "production", "shop", json::object()));
  EXPECT_TRUE(own.exceptionPolicy.allowed);
  EXPECT_FALSE(evaluate(setOf({own}, {ex}), "shop", {use(tagged)}, kNow).denied());
}

TEST(ImageExceptionTest, ACveExceptionExceptsExactlyItsCves) {
  json spec = {{"vulnerabilities", {{"severity", "High"}}},
               {"digest", "Optional"},
               {"exceptionPolicy", {{"allowed", true}}}};
  ImagePolicy p = policyOf(object("ClusterImagePolicy", "production", "", spec));
  json exSpec = exceptionSpec({"vulnerabilities"});
  exSpec["cves"] = {"CVE-2026-1"};
  auto set = setOf({p}, {exceptionOf(object("ImageException", "cve", "shop", exSpec))});

  auto facts = [](std::vector<std::string> ids) {
    auto f = std::make_shared<ScanFacts>();
    f->digest = kDigest;
    ArtifactScan a;
    a.digest = kDigest;
    a.state = ScanState::kSuccess;
    a.status = "Success";
    for (auto& id : ids) {
      a.findings.push_back({std::move(id), "openssl", "1.0", "1.1", "Critical"});
    }
    a.total = static_cast<int64_t>(a.findings.size());
    f->artifacts.push_back(std::move(a));
    return f;
  };
  ImageUse one = use("harbor.example.com/shop/web:1.4");
  one.scan = facts({"CVE-2026-1"});
  EXPECT_FALSE(evaluate(set, "shop", {one}, kNow).denied());

  ImageUse two = use("harbor.example.com/shop/web:1.4");
  two.scan = facts({"CVE-2026-1", "CVE-2026-2"});
  Evaluation ev = evaluate(set, "shop", {two}, kNow);
  ASSERT_TRUE(ev.denied());
  EXPECT_THAT(ev.findings[0].problem, HasSubstr("CVE-2026-2"));
  EXPECT_THAT(ev.findings[0].problem, ::testing::Not(HasSubstr("CVE-2026-1 ")));

  // In another namespace the CVE counts.
  EXPECT_TRUE(evaluate(set, "other", {one}, kNow).denied());
}

TEST(StandingTest, SaysWhetherAnExceptionAppliesAndWhy) {
  ImagePolicy p =
      policyOf(object("ClusterImagePolicy", "production", "",
                      {{"exceptionPolicy", {{"allowed", true}, {"maxDuration", "720h"}}}}));
  ImageException ex =
      exceptionOf(object("ImageException", "tags", "shop", exceptionSpec({"digest"})));
  auto set = setOf({p});
  ExceptionStanding active = standing(ex, set, kNow);
  EXPECT_EQ(active.state, ExceptionState::kActive);
  EXPECT_EQ(active.reason, "Active");
  EXPECT_EQ(active.message, "applies to production until 2026-12-10T00:00:00Z");

  ExceptionStanding expired = standing(ex, set, at("2026-12-10T00:00:00Z"));
  EXPECT_EQ(expired.state, ExceptionState::kExpired);
  EXPECT_EQ(exceptionStateName(expired.state), "Expired");

  json missing = exceptionSpec({"digest"});
  missing["policies"] = {"production", "nope"};
  ExceptionStanding notFound =
      standing(exceptionOf(object("ImageException", "m", "shop", missing)), set, kNow);
  EXPECT_EQ(notFound.state, ExceptionState::kRejected);
  EXPECT_EQ(notFound.reason, "PolicyNotFound");

  ImagePolicy tight =
      policyOf(object("ClusterImagePolicy", "production", "",
                      {{"exceptionPolicy", {{"allowed", true}, {"maxDuration", "24h"}}}}));
  ExceptionStanding tooLong = standing(ex, setOf({tight}), kNow);
  EXPECT_EQ(tooLong.state, ExceptionState::kRejected);
  EXPECT_EQ(tooLong.reason, "ExceedsMaxDuration");

  // A namespaced policy of another namespace is not found from here.
  ImagePolicy elsewhere = policyOf(object("ImagePolicy", "production", "other", json::object()));
  EXPECT_EQ(standing(ex, setOf({elsewhere}), kNow).reason, "PolicyNotFound");
}

}  // namespace
}  // namespace hm::policy

namespace hm::policy {
namespace {

TEST(PinTest, TemplatesMayNameTagsAPodThatReachesValidationUnpinnedIsDenied) {
  ImagePolicy pin = policyOf(object("ClusterImagePolicy", "pin", "", {{"digest", "Pin"}}));
  EXPECT_EQ(pin.digest, DigestRule::kPin);
  auto set = setOf({pin});
  ImageUse inTemplate = use("harbor.example.com/shop/web:1.4");
  inTemplate.path = "spec.template.spec.containers[0].image";
  EXPECT_FALSE(evaluate(set, "shop", {inTemplate}, kNow).denied());

  ImageUse inPod = use("harbor.example.com/shop/web:1.4");
  inPod.pod = true;
  inPod.resolvedDigest = kDigest;
  Evaluation ev = evaluate(set, "shop", {inPod}, kNow);
  ASSERT_TRUE(ev.denied());
  EXPECT_THAT(ev.findings[0].fix, HasSubstr("harbor.example.com/shop/web@" + kDigest));
  EXPECT_THAT(ev.findings[0].fix, HasSubstr("the mutating webhook did not pin this one"));

  ImageUse pinned = use("harbor.example.com/shop/web:1.4@" + kDigest);
  pinned.pod = true;
  EXPECT_FALSE(evaluate(set, "shop", {pinned}, kNow).denied());

  // A Require policy beside it still denies a tag in a template.
  ImagePolicy require = policyOf(object("ClusterImagePolicy", "require", "", json::object()));
  EXPECT_TRUE(evaluate(setOf({pin, require}), "shop", {inTemplate}, kNow).denied());

  // The plan asks for the digest of a new Pod image only.
  auto plan = planReview(set, "shop", {inPod});
  EXPECT_TRUE(plan.images[0].wantsPin());
  inPod.unchanged = true;
  EXPECT_FALSE(planReview(set, "shop", {inPod}).images[0].wantsPin());
  EXPECT_FALSE(planReview(set, "shop", {inTemplate}).images[0].wantsPin());
}

}  // namespace
}  // namespace hm::policy
