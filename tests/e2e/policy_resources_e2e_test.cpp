// Policies and exceptions as cluster resources, end to end: the real binaries (webhook with
// --cluster-policies, operator without Harbor) against kube-sim, driven with the real kubectl.
// Enforcement is observed by polling the webhook; nothing sleeps as an assertion.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harbormaster/base/time.h"
#include "support/kube_rig.h"
#include "support/process.h"
#include "support/registry_rig.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"
#include "support/webhook_rig.h"

namespace hm {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const std::string kTagged = "harbor.example.com/shop/web:1.4";
const std::string kDigest = "sha256:" + std::string(64, 'a');

class PolicyResourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string out;
    ASSERT_EQ(kube_.kubectl({"apply", "-f", std::string(HM_SOURCE_DIR) + "/crds"}, out), 0) << out;
    apply(R"(apiVersion: v1
kind: Namespace
metadata: {name: harbormaster}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {env: prod, exceptions: allowed}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
)");
    operator_ = std::make_unique<testing::Process>(
        std::vector<std::string>{HM_BINARY, "operator", "--kubeconfig", kube_.kubeconfig(),
                                 "--namespace", "harbormaster", "--leader-elect=false", "--listen",
                                 "127.0.0.1:0", "--ports-file", dir_.file("operator.ports")},
        dir_.file("operator.log"));
    opsPort_ = testing::waitForPorts(dir_.file("operator.ports"), *operator_)["listen"];
    webhook_ =
        testing::startWebhook(dir_, {"--cluster-policies=true", "--kubeconfig", kube_.kubeconfig(),
                                     "--namespace", "harbormaster", "--log-level", "warn"});
    ASSERT_TRUE(webhook_.ready) << webhook_.process->output();
  }

  void apply(const std::string& yaml) {
    dir_.write("apply.yaml", yaml);
    std::string out;
    ASSERT_EQ(kube_.kubectl({"apply", "-f", dir_.file("apply.yaml")}, out), 0) << out;
  }

  json review(const std::string& ns, const std::string& image = kTagged) {
    return testing::reviewResponse(webhook_.port, testing::podReview(image, ns));
  }
  bool allowed(const std::string& ns, const std::string& image = kTagged) {
    json r = review(ns, image);
    return r.is_object() && r.value("allowed", false);
  }
  // Polls until the review's verdict is `allow`; enforcement follows within seconds.
  bool becomes(bool allow, const std::string& ns, const std::string& image = kTagged) {
    return testing::eventually(15, [&] { return allowed(ns, image) == allow; });
  }

  std::string readyField(const std::vector<std::string>& what, const char* field) {
    return kube_.ready(what, field);
  }
  bool statusBecomes(const std::vector<std::string>& what, const std::string& ready) {
    return testing::eventually(15, [&] { return readyField(what, "status") == ready; });
  }
  std::string state(const std::vector<std::string>& what) {
    json o = kube_.get(what);
    return o.is_object() ? o.value("status", json::object()).value("state", "") : "";
  }

  std::string metrics(uint16_t port) {
    try {
      return testing::Client(port, false).get("/metrics").body;
    } catch (const std::exception&) {
      return "";
    }
  }

  testing::TempDir dir_;
  testing::KubeSimRig kube_;
  uint16_t opsPort_ = 0;
  std::unique_ptr<testing::Process> operator_;
  testing::WebhookProcess webhook_;
};

const char* kProduction = R"(apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: production}
spec:
  mode: %MODE%
  match:
    namespaceSelector: {matchLabels: {env: prod}}
  digest: Require
  exceptionPolicy:
    allowed: true
    namespaceSelector: {matchLabels: {exceptions: allowed}}
    maxDuration: 168h
)";

std::string production(const std::string& mode) {
  std::string y = kProduction;
  y.replace(y.find("%MODE%"), 6, mode);
  return y;
}

