// End to end: the webhook binary gating on Harbor scans, against harbor-sim fronting a real
// registry with images pushed by skopeo.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/certs.h"
#include "support/process.h"
#include "support/registry_rig.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"
#include "support/webhook_rig.h"

namespace hm::e2e {
namespace {

using hm::testing::Client;
using hm::testing::podReview;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

std::string vulns(const std::vector<std::pair<std::string, std::string>>& idSeverity) {
  json list = json::array();
  for (const auto& [id, severity] : idSeverity) {
    list.push_back({{"id", id},
                    {"package", "openssl"},
                    {"version", "3.0.1"},
                    {"fix_version", "3.0.9"},
                    {"severity", severity}});
  }
  return list.dump();
}

// One harbor-sim + registry for the suite; each test starts its own webhook with its policy.
class ScanGateE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rig_ = new hm::testing::HarborRig();
    layout_ = new hm::testing::OciLayout();
    rig_->createProject("shop");
  }
  static void TearDownTestSuite() {
    delete layout_;
    delete rig_;
  }

  // Pushes a fresh image to shop/<repo>:1 and sets its scan; returns the pinned reference.
  static std::string pushScanned(const std::string& repo, const std::string& status,
                                 const std::string& findings = "[]",
                                 const std::string& project = "shop") {
    const std::string tag = project + "-" + repo;  // layout tags must be unique
    auto img = layout_->addImage(tag, "image " + project + "/" + repo);
    layout_->push(tag, rig_->host() + "/" + project + "/" + repo + ":1", false,
                  "admin:" + rig_->adminPassword());
    if (!status.empty()) {
      rig_->setScan(R"({"digest":")" + img.digest + R"(","status":")" + status +
                    R"(","vulnerabilities":)" + findings + "}");
    }
    return rig_->host() + "/" + project + "/" + repo + "@" + img.digest;
  }

  void startWebhook(const std::string& vulnerabilities, std::vector<std::string> extra = {},
                    const std::string& password = "") {
    startWebhookWithPolicy(
        "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\n"
        "metadata: {name: scans}\nspec:\n  match: {namespaces: [shop]}\n"
        "  vulnerabilities:\n" +
            vulnerabilities,
        std::move(extra), password);
  }

  void startWebhookWithPolicy(const std::string& policy, std::vector<std::string> extra = {},
                              const std::string& password = "") {
    dir_.write("policy.yaml", policy);
    dir_.write("harbor-credentials",
               "admin:" + (password.empty() ? rig_->adminPassword() : password) + "\n");
    std::vector<std::string> flags = {"--policy",
                                      dir_.file("policy.yaml"),
                                      "--harbor-url",
                                      "http://" + rig_->host(),
                                      "--harbor-credentials-file",
                                      dir_.file("harbor-credentials")};
    flags.insert(flags.end(), extra.begin(), extra.end());
    webhook_ = hm::testing::startWebhook(dir_, flags);
    port_ = webhook_.port;
    metricsPort_ = webhook_.metricsPort;
    ASSERT_TRUE(webhook_.ready) << webhook_.process->output();
  }

  json review(const std::string& image) {
    json res = hm::testing::reviewResponse(port_, podReview(image));
    EXPECT_TRUE(res.is_object()) << webhook_.process->output();
    return res;
  }

  static std::string message(const json& response) { return hm::testing::denialMessage(response); }

  static hm::testing::HarborRig* rig_;
  static hm::testing::OciLayout* layout_;
  hm::testing::TempDir dir_;
  hm::testing::WebhookProcess webhook_;
  uint16_t port_ = 0;
  uint16_t metricsPort_ = 0;
};

hm::testing::HarborRig* ScanGateE2E::rig_ = nullptr;
hm::testing::OciLayout* ScanGateE2E::layout_ = nullptr;

