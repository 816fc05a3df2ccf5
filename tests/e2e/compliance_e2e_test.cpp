// What already runs, judged again, end to end: the operator binary with --compliance (no Harbor:
// the digest and registry checks need none) against kube-sim with the real PolicyReport CRDs
// (../shared/crds/policyreport.yaml), driven with the real kubectl. Pods carry the kubelet's
// imageID through the status subresource; reports and Events are polled, never slept for.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "harbormaster/base/time.h"
#include "support/certs.h"
#include "support/chart.h"
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
    startOperator();
  }

  void startOperator() {
    operator_.reset();
    std::filesystem::remove(dir_.file("operator.ports"));
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

// Pods that went while no operator ran: the next one finds the reports an earlier process wrote
// where nothing runs now, and removes them (its own memory does not know them).
TEST_F(ComplianceTest, AReportWhosePodsWentWhileNoOperatorRanIsRemoved) {
  ASSERT_TRUE(testing::eventually(20, [&] { return report().is_object(); })) << operator_->output();
  operator_.reset();  // stopped
  std::string out;
  for (const char* name : {"web-5d4f-a", "web-5d4f-b"}) {
    ASSERT_EQ(kube_.kubectl({"delete", "pod", name, "-n", "shop"}, out), 0) << out;
  }
  startOperator();
  EXPECT_TRUE(testing::eventually(20, [&] { return !report().is_object(); }))
      << report().dump() << operator_->output();
}

TEST_F(ComplianceTest, TheOperatorRefusesEngineFlagsWithoutCompliance) {
  std::string out;
  testing::Process p({HM_BINARY, "operator", "--kubeconfig", kube_.kubeconfig(),
                      "--scan-cache-ttl=5m", "--listen", "127.0.0.1:0"},
                     dir_.file("refused.log"));
  EXPECT_EQ(p.wait(10), 2);
  EXPECT_THAT(p.output(), HasSubstr("--scan-cache-ttl needs --compliance"));
}

// The notification and relay flags are refused, with the reason, when what they need is missing;
// nothing starts.
TEST_F(ComplianceTest, TheNotificationFlagsSayWhatTheyNeed) {
  dir_.write("secret", "Bearer s3cret\n");
  const std::string harbor = "--harbor-url=http://127.0.0.1:1";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--notifications-url=http://op/harbor-events"}, "needs --harbor-events-secret-file"},
      {{"--notifications-format=CloudEvents"}, "needs --notifications-url"},
      {{"--compliance", harbor, "--harbor-events-secret-file=" + dir_.file("secret"),
        "--notifications-url=ftp//nowhere"},
       "--notifications-url"},
      {{"--compliance", harbor, "--harbor-events-secret-file=" + dir_.file("secret"),
        "--notifications-url=http://op/harbor-events", "--notifications-format=Xml"},
       "must be Default or CloudEvents"},
      {{"--harbor-events-relay"}, "--harbor-events-relay needs --harbor-events-secret-file"},
      {{"--tls-cert=" + dir_.file("secret")}, "--tls-cert and --tls-key go together"},
      {{harbor, "--harbor-rate-limit=0"}, "--harbor-rate-limit"},
  };
  for (const auto& [flags, why] : cases) {
    std::vector<std::string> argv = {HM_BINARY,          "operator", "--kubeconfig",
                                     kube_.kubeconfig(), "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    testing::Process p(argv, dir_.file("refused.log"));
    EXPECT_EQ(p.wait(10), 2) << why;
    EXPECT_THAT(p.output(), HasSubstr(why)) << p.output();
  }
  testing::Process webhook(
      {HM_BINARY, "webhook", "--tls-cert", dir_.file("secret"), "--tls-key", dir_.file("secret"),
       "--cluster-policies=true", "--harbor-events-relay"},
      dir_.file("webhook.log"));
  EXPECT_EQ(webhook.wait(10), 2);
  EXPECT_THAT(webhook.output(), HasSubstr("--harbor-events-relay needs --harbor-url"));
}

// What the kubelet reports of a running Pod's one container "web": the digest it runs.
void kubeletReports(testing::KubeSimRig& kube, const std::string& ns, const std::string& pod,
                    const std::string& imageId) {
  const json status = {
      {"status",
       {{"phase", "Running"}, {"containerStatuses", {{{"name", "web"}, {"imageID", imageId}}}}}}};
  std::string out;
  ASSERT_EQ(kube.kubectl({"patch", "pod", pod, "-n", ns, "--subresource=status", "--type=merge",
                          "-p", status.dump()},
                         out),
            0)
      << out;
}

// The namespace's vulnerabilities result (one workload); empty until reported.
json vulnerabilityResult(testing::KubeSimRig& kube, const std::string& ns) {
  json r = kube.get({"policyreports.v1alpha2.wgpolicyk8s.io", "harbormaster", "-n", ns});
  for (const auto& x : r.is_object() ? r["results"] : json::array()) {
    if (x.value("rule", "") == "vulnerabilities") {
      return x;
    }
  }
  return json::object();
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
  ASSERT_NO_FATAL_FAILURE(
      kubeletReports(kube, "shop", "web", harbor.host() + "/shop/web@" + img.digest));
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
  auto result = [&] { return vulnerabilityResult(kube, "shop"); };
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

// Bounded work and honest results: however many Pods run a digest, a pass looks it up once (the
// sim's counters, after the scan cache expired); an image deleted in Harbor is an `error` with the
// reason, never a pass.
TEST(HarborComplianceTest, APassLooksEachDigestUpOnceAndADeletedImageIsAnError) {
  testing::TempDir dir;
  testing::HarborRig harbor;
  testing::OciLayout layout;
  testing::KubeSimRig kube;
  harbor.createProject("shop");
  auto web = layout.addImage("web", "bounded web");
  auto api = layout.addImage("api", "bounded api");
  layout.push("web", harbor.host() + "/shop/web:1", false, "admin:" + harbor.adminPassword());
  layout.push("api", harbor.host() + "/shop/api:1", false, "admin:" + harbor.adminPassword());
  for (const auto& d : {web.digest, api.digest}) {
    harbor.setScan(R"({"digest":")" + d + R"(","status":"Success","vulnerabilities":[]})");
  }
  std::string out;
  ASSERT_EQ(kube.kubectl({"apply", "-f", std::string(HM_SOURCE_DIR) + "/crds"}, out), 0) << out;
  ASSERT_EQ(
      kube.kubectl({"apply", "-f", std::string(HM_SHARED_DIR) + "/crds/policyreport.yaml"}, out), 0)
      << out;
  // Six Pods in two namespaces, all but one running web's digest.
  std::string objects = R"(apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: scanned}
spec:
  match: {namespaces: [shop, shop-b]}
  digest: Optional
  vulnerabilities: {severity: High}
)";
  std::vector<std::pair<std::string, std::string>> pods;  // namespace, name
  for (const char* ns : {"shop", "shop-b"}) {
    objects += std::string("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ") + ns + "}\n";
    for (int i = 0; i < 3; ++i) {
      const std::string name = "pod-" + std::to_string(i);
      const bool isApi = std::string(ns) == "shop-b" && i == 2;
      objects += "---\napiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + ns +
                 "}\nspec:\n  containers: [{name: web, image: " + harbor.host() + "/shop/" +
                 (isApi ? "api" : "web") + "@" + (isApi ? api.digest : web.digest) + "}]\n";
      pods.emplace_back(ns, name);
    }
  }
  dir.write("objects.yaml", objects);
  ASSERT_EQ(kube.kubectl({"apply", "-f", dir.file("objects.yaml")}, out), 0) << out;
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
                       "1s",
                       "--listen",
                       "127.0.0.1:0",
                       "--ports-file",
                       dir.file("operator.ports")},
                      dir.file("operator.log"));
  const uint16_t port = testing::waitForPorts(dir.file("operator.ports"), op)["listen"];
  auto results = [&](const std::string& ns) {
    json r = kube.get({"policyreports.v1alpha2.wgpolicyk8s.io", "harbormaster", "-n", ns});
    return r.is_object() ? r.value("results", json::array()) : json::array();
  };
  ASSERT_TRUE(testing::eventually(20, [&] {
    return results("shop").size() == 3 && results("shop-b").size() == 3;
  })) << op.output();

  // A pass of every namespace once the cached facts expired: a policy change.
  const std::string artifacts = "GET /api/v2.0/projects/shop/repositories/";
  auto lookups = [&] {
    const json stats = json::parse(harbor.control("GET", "/sim/stats"))["requests"];
    std::map<std::string, int64_t> out;
    for (const auto& [path, n] : stats.items()) {
      if (path.rfind(artifacts, 0) == 0 && path.find("/additions/") == std::string::npos) {
        out[path] = n.get<int64_t>();
      }
    }
    return out;
  };
  // A separate process: no clock to move, so the facts' short TTL runs out for real.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // --scan-cache-ttl 2s
  harbor.control("DELETE", "/sim/stats");
  ASSERT_EQ(kube.kubectl({"patch", "clusterimagepolicy", "scanned", "--type=merge", "-p",
                          R"({"spec":{"vulnerabilities":{"severity":"Critical"}}})"},
                         out),
            0)
      << out;
  // Both namespaces are judged again; both digests are looked up.
  ASSERT_TRUE(testing::eventually(20, [&] { return lookups().size() == 2; }))
      << harbor.control("GET", "/sim/stats");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // anything still to come
  for (const auto& [path, n] : lookups()) {
    EXPECT_EQ(n, 1) << path << ": five Pods run web's digest, one lookup serves them";
  }
  EXPECT_EQ(lookups().size(), 2u) << "one per distinct digest";

  // The image is deleted in Harbor; Harbor's event makes the operator ask again.
  std::string body;
  ASSERT_EQ(
      harbor.curl("DELETE", "/api/v2.0/projects/shop/repositories/api/artifacts/" + api.digest, "",
                  body, "admin:" + harbor.adminPassword()),
      200)
      << body;
  const std::string event =
      R"({"type":"DELETE_ARTIFACT","occur_at":1767312000,"operator":"admin","event_data":{"resources":[{"digest":")" +
      api.digest +
      R"(","tag":"1"}],"repository":{"name":"api","namespace":"shop","repo_full_name":"shop/api"}}})";
  testing::Client c(port, false);
  c.writeRaw(
      "POST /harbor-events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Authorization: Bearer s3cret\r\nContent-Length: " +
      std::to_string(event.size()) + "\r\n\r\n" + event);
  ASSERT_EQ(c.readReply().status, 200);
  auto apiResult = [&] {
    for (const auto& r : results("shop-b")) {
      if (r["properties"].value("digest", "") == api.digest) {
        return r;
      }
    }
    return json::object();
  };
  ASSERT_TRUE(testing::eventually(10, [&] { return apiResult().value("result", "") == "error"; }))
      << apiResult().dump(2) << op.output();
  EXPECT_FALSE(apiResult().value("message", "").empty()) << "the reason it could not be checked";
}