TEST_F(PolicyResourcesTest, AClusterPolicyIsEnforcedChangedAndDeletedThroughTheApi) {
  EXPECT_TRUE(allowed("shop")) << "no policy yet";
  apply(production("Enforce"));
  ASSERT_TRUE(becomes(false, "shop"));
  EXPECT_THAT(testing::denialMessage(review("shop")), HasSubstr("denied by policy \"production\""));
  EXPECT_TRUE(allowed("shop", "harbor.example.com/shop/web@" + kDigest));
  EXPECT_TRUE(allowed("other")) << "namespaceSelector: other has no env=prod label";
  ASSERT_TRUE(statusBecomes({"clusterimagepolicy", "production"}, "True"));
  json cip = kube_.get({"cip", "production"});
  EXPECT_EQ(cip["status"].value("checks", ""), "digest");
  EXPECT_EQ(cip["status"].value("enforcedGeneration", 0), cip["metadata"].value("generation", 0));

  // Warn admits with a warning.
  apply(production("Warn"));
  ASSERT_TRUE(becomes(true, "shop"));
  json warned = review("shop");
  ASSERT_TRUE(warned.contains("warnings")) << warned.dump();
  EXPECT_THAT(warned["warnings"][0].get<std::string>(), HasSubstr("not pinned by digest"));

  // The namespace selector follows label changes.
  std::string out;
  ASSERT_EQ(kube_.kubectl({"label", "namespace", "other", "env=prod"}, out), 0) << out;
  ASSERT_TRUE(testing::eventually(15, [&] { return review("other").contains("warnings"); }));

  // Decisions are counted per policy and check.
  EXPECT_THAT(
      metrics(webhook_.metricsPort),
      HasSubstr(
          R"(harbormaster_policy_decisions_total{check="digest",policy="production",result="warn"})"));

  // Deleting it stops enforcement within seconds.
  apply(production("Enforce"));
  ASSERT_TRUE(becomes(false, "shop"));
  ASSERT_EQ(kube_.kubectl({"delete", "clusterimagepolicy", "production"}, out), 0) << out;
  EXPECT_TRUE(becomes(true, "shop"));
}

TEST_F(PolicyResourcesTest, AnInvalidChangeKeepsTheLastValidGenerationAndSaysWhy) {
  apply(production("Enforce"));
  ASSERT_TRUE(becomes(false, "shop"));
  ASSERT_TRUE(statusBecomes({"cip", "production"}, "True"));
  const int64_t valid = kube_.get({"cip", "production"})["metadata"].value("generation", 0);

  // The API server accepts any string here; the loader refuses the regular expression.
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: production}
spec:
  mode: Warn
  signatures:
    attestors:
      - name: ci
        keyless:
          trustedRoot: /etc/harbormaster/signatures/public-good/trusted_root.json
          identities: [{issuer: "https://token.actions.githubusercontent.com", subjectRegExp: "(unclosed"}]
)");
  ASSERT_TRUE(statusBecomes({"cip", "production"}, "False"));
  EXPECT_EQ(readyField({"cip", "production"}, "reason"), "InvalidSpec");
  const std::string message = readyField({"cip", "production"}, "message");
  EXPECT_THAT(message, HasSubstr("spec.signatures.attestors[0].keyless.identities[0]"
                                 ".subjectRegExp: is not a valid regular expression"));
  EXPECT_THAT(message, HasSubstr("generation " + std::to_string(valid) + " stays in force"));
  EXPECT_EQ(kube_.get({"cip", "production"})["status"].value("enforcedGeneration", 0), valid);
  // The transition is an Event on the policy (kubectl describe shows it).
  EXPECT_TRUE(testing::eventually(15, [&] {
    return kube_.get({"events.events.k8s.io", "-A"}).dump().find("InvalidSpec") !=
           std::string::npos;
  }));
  // Still Enforce: the Warn generation never took effect.
  EXPECT_FALSE(allowed("shop"));
  EXPECT_THAT(metrics(webhook_.metricsPort),
              HasSubstr("harbormaster_policy_resource_rejections_total 1"));
  EXPECT_THAT(
      metrics(opsPort_),
      HasSubstr(R"(harbormaster_policy_resources{kind="ClusterImagePolicy",state="NotReady"} 1)"));

  // Fixing it takes effect.
  apply(production("Warn"));
  ASSERT_TRUE(becomes(true, "shop"));
  EXPECT_TRUE(statusBecomes({"cip", "production"}, "True"));
}

TEST_F(PolicyResourcesTest, ATenantPolicyJudgesOnlyItsNamespaceAndCannotWeakenTheCluster) {
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: registries, namespace: other}
spec:
  registries: [harbor.example.com]
  digest: "Off"
)");
  ASSERT_TRUE(becomes(false, "other", "docker.io/library/nginx:1.25"));
  EXPECT_THAT(testing::denialMessage(review("other", "docker.io/library/nginx:1.25")),
              HasSubstr("policy \"other/registries\""));
  EXPECT_TRUE(allowed("other", kTagged)) << "digest: Off in its own policy";
  EXPECT_TRUE(allowed("shop", "docker.io/library/nginx:1.25")) << "another namespace";
  ASSERT_TRUE(statusBecomes({"imagepolicy", "registries", "-n", "other"}, "True"));

  // The cluster's Require still holds in the tenant's namespace.
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: everywhere}
spec: {digest: Require}
)");
  EXPECT_TRUE(becomes(false, "other", kTagged));
}

