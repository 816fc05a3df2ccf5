// admission::mutate: the JSONPatch that pins a Pod's images, applied to the object it came from
// (nlohmann's RFC 6902 implementation) and compared with what the Pod must become.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harbormaster/admission/review.h"
#include "harbormaster/base/encoding.h"

namespace hm::admission {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');
const std::string kD3 = "sha256:" + std::string(64, '3');

policy::PolicySet pinSet(policy::Mode mode = policy::Mode::kEnforce,
                         policy::DigestRule digest = policy::DigestRule::kPin) {
  policy::ImagePolicy p;
  p.name = "pin";
  p.resourceName = "pin";
  p.mode = mode;
  p.digest = digest;
  policy::PolicySet set;
  set.policies.push_back(p);
  set.defaultExcludedNamespaces = {"kube-system", "harbormaster"};
  return set;
}

json pod(json spec, json metadata = {{"name", "web"}, {"namespace", "shop"}}) {
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", metadata}, {"spec", spec}};
}

json review(const json& object, std::string ns = "shop", std::string kind = "Pod",
            std::string group = "", std::string operation = "CREATE", std::string subResource = "",
            json oldObject = nullptr) {
  json req = {
      {"uid", "u-1"},           {"kind", {{"group", group}, {"version", "v1"}, {"kind", kind}}},
      {"operation", operation}, {"namespace", ns},
      {"name", "web"},          {"object", object}};
  if (!subResource.empty()) {
    req["subResource"] = subResource;
  }
  if (!oldObject.is_null()) {
    req["oldObject"] = oldObject;
  }
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", req}};
}

// Decodes, "resolves" tags from `digests` (as gather() would), plans and mutates.
Outcome run(const json& body, const policy::PolicySet& set,
            const std::map<std::string, std::string>& digests) {
  auto request = decode(body.dump());
  EXPECT_TRUE(request.ok()) << request.status().message();
  for (auto& use : request->images) {
    auto it = digests.find(use.image);
    if (it != digests.end()) {
      use.resolvedDigest = it->second;
    } else {
      use.unresolved = "resolving " + use.image + ": manifest unknown";
    }
  }
  auto plan = policy::planReview(set, request->ns, request->images);
  return mutate(std::move(request).value(), plan);
}

json responseOf(const Outcome& out) {
  return json::parse(out.body)["response"];
}

// The patch as the API server applies it.
json applied(const json& object, const Outcome& out) {
  json response = responseOf(out);
  EXPECT_EQ(response.value("patchType", ""), "JSONPatch");
  auto decoded = base64Decode(response.value("patch", ""));
  EXPECT_TRUE(decoded.has_value());
  return object.patch(json::parse(*decoded));
}

TEST(MutateTest, PinsEveryContainerListAndRecordsWhatItPinned) {
  json object = pod({{"initContainers", {{{"name", "init"}, {"image", "busybox:1.36"}}}},
                     {"containers",
                      {{{"name", "web"}, {"image", "harbor.example.com/shop/web:1.4"}},
                       {{"name", "nested"}, {"image", "harbor.example.com:8443/team/a/b/app:2"}},
                       {{"name", "untagged"}, {"image", "nginx"}},
                       {{"name", "pinned"}, {"image", "harbor.example.com/shop/x:1@" + kD3}}}},
                     {"ephemeralContainers", {{{"name", "debug"}, {"image", "busybox:1.36"}}}}});
  Outcome out = run(review(object), pinSet(),
                    {{"busybox:1.36", kD1},
                     {"harbor.example.com/shop/web:1.4", kD2},
                     {"harbor.example.com:8443/team/a/b/app:2", kD3},
                     {"nginx", kD1}});
  EXPECT_EQ(out.decision, Decision::kAllowed);
  EXPECT_EQ(out.pins.pinned, 5);
  EXPECT_EQ(out.pins.alreadyPinned, 1);
  EXPECT_EQ(out.pins.unresolved, 0);
  json after = applied(object, out);
  EXPECT_EQ(after["spec"]["initContainers"][0]["image"], "busybox:1.36@" + kD1);
  EXPECT_EQ(after["spec"]["containers"][0]["image"], "harbor.example.com/shop/web:1.4@" + kD2);
  EXPECT_EQ(after["spec"]["containers"][1]["image"],
            "harbor.example.com:8443/team/a/b/app:2@" + kD3);
  EXPECT_EQ(after["spec"]["containers"][2]["image"], "nginx@" + kD1);
  EXPECT_EQ(after["spec"]["containers"][3]["image"], "harbor.example.com/shop/x:1@" + kD3)
      << "already pinned: as written";
  EXPECT_EQ(after["spec"]["ephemeralContainers"][0]["image"], "busybox:1.36@" + kD1);
  json record = json::parse(
      after["metadata"]["annotations"]["harbormaster.io/pinned-images"].get<std::string>());
  EXPECT_EQ(record["web"], "harbor.example.com/shop/web:1.4@" + kD2);
  EXPECT_EQ(record["init"], "busybox:1.36@" + kD1);
  EXPECT_FALSE(record.contains("pinned"));
  // The rest of the object is untouched.
  after["spec"] = object["spec"];
  after["metadata"].erase("annotations");
  EXPECT_EQ(after, object);
}

TEST(MutateTest, AddsToExistingAnnotationsAndAnEarlierRecord) {
  json meta = {{"name", "web"},
               {"namespace", "shop"},
               {"annotations",
                {{"team", "shop"},
                 {"harbormaster.io/pinned-images", json{{"sidecar", "envoy@" + kD3}}.dump()}}}};
  json object = pod(
      {{"containers", {{{"name", "web"}, {"image", "harbor.example.com/shop/web:1.4"}}}}}, meta);
  Outcome out = run(review(object), pinSet(), {{"harbor.example.com/shop/web:1.4", kD2}});
  json after = applied(object, out);
  EXPECT_EQ(after["metadata"]["annotations"]["team"], "shop");
  json record = json::parse(
      after["metadata"]["annotations"]["harbormaster.io/pinned-images"].get<std::string>());
  EXPECT_EQ(record["sidecar"], "envoy@" + kD3);
  EXPECT_EQ(record["web"], "harbor.example.com/shop/web:1.4@" + kD2);
}

TEST(MutateTest, AReinvocationOfAPinnedPodChangesNothing) {
  json object = pod({{"containers", {{{"name", "web"}, {"image", "h.example.com/a:1@" + kD1}}}}});
  Outcome out = run(review(object), pinSet(), {});
  EXPECT_EQ(out.pins.alreadyPinned, 1);
  EXPECT_TRUE(out.patch.empty());
  EXPECT_FALSE(responseOf(out).contains("patch"));
  EXPECT_TRUE(responseOf(out)["allowed"]);
}

TEST(MutateTest, ControllersOtherPoliciesAndExcludedNamespacesAreLeftAlone) {
  json deployment = {
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata", {{"name", "web"}}},
      {"spec",
       {{"template", {{"spec", {{"containers", {{{"name", "web"}, {"image", "a.io/b:1"}}}}}}}}}}};
  Outcome d = run(review(deployment, "shop", "Deployment", "apps"), pinSet(), {{"a.io/b:1", kD1}});
  EXPECT_EQ(d.decision, Decision::kSkipped);
  EXPECT_FALSE(responseOf(d).contains("patch"));

  json object = pod({{"containers", {{{"name", "web"}, {"image", "a.io/b:1"}}}}});
  for (auto rule : {policy::DigestRule::kRequire, policy::DigestRule::kOptional}) {
    Outcome o = run(review(object), pinSet(policy::Mode::kEnforce, rule), {{"a.io/b:1", kD1}});
    EXPECT_FALSE(responseOf(o).contains("patch")) << "only Pin policies pin";
  }
  Outcome excluded = run(review(object, "kube-system"), pinSet(), {{"a.io/b:1", kD1}});
  EXPECT_FALSE(responseOf(excluded).contains("patch"));
  EXPECT_EQ(excluded.pins.pinned, 0);
}

TEST(MutateTest, AnUnresolvedTagIsNeverGuessedTheModeDecides) {
  json object = pod({{"containers",
                      {{{"name", "web"}, {"image", "a.io/web:1"}},
                       {{"name", "gone"}, {"image", "a.io/gone:1"}}}}});
  const std::map<std::string, std::string> digests{{"a.io/web:1", kD1}};

  Outcome enforce = run(review(object), pinSet(policy::Mode::kEnforce), digests);
  EXPECT_EQ(enforce.decision, Decision::kDenied);
  EXPECT_EQ(enforce.pins.unresolved, 1);
  json r = responseOf(enforce);
  EXPECT_FALSE(r["allowed"]);
  EXPECT_FALSE(r.contains("patch")) << "a denied Pod gets no patch";
  EXPECT_THAT(r["status"]["message"].get<std::string>(),
              HasSubstr("container \"gone\" (spec.containers[1].image) a.io/gone:1 cannot be "
                        "pinned to a digest (resolving a.io/gone:1: manifest unknown)"));

  Outcome warn = run(review(object), pinSet(policy::Mode::kWarn), digests);
  EXPECT_EQ(warn.decision, Decision::kWarned);
  json after = applied(object, warn);
  EXPECT_EQ(after["spec"]["containers"][0]["image"], "a.io/web:1@" + kD1);
  EXPECT_EQ(after["spec"]["containers"][1]["image"], "a.io/gone:1") << "left as written";
  EXPECT_THAT(responseOf(warn)["warnings"][0].get<std::string>(),
              HasSubstr("a.io/gone:1 cannot be pinned"));

  Outcome audit = run(review(object), pinSet(policy::Mode::kAudit), digests);
  EXPECT_EQ(audit.decision, Decision::kAllowed);
  EXPECT_FALSE(responseOf(audit).contains("warnings"));
  EXPECT_THAT(responseOf(audit)["auditAnnotations"]["violations"].get<std::string>(),
              HasSubstr("pin/digest spec.containers[1].image"));
}

TEST(MutateTest, EphemeralContainersPinOnlyTheNewOneAndLeaveMetadataAlone) {
  json before = pod({{"containers", {{{"name", "web"}, {"image", "a.io/web:1@" + kD1}}}},
                     {"ephemeralContainers", {{{"name", "dbg1"}, {"image", "busybox:1"}}}}});
  json object = before;
  object["spec"]["ephemeralContainers"].push_back({{"name", "dbg2"}, {"image", "busybox:2"}});
  Outcome out = run(review(object, "shop", "Pod", "", "UPDATE", "ephemeralcontainers", before),
                    pinSet(), {{"busybox:1", kD1}, {"busybox:2", kD2}});
  json after = applied(object, out);
  EXPECT_EQ(after["spec"]["ephemeralContainers"][0]["image"], "busybox:1")
      << "an existing ephemeral container cannot change";
  EXPECT_EQ(after["spec"]["ephemeralContainers"][1]["image"], "busybox:2@" + kD2);
  EXPECT_FALSE(after["metadata"].contains("annotations"));

  // A plain Pod UPDATE is not ours to mutate (the image fields are immutable there anyway).
  Outcome update =
      run(review(object, "shop", "Pod", "", "UPDATE", "", before), pinSet(), {{"busybox:2", kD2}});
  EXPECT_EQ(update.decision, Decision::kSkipped);
}

TEST(MutateTest, MalformedReviewsAreInvalidNotCrashes) {
  auto bad = decode(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})");
  EXPECT_FALSE(bad.ok());
  json noMeta = {{"apiVersion", "v1"},
                 {"kind", "Pod"},
                 {"spec", {{"containers", {{{"name", "web"}, {"image", "a.io/web:1"}}}}}}};
  Outcome out = run(review(noMeta), pinSet(), {{"a.io/web:1", kD1}});
  // Without metadata there is nowhere to record; the image is still pinned.
  json after = applied(noMeta, out);
  EXPECT_EQ(after["spec"]["containers"][0]["image"], "a.io/web:1@" + kD1);
  EXPECT_THAT(out.evaluation.findings, IsEmpty());
}

}  // namespace
}  // namespace hm::admission