TEST_F(ScanGateE2E, EachScanStateAndSeverityMixGetsItsOutcome) {
  std::string clean = pushScanned("clean", "Success");
  std::string low = pushScanned("low", "Success", vulns({{"CVE-2024-0003", "Low"}}));
  std::string high = pushScanned("high", "Success",
                                 vulns({{"CVE-2024-0001", "High"}, {"CVE-2024-0002", "Critical"}}));
  std::string pending = pushScanned("pending", "Running");
  std::string failed = pushScanned("failed", "Error");
  std::string unscanned = pushScanned("unscanned", "");
  startWebhook("    severity: High\n    failed: Warn\n");

  EXPECT_EQ(review(clean)["allowed"], true);
  EXPECT_EQ(review(low)["allowed"], true);
  json denied = review(high);
  EXPECT_EQ(denied["allowed"], false);
  std::string text = message(denied);
  EXPECT_THAT(text, HasSubstr(high.substr(high.find('@') + 1)));
  EXPECT_THAT(text, HasSubstr("has 1 Critical, 1 High findings; policy allows up to Medium"));
  EXPECT_THAT(text, HasSubstr("CVE-2024-0002 Critical in openssl 3.0.1 (fixed in 3.0.9)"));
  EXPECT_THAT(text, HasSubstr("/harbor/projects/1/repositories/high/artifacts-tab/artifacts/"));

  json stillScanning = review(pending);
  EXPECT_EQ(stillScanning["allowed"], false);
  EXPECT_THAT(message(stillScanning), HasSubstr("is still being scanned (Harbor says Running)"));
  json warned = review(failed);
  EXPECT_EQ(warned["allowed"], true);
  ASSERT_TRUE(warned.contains("warnings"));
  EXPECT_THAT(warned["warnings"][0].get<std::string>(), HasSubstr("has a failed scan"));
  json never = review(unscanned);
  EXPECT_EQ(never["allowed"], false);
  EXPECT_THAT(message(never), HasSubstr("has not been scanned by Harbor"));
}

TEST_F(ScanGateE2E, TagsAreResolvedAndJudgedByDigest) {
  std::string pinned = pushScanned("tagged", "Success", vulns({{"CVE-2024-0009", "High"}}));
  startWebhook("    severity: High\n");
  json res = review(rig_->host() + "/shop/tagged:1");
  EXPECT_EQ(res["allowed"], false);
  EXPECT_THAT(message(res), HasSubstr("has 1 High finding"));
  EXPECT_THAT(message(res), HasSubstr(pinned)) << "the digest fix names the resolved digest";
}

TEST_F(ScanGateE2E, EveryContainerOfAPodIsJudged) {
  std::string clean = pushScanned("side-clean", "Success");
  std::string bad = pushScanned("side-bad", "Success", vulns({{"CVE-2024-4242", "High"}}));
  startWebhook("    severity: High\n");
  json body = json::parse(podReview(clean));
  json& containers = body["request"]["object"]["spec"]["containers"];
  containers.push_back({{"name", "sidecar"}, {"image", bad}});
  containers.push_back({{"name", "again"}, {"image", clean}});
  Client c(port_);
  auto r = c.post("/validate?timeout=10s", body.dump());
  json res = json::parse(r.body)["response"];
  EXPECT_EQ(res["allowed"], false);
  EXPECT_THAT(message(res), HasSubstr("container \"sidecar\" (spec.containers[1].image)"));
  EXPECT_THAT(message(res), HasSubstr("CVE-2024-4242"));
  EXPECT_THAT(message(res), Not(HasSubstr("container \"again\"")));
}

TEST_F(ScanGateE2E, ScanAndDenyAsksHarborToScanOnce) {
  std::string image = pushScanned("fresh", "");
  startWebhook("    severity: High\n    notScanned: ScanAndDeny\n");
  rig_->control("DELETE", "/sim/stats");
  json first = review(image);
  EXPECT_EQ(first["allowed"], false);
  EXPECT_THAT(message(first), HasSubstr("asked Harbor to scan it, retry in about 60 s"));
  json second = review(image);
  EXPECT_EQ(second["allowed"], false);
  auto stats = json::parse(rig_->control("GET", "/sim/stats"))["requests"];
  // As sent on the wire: the digest's ':' is percent-encoded.
  std::string digest = "sha256%3A" + image.substr(image.find('@') + 8);
  EXPECT_EQ(stats.value(
                "POST /api/v2.0/projects/shop/repositories/fresh/artifacts/" + digest + "/scan", 0),
            1)
      << stats.dump();
}

TEST_F(ScanGateE2E, ADryRunAsksHarborToScanNothing) {
  std::string image = pushScanned("dry", "");
  startWebhook("    severity: High\n    notScanned: ScanAndDeny\n");
  rig_->control("DELETE", "/sim/stats");
  json body = json::parse(podReview(image));
  body["request"]["dryRun"] = true;
  json dry = hm::testing::reviewResponse(port_, body.dump());
  EXPECT_EQ(dry["allowed"], false);
  EXPECT_THAT(message(dry), HasSubstr("a scan would be requested (this is a dry run"));
  const std::string scanCall = "POST /api/v2.0/projects/shop/repositories/dry/artifacts/sha256%3A" +
                               image.substr(image.find('@') + 8) + "/scan";
  auto stats = json::parse(rig_->control("GET", "/sim/stats"))["requests"];
  EXPECT_EQ(stats.value(scanCall, 0), 0) << "a dry run has no side effects: " << stats.dump();
  json real = review(image);
  EXPECT_THAT(message(real), HasSubstr("asked Harbor to scan it"));
  stats = json::parse(rig_->control("GET", "/sim/stats"))["requests"];
  EXPECT_EQ(stats.value(scanCall, 0), 1) << "the request that is no dry run asks";
}