TEST_F(PolicyResourcesTest, CheckJudgesWithTheClusterPoliciesAndAFileMerged) {
  apply(production("Enforce"));
  std::string out;
  const std::string kubeconfig = "--kubeconfig=" + kube_.kubeconfig();
  EXPECT_EQ(
      testing::runCommand({HM_BINARY, "check", kubeconfig, "--namespace", "shop", kTagged}, out), 1)
      << out;
  EXPECT_THAT(out, HasSubstr("DENIED"));
  EXPECT_THAT(out, HasSubstr("policy \"production\""));
  EXPECT_EQ(
      testing::runCommand({HM_BINARY, "check", kubeconfig, "--namespace", "other", kTagged}, out),
      0)
      << out;
  // A file's policy joins them.
  dir_.write("extra.yaml", R"(apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: registries}
spec: {registries: [quay.io], digest: "Off"}
)");
  EXPECT_EQ(testing::runCommand({HM_BINARY, "check", kubeconfig, "--policy",
                                 dir_.file("extra.yaml"), "--namespace", "other", kTagged},
                                out),
            1)
      << out;
  EXPECT_THAT(out, HasSubstr("policy \"registries\""));
  // A resource that does not load is an error naming it.
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: ImageException
metadata: {name: broken, namespace: shop}
spec: {policies: [production], images: ["**"], checks: [digest], expiresAt: "2026-13-45T00:00:00Z",
       reason: x}
)");
  EXPECT_EQ(
      testing::runCommand({HM_BINARY, "check", kubeconfig, "--namespace", "shop", kTagged}, out), 2)
      << out;
  EXPECT_THAT(out, HasSubstr("ImageException \"shop/broken\": spec.expiresAt"));
}

std::string exception(const std::string& name, const std::string& ns, WallTime expires) {
  return "apiVersion: harbormaster.io/v1alpha1\nkind: ImageException\nmetadata: {name: " + name +
         ", namespace: " + ns +
         "}\nspec:\n  policies: [production]\n  images: [\"harbor.example.com/shop/**\"]\n"
         "  checks: [digest]\n  expiresAt: \"" +
         formatRfc3339(expires) +
         "\"\n  reason: \"SHOP-7: tags until the pipeline pins\"\n"
         "  owner: team-shop\n";
}

TEST_F(PolicyResourcesTest, ExceptionsApplyWhereAllowedAndEndByThemselves) {
  std::string out;
  ASSERT_EQ(kube_.kubectl({"label", "namespace", "other", "env=prod"}, out), 0) << out;
  apply(production("Enforce"));
  ASSERT_TRUE(becomes(false, "shop"));
  ASSERT_TRUE(becomes(false, "other"));
  const WallTime now = std::chrono::system_clock::now();

  // Rejected: from a namespace the policy does not take exceptions from.
  apply(exception("tags", "other", now + std::chrono::hours(24)));
  ASSERT_TRUE(testing::eventually(15, [&] {
    return state({"iex", "tags", "-n", "other"}) == "Rejected";
  }));
  EXPECT_EQ(readyField({"iex", "tags", "-n", "other"}, "reason"), "NotAllowed");
  EXPECT_FALSE(allowed("other"));

  // Rejected: longer than maxDuration (168h).
  apply(exception("long", "shop", now + std::chrono::hours(24 * 8)));
  ASSERT_TRUE(testing::eventually(15, [&] {
    return state({"iex", "long", "-n", "shop"}) == "Rejected";
  }));
  EXPECT_EQ(readyField({"iex", "long", "-n", "shop"}, "reason"), "ExceedsMaxDuration");
  EXPECT_FALSE(allowed("shop"));

  // Active, and in force at once; it ends at its time, with no one touching it.
  const WallTime ends = std::chrono::floor<std::chrono::seconds>(now + std::chrono::seconds(6));
  apply(exception("short", "shop", ends));
  ASSERT_TRUE(becomes(true, "shop"));
  EXPECT_TRUE(testing::eventually(15, [&] {
    return state({"iex", "short", "-n", "shop"}) == "Active";
  }));
  // The waiver is on record: an Event on the exception says what it waives and who applied it.
  EXPECT_TRUE(testing::eventually(15, [&] {
    const std::string events = kube_.get({"events.events.k8s.io", "-n", "shop"}).dump();
    return events.find(
               "waives digest of policies production for images "
               "harbor.example.com/shop/** in namespace shop") != std::string::npos &&
           events.find("applied by kubectl-client-side-apply") != std::string::npos;
  }));
  ASSERT_TRUE(becomes(false, "shop"));
  EXPECT_GE(std::chrono::system_clock::now(), ends) << "it ended before its time";
  EXPECT_THAT(testing::denialMessage(review("shop")),
              HasSubstr("ImageException shop/short expired"));
  EXPECT_TRUE(testing::eventually(15, [&] {
    return state({"iex", "short", "-n", "shop"}) == "Expired";
  }));
}

