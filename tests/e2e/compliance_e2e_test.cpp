// What already runs, judged again, end to end: the operator binary with --compliance (no Harbor:
// the digest and registry checks need none) against kube-sim with the real PolicyReport CRDs
// (../shared/crds/policyreport.yaml), driven with the real kubectl. Pods carry the kubelet's
// imageID through the status subresource; reports and Events are polled, never slept for.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harbormaster/base/time.h"
#include "support/kube_rig.h"
#include "support/process.h"
#include "support/registry_rig.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"

namespace hm {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const std::string kDigest = "sha256:" + std::string(64, 'a');

class ComplianceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string out;
    ASSERT_EQ(kube_.kubectl({"apply", "-f", std::string(HM_SOURCE_DIR) + "/crds"}, out), 0) << out;
    ASSERT_EQ(
        kube_.kubectl({"apply", "-f", std::string(HM_SHARED_DIR) + "/crds/policyreport.yaml"}, out),
        0)
        << out;
    apply(R"(apiVersion: v1
kind: Namespace
metadata: {name: harbormaster}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: pinned}
spec:
  match: {namespaces: [shop]}
  digest: Require
  exceptionPolicy: {allowed: true}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d4f
  namespace: shop
  ownerReferences:
  - {apiVersion: apps/v1, kind: Deployment, name: web, uid: web-uid, controller: true}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "harbor.example.com/shop/web:1.4"}]}
)");
    for (const char* name : {"web-5d4f-a", "web-5d4f-b"}) {
      pod(name);
    }
    operator_ = std::make_unique<testing::Process>(
        std::vector<std::string>{HM_BINARY, "operator", "--kubeconfig", kube_.kubeconfig(),
                                 "--namespace", "harbormaster", "--leader-elect=false",
                                 "--compliance", "--listen", "127.0.0.1:0", "--ports-file",
                                 dir_.file("operator.ports")},
        dir_.file("operator.log"));
    testing::waitForPorts(dir_.file("operator.ports"), *operator_);
  }

  void apply(const std::string& yaml) {
    dir_.write("apply.yaml", yaml);
    std::string out;
    ASSERT_EQ(kube_.kubectl({"apply", "-f", dir_.file("apply.yaml")}, out), 0) << out;
  }

  // A replica of the Deployment "web": an init container pinned by digest, and the app by tag,
  // which the kubelet reports running at kDigest.
  void pod(const std::string& name) {
    apply(R"(apiVersion: v1
kind: Pod
metadata:
  name: )" +
          name + R"(
  namespace: shop
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f, uid: rs-uid, controller: true}
spec:
  initContainers: [{name: migrate, image: "harbor.example.com/shop/db@)" +
          kDigest + R"("}]
  containers: [{name: web, image: "harbor.example.com/shop/web:1.4"}]
)");
    std::string out;
    const json status = {{"status",
                          {{"phase", "Running"},
                           {"containerStatuses",
                            {{{"name", "web"},
                              {"image", "harbor.example.com/shop/web:1.4"},
                              {"imageID", "harbor.example.com/shop/web@" + kDigest},
                              {"ready", true},
                              {"restartCount", 0}}}}}}};
    ASSERT_EQ(kube_.kubectl({"patch", "pod", name, "-n", "shop", "--subresource=status",
                             "--type=merge", "-p", status.dump()},
                            out),
              0)
        << out;
  }

  json report() {
    return kube_.get({"policyreports.v1alpha2.wgpolicyk8s.io", "harbormaster", "-n", "shop"});
  }

  // The result for a container and check, or null.
  static json result(const json& report, const std::string& container, const std::string& rule) {
    if (!report.is_object()) {
      return nullptr;
    }
    for (const auto& r : report.value("results", json::array())) {
      if (r["properties"].value("container", "") == container && r.value("rule", "") == rule) {
        return r;
      }
    }
    return nullptr;
  }

  std::string resultOf(const std::string& container, const std::string& rule) {
    json r = result(report(), container, rule);
    return r.is_object() ? r.value("result", "") : "";
  }

  json events(const std::string& reason) {
    json list = kube_.get({"events.events.k8s.io", "-n", "shop"});
    json out = json::array();
    if (!list.is_object()) {
      return out;  // kubectl failed: none seen yet
    }
    for (const auto& e : list.value("items", json::array())) {
      if (e.value("reason", "") == reason) {
        out.push_back(e);
      }
    }
    return out;
  }

  testing::TempDir dir_;
  testing::KubeSimRig kube_;
  std::unique_ptr<testing::Process> operator_;
};