TEST_F(ScanGateE2E, ADigestOnlyDenialNamesTheDigestTheRegistryServes) {
  const std::string pinned = pushScanned("plain", "Success");
  const std::string tag = rig_->host() + "/shop/plain:1";
  const std::string policy =
      "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\n"
      "metadata: {name: pinned}\nspec:\n  match: {namespaces: [shop]}\n  digest: Require\n";
  startWebhookWithPolicy(policy);
  json res = review(tag);
  EXPECT_EQ(res["allowed"], false);
  EXPECT_THAT(message(res), HasSubstr("is not pinned by digest — use " + pinned));
  std::string out;
  EXPECT_EQ(
      hm::testing::runCommand({HM_BINARY, "check", "--policy", dir_.file("policy.yaml"),
                               "--namespace", "shop", "--harbor-url", "http://" + rig_->host(),
                               "--harbor-credentials-file", dir_.file("harbor-credentials"), tag},
                              out),
      1);
  EXPECT_THAT(out, HasSubstr("use " + pinned)) << "check names it too";

  startWebhookWithPolicy(policy, {"--digest-lookup-budget", "0s"});
  EXPECT_THAT(message(review(tag)),
              HasSubstr("use " + rig_->host() + "/shop/plain@sha256:<digest>"))
      << "with no budget for the lookup, the placeholder";
}

TEST_F(ScanGateE2E, AllowlistsFromPolicyProjectAndSystem) {
  std::string body;
  ASSERT_EQ(
      rig_->curl("POST", "/api/v2.0/projects",
                 R"({"project_name":"own-list","metadata":{"reuse_sys_cve_allowlist":"false"},)"
                 R"("cve_allowlist":{"items":[{"cve_id":"CVE-PRJ"}]}})",
                 body),
      201)
      << body;
  std::string byProject =
      pushScanned("app", "Success", vulns({{"CVE-PRJ", "Critical"}}), "own-list");
  std::string bySystem = pushScanned("sys", "Success", vulns({{"CVE-SYS", "Critical"}}));
  std::string byPolicy = pushScanned("pol", "Success", vulns({{"CVE-POL", "Critical"}}));
  std::string expired = pushScanned("old", "Success", vulns({{"CVE-OLD", "Critical"}}));
  ASSERT_EQ(rig_->curl("PUT", "/api/v2.0/system/CVEAllowlist",
                       R"({"items":[{"cve_id":"CVE-SYS"}]})", body),
            200);
  startWebhook(
      "    severity: High\n    allowlist:\n"
      "      - {id: CVE-POL, expires: \"2099-01-01T00:00:00Z\", reason: \"SEC-1\"}\n"
      "      - {id: CVE-OLD, expires: \"2020-01-01T00:00:00Z\", reason: \"SEC-2\"}\n",
      {"--namespace", "harbormaster"});
  // The policy matches namespace shop; own-list is a Harbor project, not a namespace.
  EXPECT_EQ(review(byProject)["allowed"], true) << message(review(byProject));
  EXPECT_EQ(review(bySystem)["allowed"], true) << message(review(bySystem));
  EXPECT_EQ(review(byPolicy)["allowed"], true) << message(review(byPolicy));
  json old = review(expired);
  EXPECT_EQ(old["allowed"], false);
  EXPECT_THAT(message(old), HasSubstr("CVE-OLD"));
  ASSERT_EQ(rig_->curl("PUT", "/api/v2.0/system/CVEAllowlist", R"({"items":[]})", body), 200);
}

TEST_F(ScanGateE2E, ProjectPreventVulIsAFloor) {
  std::string body;
  ASSERT_EQ(
      rig_->curl(
          "POST", "/api/v2.0/projects",
          R"({"project_name":"strict","metadata":{"prevent_vul":"true","severity":"medium"}})",
          body),
      201);
  std::string medium = pushScanned("app", "Success", vulns({{"CVE-MED", "Medium"}}), "strict");
  startWebhook("    severity: High\n");
  json res = review(medium);
  EXPECT_EQ(res["allowed"], false);
  EXPECT_THAT(message(res), HasSubstr("Harbor project strict prevents vulnerable images "
                                      "(prevent_vul), so the pull would fail"));
}

