// digest: Pin end to end: the webhook binary's POST /mutate against harbor-sim in front of the
// real registry (images pushed with skopeo), and POST /validate of what it returns.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "harbormaster/base/encoding.h"
#include "support/registry_rig.h"
#include "support/tls_client.h"
#include "support/webhook_rig.h"

namespace hm {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class PinE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rig_ = new testing::HarborRig();
    layout_ = new testing::OciLayout();
    rig_->createProject("shop");
  }
  static void TearDownTestSuite() {
    delete layout_;
    delete rig_;
  }

  // Pushes new content under shop/<repo>:<tag>; returns its digest. `scan`: its findings.
  static std::string push(const std::string& repo, const std::string& tag, const std::string& seed,
                          const json& findings = json::array()) {
    std::string layoutTag = repo + "-" + seed;
    std::replace(layoutTag.begin(), layoutTag.end(), ' ', '-');  // layout tags take no spaces
    auto img = layout_->addImage(layoutTag, seed);
    layout_->push(layoutTag, rig_->host() + "/shop/" + repo + ":" + tag, false,
                  "admin:" + rig_->adminPassword());
    rig_->setScan(
        json{{"digest", img.digest}, {"status", "Success"}, {"vulnerabilities", findings}}.dump());
    return img.digest;
  }

  void start(const std::string& mode, const std::string& extraSpec = "") {
    dir_.write("policy.yaml",
               "apiVersion: harbormaster.io/v1alpha1\nkind: ClusterImagePolicy\n"
               "metadata: {name: pinned}\nspec:\n  mode: " +
                   mode + "\n  match: {namespaces: [shop]}\n  digest: Pin\n" + extraSpec);
    dir_.write("harbor-credentials", "admin:" + rig_->adminPassword() + "\n");
    webhook_ = testing::startWebhook(
        dir_, {"--policy", dir_.file("policy.yaml"), "--harbor-url", "http://" + rig_->host(),
               "--harbor-credentials-file", dir_.file("harbor-credentials"),
               "--plain-http-registry", "127.0.0.1:1", "--review-budget", "5s"});
    ASSERT_TRUE(webhook_.ready) << webhook_.process->output();
  }

  json post(const std::string& path, const std::string& body) {
    testing::Client c(webhook_.port);
    auto r = c.post(path + "?timeout=10s", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? json::parse(r.body)["response"] : json();
  }

  // The Pod the API server would store after applying the patch.
  static std::string patched(const std::string& review, const json& response) {
    json body = json::parse(review);
    if (response.contains("patch")) {
      auto patch = json::parse(base64Decode(response["patch"].get<std::string>()).value_or(""));
      body["request"]["object"] = body["request"]["object"].patch(patch);
    }
    return body.dump();
  }

  static std::string imageOf(const std::string& review) {
    return json::parse(review)["request"]["object"]["spec"]["containers"][0]["image"];
  }

  static testing::HarborRig* rig_;
  static testing::OciLayout* layout_;
  testing::TempDir dir_;
  testing::WebhookProcess webhook_;
};

testing::HarborRig* PinE2E::rig_ = nullptr;
testing::OciLayout* PinE2E::layout_ = nullptr;

TEST_F(PinE2E, APodIsPinnedToTheDigestJudgedEvenIfTheTagMovesAfterwards) {
  const std::string clean = push("web", "1.4", "web clean");
  start("Enforce", "  vulnerabilities: {severity: High}\n");
  const std::string image = rig_->host() + "/shop/web:1.4";
  const std::string review = testing::podReview(image, "shop");

  json mutated = post("/mutate", review);
  ASSERT_TRUE(mutated.value("allowed", false)) << mutated.dump();
  EXPECT_EQ(mutated.value("patchType", ""), "JSONPatch");
  const std::string pod = patched(review, mutated);
  EXPECT_EQ(imageOf(pod), image + "@" + clean);
  json annotations = json::parse(pod)["request"]["object"]["metadata"]["annotations"];
  EXPECT_THAT(annotations.value("harbormaster.io/pinned-images", ""), HasSubstr(clean));

  // The tag now names a vulnerable image; the Pod still runs, and is judged as, what was pinned.
  push("web", "1.4", "web vulnerable",
       json::array({{{"id", "CVE-2026-9"},
                     {"package", "openssl"},
                     {"version", "1"},
                     {"fix_version", "2"},
                     {"severity", "Critical"}}}));
  json validated = post("/validate", pod);
  EXPECT_TRUE(validated.value("allowed", false)) << validated.dump();

  // Reinvoked with the pinned Pod: nothing more to do.
  json again = post("/mutate", pod);
  EXPECT_FALSE(again.contains("patch"));

  // Skipped or failed mutation: the unpinned Pod is denied by validation under Enforce.
  json unpinned = post("/validate", review);
  EXPECT_FALSE(unpinned.value("allowed", true));
  EXPECT_THAT(testing::denialMessage(unpinned), HasSubstr("is not pinned by digest"));

  testing::Client metrics(webhook_.metricsPort, false);
  EXPECT_THAT(metrics.get("/metrics").body,
              HasSubstr(R"(harbormaster_pins_total{result="pinned"} 1)"));
  EXPECT_THAT(metrics.get("/metrics").body,
              HasSubstr(R"(harbormaster_pins_total{result="already_pinned"} 1)"));
}

TEST_F(PinE2E, ControllersAreNeverMutated) {
  push("api", "2.0", "api");
  start("Enforce");
  json body = json::parse(
      testing::readText(testing::sharedFile("admission-samples/02-Deployment-CREATE.json")));
  body["request"]["object"]["spec"]["template"]["spec"]["containers"][0]["image"] =
      rig_->host() + "/shop/api:2.0";
  body["request"]["namespace"] = "shop";
  json mutated = post("/mutate", body.dump());
  EXPECT_TRUE(mutated.value("allowed", false));
  EXPECT_FALSE(mutated.contains("patch"));
  // And validation lets the template keep its tag.
  EXPECT_TRUE(post("/validate", body.dump()).value("allowed", false));
}

TEST_F(PinE2E, AnUnresolvableTagIsDeniedUnderEnforceAndLeftWithAWarningUnderWarn) {
  const std::string gone = "127.0.0.1:1/shop/gone:1";  // nothing listens there
  start("Enforce");
  json denied = post("/mutate", testing::podReview(gone, "shop"));
  EXPECT_FALSE(denied.value("allowed", true));
  EXPECT_FALSE(denied.contains("patch"));
  EXPECT_THAT(testing::denialMessage(denied), HasSubstr("cannot be pinned to a digest"));

  webhook_.process.reset();
  start("Warn");
  json warned = post("/mutate", testing::podReview(gone, "shop"));
  EXPECT_TRUE(warned.value("allowed", false));
  EXPECT_FALSE(warned.contains("patch"));
  ASSERT_TRUE(warned.contains("warnings")) << warned.dump();
  EXPECT_THAT(warned["warnings"][0].get<std::string>(), HasSubstr("cannot be pinned"));
}

}  // namespace
}  // namespace hm