TEST_F(ComplianceTest, RunningWorkloadsAreReportedPerImageAndFollowExceptionsAndPods) {
  ASSERT_TRUE(testing::eventually(20, [&] { return resultOf("web", "digest") == "fail"; }))
      << report().dump(2) << operator_->output();
  const json r = report();
  EXPECT_EQ(r["apiVersion"], "wgpolicyk8s.io/v1alpha2");
  EXPECT_EQ(r["metadata"]["labels"]["app.kubernetes.io/managed-by"], "harbormaster");
  const json web = result(r, "web", "digest");
  // Two replicas, one subject: the Deployment, found through its ReplicaSet.
  ASSERT_EQ(r["results"].size(), 2u) << r.dump(2);
  EXPECT_EQ(web["resources"][0]["kind"], "Deployment");
  EXPECT_EQ(web["resources"][0]["name"], "web");
  EXPECT_EQ(web["policy"], "pinned");
  EXPECT_EQ(web["severity"], "high");
  EXPECT_EQ(web["properties"]["digest"], kDigest) << "the kubelet's digest, not a lookup";
  EXPECT_THAT(web["message"].get<std::string>(),
              HasSubstr("harbor.example.com/shop/web:1.4 is not pinned by digest — use "
                        "harbor.example.com/shop/web@" +
                        kDigest));
  // The init container has its own result.
  EXPECT_EQ(result(r, "migrate", "digest")["result"], "pass");
  EXPECT_EQ(r["summary"]["fail"], 1);
  EXPECT_EQ(r["summary"]["pass"], 1);

  // An Event on the Deployment, once.
  ASSERT_TRUE(testing::eventually(10, [&] { return events("ImageNonCompliant").size() == 1; }))
      << kube_.get({"events.events.k8s.io", "-n", "shop"}).dump(2);
  const json event = events("ImageNonCompliant")[0];
  EXPECT_EQ(event["regarding"]["kind"], "Deployment");
  EXPECT_EQ(event["regarding"]["name"], "web");
  EXPECT_EQ(event["type"], "Warning");

  // The cluster summary.
  ASSERT_TRUE(testing::eventually(
      10,
      [&] {
        json c = kube_.get({"clusterpolicyreports.v1alpha2.wgpolicyk8s.io", "harbormaster"});
        return c.is_object() && c["summary"].value("fail", 0) == 1;
      }))
      << kube_.get({"clusterpolicyreports.v1alpha2.wgpolicyk8s.io", "harbormaster"}).dump(2)
      << operator_->output();

  // An exception for the check: the image passes, and the Deployment hears it.
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: ImageException
metadata: {name: tags-for-now, namespace: shop}
spec:
  policies: [pinned]
  images: ["harbor.example.com/shop/web"]
  checks: [digest]
  expiresAt: ")" +
        formatRfc3339(std::chrono::system_clock::now() + std::chrono::hours(24 * 7)) +
        R"("
  reason: OPS-12
)");
  ASSERT_TRUE(testing::eventually(20, [&] { return resultOf("web", "digest") == "pass"; }))
      << report().dump(2);
  ASSERT_TRUE(testing::eventually(10, [&] { return events("ImageCompliant").size() == 1; }));
  EXPECT_EQ(events("ImageNonCompliant").size(), 1u) << "no repeat";

  // The Pods gone: the results go with them.
  std::string out;
  ASSERT_EQ(kube_.kubectl({"delete", "pods", "--all", "-n", "shop"}, out), 0) << out;
  ASSERT_TRUE(testing::eventually(20, [&] { return report().is_null(); })) << report().dump(2);
}

TEST_F(ComplianceTest, TheOperatorRefusesEngineFlagsWithoutCompliance) {
  std::string out;
  testing::Process p({HM_BINARY, "operator", "--kubeconfig", kube_.kubeconfig(),
                      "--scan-cache-ttl=5m", "--listen", "127.0.0.1:0"},
                     dir_.file("refused.log"));
  EXPECT_EQ(p.wait(10), 2);
  EXPECT_THAT(p.output(), HasSubstr("--scan-cache-ttl needs --compliance"));
}