TEST_F(ScanGateE2E, IndexChildrenAreJudgedPerPlatform) {
  auto amd = layout_->addImage("idx-amd", "index amd64", "amd64");
  auto arm = layout_->addImage("idx-arm", "index arm64", "arm64");
  auto index = layout_->addIndex("idx", {amd, arm}, {"amd64", "arm64"});
  layout_->push("idx", rig_->host() + "/shop/multi:1", true, "admin:" + rig_->adminPassword());
  rig_->setScan(R"({"digest":")" + amd.digest + R"(","status":"Success"})");
  rig_->setScan(R"({"digest":")" + arm.digest + R"(","status":"Error"})");
  startWebhook("    severity: High\n");
  json res = review(rig_->host() + "/shop/multi@" + index.digest);
  EXPECT_EQ(res["allowed"], false);
  EXPECT_THAT(message(res), HasSubstr("platform linux/arm64"));
  EXPECT_THAT(message(res), HasSubstr("has a failed scan (Harbor says Error)"));
  EXPECT_THAT(message(res), Not(HasSubstr("linux/amd64")));
}

TEST_F(ScanGateE2E, HarborDownFollowsHarborUnreachable) {
  std::string cached = pushScanned("cached", "Success");
  std::string unseen = pushScanned("unseen", "Success");
  startWebhook("    severity: High\n    harborUnreachable: AllowIfCached\n",
               {"--scan-cache-ttl", "1s", "--scan-negative-ttl", "1s"});
  EXPECT_EQ(review(cached)["allowed"], true);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the 1 s TTL
  rig_->control("POST", "/sim/faults", R"({"path_prefix":"/api/v2.0/","status":503,"count":-1})");
  json stale = review(cached);
  json fresh = review(unseen);
  rig_->control("DELETE", "/sim/faults");
  EXPECT_EQ(stale["allowed"], true) << "the last facts seen serve AllowIfCached";
  EXPECT_EQ(fresh["allowed"], false);
  EXPECT_THAT(message(fresh), HasSubstr("Harbor is unreachable"));
  EXPECT_THAT(message(fresh), HasSubstr("no earlier scan of this digest is cached"));
  EXPECT_THAT(message(fresh), Not(HasSubstr("findings")));
}

TEST_F(ScanGateE2E, HarborDownDeniesOrAllowsAsConfigured) {
  std::string image = pushScanned("outage", "Success");
  startWebhook("    severity: High\n");
  rig_->control("POST", "/sim/faults", R"({"path_prefix":"/api/v2.0/","status":502,"count":-1})");
  json denied = review(image);
  rig_->control("DELETE", "/sim/faults");
  EXPECT_EQ(denied["allowed"], false);
  EXPECT_THAT(message(denied), HasSubstr("could not be checked: Harbor is unreachable"));

  webhook_.process.reset();
  startWebhook("    severity: High\n    harborUnreachable: Allow\n");
  rig_->control("POST", "/sim/faults", R"({"path_prefix":"/api/v2.0/","status":502,"count":-1})");
  json allowed = review(image);
  rig_->control("DELETE", "/sim/faults");
  EXPECT_EQ(allowed["allowed"], true);
  ASSERT_TRUE(allowed.contains("warnings"));
  EXPECT_THAT(allowed["warnings"][0].get<std::string>(), HasSubstr("Harbor is unreachable"));
}

TEST_F(ScanGateE2E, ASlowHarborIsCutAtTheReviewBudget) {
  std::string image = pushScanned("slow", "Success");
  startWebhook("    severity: High\n", {"--review-budget", "1s"});
  rig_->control("POST", "/sim/faults",
                R"({"path_prefix":"/api/v2.0/projects/shop","latency_ms":4000,"count":-1})");
  json res = review(image);
  rig_->control("DELETE", "/sim/faults");
  EXPECT_EQ(res["allowed"], false) << "an answer, not an API server timeout";
  EXPECT_THAT(message(res), HasSubstr("Harbor is unreachable"));
}