// With Harbor: a CVE exception excepts exactly its CVEs; the rest of the scan still counts.
TEST(PolicyResourcesScanTest, ACveExceptionExceptsExactlyItsCves) {
  testing::TempDir dir;
  testing::KubeSimRig kube;
  testing::HarborRig harbor;
  testing::OciLayout layout;
  harbor.createProject("shop");
  auto img = layout.addImage("web", "cve exception image");
  layout.push("web", harbor.host() + "/shop/web:1", false, "admin:" + harbor.adminPassword());
  json findings = json::array();
  for (const char* id : {"CVE-2026-1001", "CVE-2026-1002"}) {
    findings.push_back({{"id", id},
                        {"package", "openssl"},
                        {"version", "3.0.1"},
                        {"fix_version", "3.0.9"},
                        {"severity", "Critical"}});
  }
  harbor.setScan(
      json{{"digest", img.digest}, {"status", "Success"}, {"vulnerabilities", findings}}.dump());
  const std::string image = harbor.host() + "/shop/web@" + img.digest;

  std::string out;
  ASSERT_EQ(kube.kubectl({"apply", "-f", std::string(HM_SOURCE_DIR) + "/crds"}, out), 0) << out;
  auto apply = [&](const std::string& yaml) {
    dir.write("apply.yaml", yaml);
    ASSERT_EQ(kube.kubectl({"apply", "-f", dir.file("apply.yaml")}, out), 0) << out;
  };
  apply(R"(apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: scans}
spec:
  match: {namespaces: [shop]}
  vulnerabilities: {severity: High}
  exceptionPolicy: {allowed: true}
)");
  dir.write("harbor-credentials", "admin:" + harbor.adminPassword() + "\n");
  testing::WebhookProcess w =
      testing::startWebhook(dir, {"--cluster-policies=true", "--kubeconfig", kube.kubeconfig(),
                                  "--namespace", "hm", "--harbor-url", "http://" + harbor.host(),
                                  "--harbor-credentials-file", dir.file("harbor-credentials")});
  ASSERT_TRUE(w.ready) << w.process->output();
  auto review = [&] { return testing::reviewResponse(w.port, testing::podReview(image, "shop")); };
  ASSERT_TRUE(testing::eventually(15, [&] { return review().value("allowed", true) == false; }));
  const std::string before = testing::denialMessage(review());
  EXPECT_THAT(before, HasSubstr("CVE-2026-1001"));
  EXPECT_THAT(before, HasSubstr("CVE-2026-1002"));

  const std::string expires =
      formatRfc3339(std::chrono::system_clock::now() + std::chrono::hours(24));
  auto exception = [&](const std::string& cves) {
    apply(
        "apiVersion: harbormaster.io/v1alpha1\nkind: ImageException\n"
        "metadata: {name: vendor, namespace: shop}\nspec:\n  policies: [scans]\n"
        "  images: [\"**\"]\n  checks: [vulnerabilities]\n  cves: " +
        cves + "\n  expiresAt: \"" + expires + "\"\n  reason: \"SEC-9: no fixed package yet\"\n");
  };
  exception("[CVE-2026-1001]");
  // Still denied, now for the other CVE only.
  ASSERT_TRUE(testing::eventually(15, [&] {
    const std::string m = testing::denialMessage(review());
    return m.find("CVE-2026-1002") != std::string::npos &&
           m.find("CVE-2026-1001") == std::string::npos;
  })) << testing::denialMessage(review());
  exception("[CVE-2026-1001, CVE-2026-1002]");
  EXPECT_TRUE(testing::eventually(15, [&] { return review().value("allowed", false); }))
      << testing::denialMessage(review());
}

TEST(PolicyResourcesReadinessTest, AReplicaIsNotReadyBeforeItsCachesSync) {
  testing::TempDir dir;
  testing::KubeSimRig kube;
  // No CRDs yet: the policy informers cannot list, so nothing is synced.
  testing::WebhookProcess w = testing::startWebhook(
      dir, {"--cluster-policies=true", "--kubeconfig", kube.kubeconfig(), "--namespace", "hm"},
      false);
  ASSERT_TRUE(testing::eventually(15, [&] {
    try {
      return testing::Client(w.metricsPort, false).get("/readyz").status == 503;
    } catch (const std::exception&) {
      return false;
    }
  })) << w.process->output();
  // A review is not answered as allowed (the API server's failurePolicy decides).
  testing::Client c(w.port);
  EXPECT_NE(c.post("/validate?timeout=10s", testing::podReview(kTagged)).status, 200);

  std::string out;
  ASSERT_EQ(kube.kubectl({"apply", "-f", std::string(HM_SOURCE_DIR) + "/crds"}, out), 0) << out;
  EXPECT_TRUE(testing::eventually(30, [&] {
    return testing::Client(w.metricsPort, false).get("/readyz").status == 200;
  })) << w.process->output();
}

}  // namespace
}  // namespace hm