// Harbor learns more: a rescan of a running image finds a Critical CVE, Harbor posts its
// notification to the operator's /harbor-events, and the report and the Deployment say so within
// seconds — with the scan facts cached for a minute and the periodic pass hours away, only the
// event can have done it.
TEST(HarborComplianceTest, AScanEventTurnsARunningImagesResultWithinSeconds) {
  testing::TempDir dir;
  testing::HarborRig harbor;
  testing::OciLayout layout;
  testing::KubeSimRig kube;
  harbor.createProject("shop");
  auto img = layout.addImage("web", "compliance web");
  layout.push("web", harbor.host() + "/shop/web:1", false, "admin:" + harbor.adminPassword());
  harbor.setScan(R"({"digest":")" + img.digest + R"(","status":"Success","vulnerabilities":[]})");
  std::string out;
  ASSERT_EQ(kube.kubectl({"apply", "-f", std::string(HM_SOURCE_DIR) + "/crds"}, out), 0) << out;
  ASSERT_EQ(
      kube.kubectl({"apply", "-f", std::string(HM_SHARED_DIR) + "/crds/policyreport.yaml"}, out), 0)
      << out;
  dir.write("apply.yaml", R"(apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: scanned}
spec:
  match: {namespaces: [shop]}
  digest: Optional
  vulnerabilities: {severity: High}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers: [{name: web, image: ")" +
                              harbor.host() + R"(/shop/web:1"}]
)");
  ASSERT_EQ(kube.kubectl({"apply", "-f", dir.file("apply.yaml")}, out), 0) << out;
  const json status = {
      {"status",
       {{"phase", "Running"},
        {"containerStatuses",
         {{{"name", "web"}, {"imageID", harbor.host() + "/shop/web@" + img.digest}}}}}}};
  ASSERT_EQ(kube.kubectl({"patch", "pod", "web", "-n", "shop", "--subresource=status",
                          "--type=merge", "-p", status.dump()},
                         out),
            0)
      << out;
  dir.write("harbor-credentials", "admin:" + harbor.adminPassword() + "\n");
  dir.write("events-secret", "Bearer s3cret\n");
  testing::Process op({HM_BINARY,
                       "operator",
                       "--kubeconfig",
                       kube.kubeconfig(),
                       "--namespace",
                       "default",
                       "--leader-elect=false",
                       "--compliance",
                       "--harbor-url",
                       harbor.url(),
                       "--harbor-credentials-file",
                       dir.file("harbor-credentials"),
                       "--harbor-events-secret-file",
                       dir.file("events-secret"),
                       "--scan-cache-ttl",
                       "1h",
                       "--listen",
                       "127.0.0.1:0",
                       "--ports-file",
                       dir.file("operator.ports")},
                      dir.file("operator.log"));
  const uint16_t port = testing::waitForPorts(dir.file("operator.ports"), op)["listen"];
  auto result = [&] {
    json r = kube.get({"policyreports.v1alpha2.wgpolicyk8s.io", "harbormaster", "-n", "shop"});
    for (const auto& x : r.is_object() ? r["results"] : json::array()) {
      if (x.value("rule", "") == "vulnerabilities") {
        return x;
      }
    }
    return json::object();  // not (yet) reported
  };
  ASSERT_TRUE(testing::eventually(20, [&] { return result().value("result", "") == "pass"; }))
      << op.output();
  EXPECT_EQ(result()["resources"][0]["kind"], "Pod") << "a bare Pod is its own workload";

  // The rescan finds a Critical CVE.
  harbor.setScan(
      R"({"digest":")" + img.digest +
      R"(","status":"Success","vulnerabilities":[{"id":"CVE-2026-1","package":"openssl","version":"3.0.1","fix_version":"3.0.9","severity":"Critical"}]})");
  auto post = [&](const std::string& authorization) {
    const std::string body = R"({"type":"SCANNING_COMPLETED","occur_at":1767312000,)"
                             R"("operator":"admin","event_data":{"resources":[{"digest":")" +
                             img.digest +
                             R"(","tag":"1"}],"repository":{"name":"web",)"
                             R"("namespace":"shop","repo_full_name":"shop/web"}}})";
    testing::Client c(port, false);
    c.writeRaw(
        "POST /harbor-events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Authorization: " +
        authorization + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    return c.readReply();
  };
  EXPECT_EQ(post("Bearer wrong").status, 401);
  auto accepted = post("Bearer s3cret");
  EXPECT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(json::parse(accepted.body)["invalidated"], 1);
  ASSERT_TRUE(testing::eventually(10, [&] { return result().value("result", "") == "fail"; }))
      << result().dump(2) << op.output();
  EXPECT_EQ(result()["severity"], "critical");
  EXPECT_THAT(result()["message"].get<std::string>(), HasSubstr("CVE-2026-1"));
  // What it reports about itself.
  ASSERT_TRUE(testing::eventually(10, [&] {
    const std::string m = testing::Client(port, false).get("/metrics").body;
    return m.find("harbormaster_compliance_results{result=\"fail\"} 1") != std::string::npos;
  })) << testing::Client(port, false).get("/metrics").body;
  const std::string m = testing::Client(port, false).get("/metrics").body;
  EXPECT_THAT(m, HasSubstr("harbormaster_compliance_harbor_events_total 1"));
  EXPECT_THAT(m, HasSubstr("harbormaster_compliance_namespace_pass_duration_seconds_count"));
  EXPECT_THAT(m, HasSubstr("harbormaster_scan_cache_lookups_total")) << "the engine's own";
}

}  // namespace
}  // namespace hm