// A loopback port free now, for a process that must know its own address before it starts (the
// operator writes it into Harbor's webhook policy).
uint16_t freeLoopbackPort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

struct NotifyCase {
  const char* name;
  std::string format;  // the payload format the operator asks Harbor for
  bool tls;            // the operator's port over TLS, Harbor verifying its certificate
  bool chartCrds;      // the chart's PolicyReport CRDs instead of the upstream ones
};

class HarborNotificationsTest : public ::testing::TestWithParam<NotifyCase> {};

// The whole loop with nothing wired by hand: the operator keeps a Harbor webhook policy on the
// HarborProject's project; Harbor (the simulator, sending as Harbor does) posts the scan event
// to the operator's endpoint; the report turns. The policy is repaired after edits in Harbor and
// removed with the HarborProject.
TEST_P(HarborNotificationsTest, TheOperatorKeepsHarborsWebhookPolicyAndHearsItsEvents) {
  const NotifyCase& c = GetParam();
  testing::TempDir dir;
  testing::HarborRigOptions ho;
  if (c.tls) {
    testing::makeSelfSignedCert(dir.file("op.crt"), dir.file("op.key"), "operator");
    ho.notifyCa = dir.file("op.crt");
  }
  testing::HarborRig harbor(ho);
  testing::OciLayout layout;
  testing::KubeSimRig kube;
  std::string out;
  ASSERT_EQ(kube.kubectl({"apply", "-f", std::string(HM_SOURCE_DIR) + "/crds"}, out), 0) << out;
  std::string reportCrds = std::string(HM_SHARED_DIR) + "/crds/policyreport.yaml";
  if (c.chartCrds) {
    // The PolicyReport CRDs the chart installs (operator.compliance.installCrds) take the
    // reports as the upstream ones do.
    auto chart = testing::renderChart({}, {"operator.compliance.installCrds=true"}, "hm-system",
                                      {"--show-only", "templates/policyreport-crds.yaml"});
    ASSERT_EQ(chart.exitCode, 0) << chart.output;
    ASSERT_EQ(chart.documents.size(), 2u);
    std::string docs;  // JSON is YAML: one document each
    for (const auto& d : chart.documents) {
      docs += "---\n" + d.dump() + "\n";
    }
    dir.write("report-crds.yaml", docs);
    reportCrds = dir.file("report-crds.yaml");
  }
  ASSERT_EQ(kube.kubectl({"apply", "-f", reportCrds}, out), 0) << out;
  dir.write("project.yaml", R"(apiVersion: v1
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
apiVersion: harbormaster.io/v1alpha1
kind: HarborProject
metadata: {name: shop}
spec: {}
)");
  ASSERT_EQ(kube.kubectl({"apply", "-f", dir.file("project.yaml")}, out), 0) << out;
  const uint16_t port = freeLoopbackPort();
  const std::string url = std::string(c.tls ? "https" : "http") +
                          "://127.0.0.1:" + std::to_string(port) + "/harbor-events";
  dir.write("harbor-credentials", "admin:" + harbor.adminPassword() + "\n");
  dir.write("events-secret", "Bearer s3cret\n");
  std::vector<std::string> args = {HM_BINARY,
                                   "operator",
                                   "--kubeconfig",
                                   kube.kubeconfig(),
                                   "--namespace",
                                   "default",
                                   "--leader-elect=false",
                                   "--resync=2s",
                                   "--compliance",
                                   "--harbor-url",
                                   harbor.url(),
                                   "--harbor-credentials-file",
                                   dir.file("harbor-credentials"),
                                   "--harbor-events-secret-file",
                                   dir.file("events-secret"),
                                   "--notifications-url",
                                   url,
                                   "--notifications-format",
                                   c.format,
                                   "--scan-cache-ttl",
                                   "1h",
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(port)};
  if (c.tls) {
    args.insert(args.end(), {"--tls-cert", dir.file("op.crt"), "--tls-key", dir.file("op.key")});
  }
  testing::Process op(args, dir.file("operator.log"));
  auto condition = [&](const std::string& type) {
    json hp = kube.get({"harborprojects.harbormaster.io", "shop"});
    const json status = hp.is_object() ? hp.value("status", json::object()) : json::object();
    for (const auto& x : status.value("conditions", json::array())) {
      if (x.value("type", "") == type) {
        return x;
      }
    }
    return json::object();
  };
  auto policies = [&] {
    std::string body;
    const int code = harbor.curl("GET", "/api/v2.0/projects/shop/webhook/policies", "", body,
                                 "admin:" + harbor.adminPassword());
    json list = code == 200 ? json::parse(body, nullptr, false) : json();
    return list.is_array() ? list : json::array();
  };
  ASSERT_TRUE(testing::eventually(
      20, [&] { return condition("Notifications").value("status", "") == "True"; }))
      << condition("Notifications").dump() << op.output();
  json list = policies();
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["name"], "harbormaster");
  EXPECT_TRUE(list[0]["enabled"].get<bool>());
  EXPECT_EQ(list[0]["targets"][0]["address"], url);
  EXPECT_EQ(list[0]["targets"][0]["auth_header"], "Bearer s3cret");
  EXPECT_EQ(list[0]["targets"][0]["payload_format"], c.format);
  EXPECT_THAT(list[0]["event_types"].dump(), HasSubstr("SCANNING_COMPLETED"));
  const int64_t firstId = list[0]["id"].get<int64_t>();
  EXPECT_EQ(kube.get({"harborprojects.harbormaster.io", "shop"})["status"]["webhookPolicyID"],
            firstId);

  // An image pushed to the project and running in the cluster; Harbor's first scan is clean.
  auto img = layout.addImage("web", "notified web");
  layout.push("web", harbor.host() + "/shop/web:1", false, "admin:" + harbor.adminPassword());
  harbor.setScan(R"({"digest":")" + img.digest + R"(","status":"Success","vulnerabilities":[]})");
  dir.write("pod.yaml", R"(apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers: [{name: web, image: ")" +
                            harbor.host() +
                            R"(/shop/web:1"}]
)");
  ASSERT_EQ(kube.kubectl({"apply", "-f", dir.file("pod.yaml")}, out), 0) << out;
  ASSERT_NO_FATAL_FAILURE(
      kubeletReports(kube, "shop", "web", harbor.host() + "/shop/web@" + img.digest));
  auto result = [&] { return vulnerabilityResult(kube, "shop"); };
  ASSERT_TRUE(testing::eventually(20, [&] { return result().value("result", "") == "pass"; }))
      << op.output();

  // A rescan finds a Critical CVE: Harbor notifies, nobody posts by hand.
  harbor.setScan(
      R"({"digest":")" + img.digest +
      R"(","status":"Success","vulnerabilities":[{"id":"CVE-2026-7","package":"zlib","version":"1.2","fix_version":"1.3","severity":"Critical"}]})");
  ASSERT_TRUE(testing::eventually(10, [&] { return result().value("result", "") == "fail"; }))
      << result().dump(2) << harbor.control("GET", "/sim/notifications") << op.output();
  EXPECT_THAT(result()["message"].get<std::string>(), HasSubstr("CVE-2026-7"));
  // … and the workload says so, once.
  auto nonCompliant = [&] {
    json events = kube.get({"events.v1.events.k8s.io", "-n", "shop"});
    int n = 0;
    for (const auto& e : events.is_object() ? events["items"] : json::array()) {
      n += e.value("reason", "") == "ImageNonCompliant" &&
           e.value("regarding", json::object()).value("name", "") == "web";
    }
    return n;
  };
  EXPECT_TRUE(testing::eventually(10, [&] { return nonCompliant() == 1; })) << op.output();
  const json deliveries = json::parse(harbor.control("GET", "/sim/notifications"))["deliveries"];
  bool scanDelivered = false;
  for (const auto& d : deliveries) {
    if (d["event_type"] == "SCANNING_COMPLETED" && d["status"] == 200) {
      scanDelivered = true;
      EXPECT_EQ(d["content_type"],
                c.format == "CloudEvents" ? "application/cloudevents+json" : "application/json");
    }
  }
  EXPECT_TRUE(scanDelivered) << deliveries.dump(2);

  // Someone disables the policy in Harbor's UI: restored at the next resync, with a Warning.
  json edited = list[0];
  edited["enabled"] = false;
  std::string body;
  ASSERT_EQ(
      harbor.curl("PUT", "/api/v2.0/projects/shop/webhook/policies/" + std::to_string(firstId),
                  edited.dump(), body, "admin:" + harbor.adminPassword()),
      200)
      << body;
  ASSERT_TRUE(testing::eventually(10, [&] {
    json l = policies();
    return l.size() == 1 && l[0].value("enabled", false);
  })) << policies().dump();
  // … and deletes it: recreated.
  ASSERT_EQ(
      harbor.curl("DELETE", "/api/v2.0/projects/shop/webhook/policies/" + std::to_string(firstId),
                  "", body, "admin:" + harbor.adminPassword()),
      200)
      << body;
  ASSERT_TRUE(testing::eventually(10, [&] {
    json l = policies();
    return l.size() == 1 && l[0].value("id", int64_t{0}) != firstId;
  })) << policies().dump();
  json events = kube.get({"events.v1.events.k8s.io", "-n", "default"});
  EXPECT_THAT(events.dump(), HasSubstr("DriftRepaired"));

  // The HarborProject goes (the project is retained): the policy goes with it.
  ASSERT_EQ(kube.kubectl({"delete", "harborproject", "shop", "--wait=false"}, out), 0) << out;
  ASSERT_TRUE(testing::eventually(10, [&] { return policies().empty(); }))
      << policies().dump() << op.output();
}