TEST_F(ScanGateE2E, ABurstForOneNewDigestMakesOneArtifactCall) {
  std::string image = pushScanned("burst", "Success", vulns({{"CVE-2024-1111", "Low"}}));
  startWebhook("    severity: High\n", {"--threads", "4"});
  rig_->control("DELETE", "/sim/stats");
  // Slow Harbor down so the reviews overlap the first lookup.
  rig_->control(
      "POST", "/sim/faults",
      R"({"path_prefix":"/api/v2.0/projects/shop/repositories/burst","latency_ms":300,"count":-1})");
  constexpr int kThreads = 50;
  constexpr int kPerThread = 10;  // 500 reviews
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  const std::string body = podReview(image);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Client c(port_);
      for (int i = 0; i < kPerThread; ++i) {
        auto r = c.post("/validate?timeout=10s", body);
        if (r.status == 200 && json::parse(r.body)["response"]["allowed"] == true) {
          ++allowed;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  rig_->control("DELETE", "/sim/faults");
  EXPECT_EQ(allowed.load(), kThreads * kPerThread);
  auto stats = json::parse(rig_->control("GET", "/sim/stats"))["requests"];
  std::string digest = "sha256%3A" + image.substr(image.find('@') + 8);
  EXPECT_EQ(stats.value("GET /api/v2.0/projects/shop/repositories/burst/artifacts/" + digest, 0), 1)
      << stats.dump();
  EXPECT_EQ(stats.value("GET /api/v2.0/projects/shop/repositories/burst/artifacts/" + digest +
                            "/additions/vulnerabilities",
                        0),
            1);
  std::string metrics = Client(metricsPort_, false).get("/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("harbormaster_scan_cache_lookups_total{result=\"miss\"}"));
  EXPECT_THAT(metrics, HasSubstr("harbormaster_scan_cache_lookups_total{result=\"hit\"}"));
  EXPECT_THAT(metrics, HasSubstr("harbormaster_harbor_request_duration_seconds_count{endpoint="
                                 "\"artifact\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("harbormaster_scan_verdicts_total{outcome=\"pass\"} 500"));
}

TEST_F(ScanGateE2E, HarborEventsInvalidateCachedFacts) {
  std::string image = pushScanned("evented", "Success");
  std::string digest = image.substr(image.find('@') + 1);
  dir_.write("events-secret", "Bearer s3cret-token\n");
  startWebhook("    severity: High\n", {"--harbor-events-secret-file", dir_.file("events-secret")});
  EXPECT_EQ(review(image)["allowed"], true);
  rig_->setScan(R"({"digest":")" + digest + R"(","status":"Success","vulnerabilities":)" +
                vulns({{"CVE-2024-7777", "Critical"}}) + "}");
  EXPECT_EQ(review(image)["allowed"], true) << "cached for the 60 s TTL";

  std::string event = R"({"type":"SCANNING_COMPLETED","occur_at":1767312000,"operator":"admin",)"
                      R"("event_data":{"resources":[{"digest":")" +
                      digest + R"(","tag":"1"}],"repository":{"repo_full_name":"shop/evented"}}})";
  Client c(port_);
  auto wrong = c.request("POST", "/harbor-events", event);
  EXPECT_EQ(wrong.status, 401) << "no Authorization header";
  EXPECT_EQ(review(image)["allowed"], true);
  // The test client cannot set headers; curl sends what Harbor's webhook job sends.
  std::string out;
  dir_.write("event.json", event);
  ASSERT_EQ(hm::testing::runCommand(
                {"/usr/bin/curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                 "Authorization: Bearer s3cret-token", "-H", "Content-Type: application/json",
                 "--data-binary", "@" + dir_.file("event.json"),
                 "https://127.0.0.1:" + std::to_string(port_) + "/harbor-events"},
                out),
            0);
  EXPECT_EQ(out, "200");
  json res = review(image);
  EXPECT_EQ(res["allowed"], false) << "the event made the webhook ask Harbor again";
  EXPECT_THAT(message(res), HasSubstr("CVE-2024-7777"));
}

TEST_F(ScanGateE2E, WrongCredentialsAreReportedAsSuch) {
  std::string image = pushScanned("creds", "Success");
  startWebhook("    severity: High\n", {}, "not-the-password");
  json res = review(image);
  EXPECT_EQ(res["allowed"], false);
  EXPECT_THAT(message(res), HasSubstr("Harbor refused Harbormaster's credentials"));
  EXPECT_THAT(message(res), HasSubstr("user admin"));
  EXPECT_THAT(message(res), Not(HasSubstr("not-the-password")));
  EXPECT_THAT(webhook_.process->output(), Not(HasSubstr("not-the-password")));
}

}  // namespace
}  // namespace hm::e2e