// Harbor posts to one address; behind a Service that is one replica. The operator relays what it
// hears (--harbor-events-relay) through a ConfigMap every webhook replica watches: two webhooks
// with hour-long caches both forget a rescanned digest, and both forget a moved tag.
TEST(HarborEventRelayTest, EveryWebhookReplicaHearsWhatHarborToldTheOperator) {
  testing::TempDir dir, first, second;
  testing::HarborRig harbor;
  testing::OciLayout layout;
  testing::KubeSimRig kube;
  harbor.createProject("shop");
  auto v1 = layout.addImage("v1", "relayed web 1");
  layout.push("v1", harbor.host() + "/shop/web:1", false, "admin:" + harbor.adminPassword());
  harbor.setScan(R"({"digest":")" + v1.digest + R"(","status":"Success","vulnerabilities":[]})");
  dir.write("policy.yaml", R"(apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: scans}
spec:
  match: {namespaces: [shop]}
  digest: Optional
  vulnerabilities: {severity: High}
)");
  dir.write("harbor-credentials", "admin:" + harbor.adminPassword() + "\n");
  dir.write("events-secret", "Bearer s3cret\n");
  const std::vector<std::string> webhookFlags = {"--policy",
                                                 dir.file("policy.yaml"),
                                                 "--harbor-url",
                                                 harbor.url(),
                                                 "--harbor-credentials-file",
                                                 dir.file("harbor-credentials"),
                                                 "--kubeconfig",
                                                 kube.kubeconfig(),
                                                 "--namespace",
                                                 "default",
                                                 "--scan-cache-ttl",
                                                 "1h",
                                                 "--tag-digest-ttl",
                                                 "1h",
                                                 "--harbor-events-relay"};
  testing::WebhookProcess a = testing::startWebhook(first, webhookFlags);
  testing::WebhookProcess b = testing::startWebhook(second, webhookFlags);
  ASSERT_TRUE(a.ready && b.ready) << a.process->output() << b.process->output();
  const std::string image = harbor.host() + "/shop/web:1";
  auto allowed = [&](const testing::WebhookProcess& w) {
    json r = testing::reviewResponse(w.port, testing::podReview(image, "shop"));
    return r.is_object() && r.value("allowed", false);
  };
  ASSERT_TRUE(allowed(a)) << a.process->output();
  ASSERT_TRUE(allowed(b)) << b.process->output();

  testing::Process op(
      {HM_BINARY, "operator", "--kubeconfig", kube.kubeconfig(), "--namespace", "default",
       "--leader-elect=false", "--compliance", "--harbor-url", harbor.url(),
       "--harbor-credentials-file", dir.file("harbor-credentials"), "--harbor-events-secret-file",
       dir.file("events-secret"), "--harbor-events-relay", "--listen", "127.0.0.1:0",
       "--ports-file", dir.file("operator.ports")},
      dir.file("operator.log"));
  const uint16_t port = testing::waitForPorts(dir.file("operator.ports"), op)["listen"];
  auto post = [&](const std::string& body) {
    testing::Client c(port, false);
    c.writeRaw(
        "POST /harbor-events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Authorization: Bearer s3cret\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body);
    return c.readReply().status;
  };
  auto event = [](const std::string& type, const std::string& digest, const std::string& tag) {
    return R"({"type":")" + type + R"(","occur_at":1767312000,"operator":"admin",)" +
           R"("event_data":{"resources":[{"digest":")" + digest + R"(","tag":")" + tag +
           R"("}],"repository":{"name":"web","namespace":"shop","repo_full_name":"shop/web"}}})";
  };

  // A rescan finds a Critical CVE; Harbor tells the operator, and only the operator.
  harbor.setScan(
      R"({"digest":")" + v1.digest +
      R"(","status":"Success","vulnerabilities":[{"id":"CVE-2026-9","package":"zlib","version":"1","fix_version":"2","severity":"Critical"}]})");
  EXPECT_TRUE(allowed(a)) << "cached for an hour: nothing told this replica yet";
  ASSERT_EQ(post(event("SCANNING_COMPLETED", v1.digest, "1")), 200);
  EXPECT_TRUE(testing::eventually(10, [&] { return !allowed(a); })) << a.process->output();
  EXPECT_TRUE(testing::eventually(10, [&] { return !allowed(b); })) << b.process->output();
  json cm = kube.get({"configmap", "harbormaster-harbor-events", "-n", "default"});
  ASSERT_TRUE(cm.is_object());
  EXPECT_THAT(cm["data"]["notices"].get<std::string>(), HasSubstr(v1.digest));

  // The tag moves to a fixed build: the push event makes both forget where web:1 pointed (an
  // hour's --tag-digest-ttl would otherwise keep judging the old digest).
  auto v2 = layout.addImage("v2", "relayed web 2");
  layout.push("v2", harbor.host() + "/shop/web:1", false, "admin:" + harbor.adminPassword());
  harbor.setScan(R"({"digest":")" + v2.digest + R"(","status":"Success","vulnerabilities":[]})");
  EXPECT_FALSE(allowed(a)) << "still the old digest";
  ASSERT_EQ(post(event("PUSH_ARTIFACT", v2.digest, "1")), 200);
  EXPECT_TRUE(testing::eventually(10, [&] { return allowed(a); })) << a.process->output();
  EXPECT_TRUE(testing::eventually(10, [&] { return allowed(b); })) << b.process->output();
}

INSTANTIATE_TEST_SUITE_P(Formats, HarborNotificationsTest,
                         ::testing::Values(NotifyCase{"Default", "Default", false, false},
                                           NotifyCase{"CloudEventsOverTlsWithTheChartsCrds",
                                                      "CloudEvents", true, true}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace hm
