// The Helm chart: `helm lint --strict` and `helm template` for the default values and every file
// in ci/, with assertions on what the manifests would do in a cluster.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "harbormaster/base/encoding.h"
#include "harbormaster/operator/spec.h"
#include "support/chart.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace hm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::Contains;
using testing::findDocument;
using testing::findDocuments;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;
using testing::renderChart;

std::string ciFile(const std::string& name) {
  return testing::chartDir() + "/ci/" + name;
}

// "" stands for the default values.
std::vector<std::string> valueSets() {
  std::vector<std::string> out = {""};
  for (const auto& e : fs::directory_iterator(testing::chartDir() + "/ci")) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> files(const std::string& valueSet) {
  return valueSet.empty() ? std::vector<std::string>{} : std::vector<std::string>{ciFile(valueSet)};
}

std::vector<std::string> strings(const json& array) {
  std::vector<std::string> out;
  for (const auto& v : array) {
    out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

json container(const json& deployment) {
  return deployment["spec"]["template"]["spec"]["containers"][0];
}

json volume(const json& deployment, const std::string& name) {
  for (const auto& v : deployment["spec"]["template"]["spec"].value("volumes", json::array())) {
    if (v.value("name", "") == name) {
      return v;
    }
  }
  return nullptr;
}

std::vector<std::string> args(const json& deployment) {
  return strings(container(deployment)["args"]);
}

json webhookConfiguration(const std::vector<json>& docs) {
  return findDocument(docs, "ValidatingWebhookConfiguration", "hm-harbormaster-webhook");
}

class ChartValuesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ChartValuesTest, LintsStrictly) {
  std::vector<std::string> argv = {"helm", "lint", "--strict", testing::chartDir()};
  if (!GetParam().empty()) {
    argv.insert(argv.end(), {"-f", ciFile(GetParam())});
  }
  std::string out;
  ASSERT_EQ(testing::runCommand(argv, out), 0) << out;
  EXPECT_THAT(out, HasSubstr("0 chart(s) failed"));
}

TEST_P(ChartValuesTest, RendersRestrictedPodsWithProbesAndResources) {
  auto r = renderChart(files(GetParam()));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  auto deployments = findDocuments(r.documents, "Deployment");
  ASSERT_FALSE(deployments.empty());
  for (const auto& d : deployments) {
    SCOPED_TRACE(d["metadata"].value("name", ""));
    const json& pod = d["spec"]["template"]["spec"];
    EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
    EXPECT_EQ(pod["securityContext"]["runAsUser"], 65532);
    EXPECT_EQ(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    EXPECT_GE(d["spec"].value("replicas", 0), 2);
    EXPECT_TRUE(pod.contains("topologySpreadConstraints"));
    for (const auto& c : pod["containers"]) {
      const json& sc = c["securityContext"];
      EXPECT_EQ(sc["runAsNonRoot"], true);
      EXPECT_EQ(sc["readOnlyRootFilesystem"], true);
      EXPECT_EQ(sc["allowPrivilegeEscalation"], false);
      EXPECT_EQ(sc["capabilities"]["drop"], json::array({"ALL"}));
      EXPECT_EQ(sc["seccompProfile"]["type"], "RuntimeDefault");
      EXPECT_TRUE(c["resources"]["requests"].contains("memory"));
      EXPECT_TRUE(c["resources"]["limits"].contains("memory"));
      EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"], "/healthz");
      EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"], "/readyz");
      EXPECT_THAT(c.value("image", ""), Not(HasSubstr(":latest")));
      // Every flag the manifest passes exists: the binary's parser rejects unknown ones, which
      // the kube-sim deploy test runs; here, at least no empty values.
      for (const auto& a : strings(c["args"])) {
        EXPECT_THAT(a, Not(::testing::EndsWith("="))) << a;
      }
    }
  }
}

TEST_P(ChartValuesTest, RbacHasNoWildcards) {
  auto r = renderChart(files(GetParam()));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  for (const char* kind : {"Role", "ClusterRole"}) {
    for (const auto& role : findDocuments(r.documents, kind)) {
      for (const auto& rule : role["rules"]) {
        for (const char* field : {"verbs", "resources", "apiGroups"}) {
          EXPECT_THAT(strings(rule.value(field, json::array())), Not(Contains("*")))
              << role["metadata"]["name"] << " " << field;
        }
      }
    }
  }
}

TEST_P(ChartValuesTest, WebhookConfigurationIsSafe) {
  auto r = renderChart(files(GetParam()));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  json vwc = webhookConfiguration(r.documents);
  ASSERT_TRUE(vwc.is_object());
  ASSERT_EQ(vwc["webhooks"].size(), 1u);
  const json& w = vwc["webhooks"][0];
  EXPECT_EQ(w["admissionReviewVersions"], json::array({"v1"}));
  EXPECT_EQ(w["sideEffects"], "NoneOnDryRun") << "dry runs never ask Harbor to scan";
  EXPECT_EQ(w["matchPolicy"], "Equivalent");
  EXPECT_EQ(w["clientConfig"]["service"]["namespace"], "hm-system");
  EXPECT_EQ(w["clientConfig"]["service"]["path"], "/validate");
  std::set<std::string> resources;
  for (const auto& rule : w["rules"]) {
    EXPECT_EQ(rule["operations"], json::array({"CREATE", "UPDATE"}));
    for (const auto& res : strings(rule["resources"])) {
      resources.insert(res);
    }
  }
  EXPECT_THAT(resources, IsSupersetOf({"pods", "pods/ephemeralcontainers", "deployments",
                                       "replicasets", "statefulsets", "daemonsets", "jobs",
                                       "cronjobs", "replicationcontrollers"}));
  // The cluster's own namespaces and the release's are never judged.
  const json& expr = w["namespaceSelector"]["matchExpressions"][0];
  EXPECT_EQ(expr["key"], "kubernetes.io/metadata.name");
  EXPECT_EQ(expr["operator"], "NotIn");
  EXPECT_THAT(strings(expr["values"]),
              IsSupersetOf({"kube-system", "kube-node-lease", "hm-system"}));
  // The Service it calls exists and targets the webhook's TLS port.
  json svc = findDocument(r.documents, "Service", w["clientConfig"]["service"]["name"]);
  ASSERT_TRUE(svc.is_object());
  EXPECT_EQ(svc["spec"]["ports"][0]["port"], 443);
  EXPECT_EQ(svc["spec"]["ports"][0]["targetPort"], "https");
}

INSTANTIATE_TEST_SUITE_P(Values, ChartValuesTest, ::testing::ValuesIn(valueSets()),
                         [](const auto& info) {
                           std::string n = info.param.empty() ? "defaults" : info.param;
                           n = n.substr(0, n.find('.'));
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(ChartTest, DefaultsAreSelfManagedCertificatesInWarnMode) {
  auto r = renderChart({});
  ASSERT_EQ(r.exitCode, 0) << r.output;
  json vwc = webhookConfiguration(r.documents);
  EXPECT_EQ(vwc["webhooks"][0]["timeoutSeconds"], 10);
  EXPECT_EQ(vwc["webhooks"][0]["failurePolicy"], "Fail");
  // No cluster to look up: the webhook injects the bundle itself.
  EXPECT_FALSE(vwc["webhooks"][0]["clientConfig"].contains("caBundle"));
  EXPECT_FALSE(vwc["metadata"].contains("annotations"));
  json webhook = findDocument(r.documents, "Deployment", "hm-harbormaster-webhook");
  EXPECT_THAT(args(webhook),
              IsSupersetOf({"--cert-secret=hm-harbormaster-webhook-tls",
                            "--cert-service=hm-harbormaster-webhook",
                            "--cert-webhook-configuration=hm-harbormaster-webhook"}));
  EXPECT_EQ(webhook["spec"]["template"]["spec"]["automountServiceAccountToken"], true);
  EXPECT_TRUE(volume(webhook, "tls").contains("emptyDir"));
  // The root file system is read-only: /tmp is an emptyDir (signature checks need scratch space).
  EXPECT_TRUE(volume(webhook, "tmp").contains("emptyDir"));
  bool tmpMounted = false;
  const json mounts = container(webhook)["volumeMounts"];
  for (const auto& m : mounts) {
    tmpMounted = tmpMounted || (m["name"] == "tmp" && m["mountPath"] == "/tmp");
  }
  EXPECT_TRUE(tmpMounted);
  json pdb = findDocument(r.documents, "PodDisruptionBudget");
  EXPECT_EQ(pdb["spec"]["minAvailable"], 1);
  // The webhook may touch its own Secret and webhook configuration by name, nothing else.
  json role = findDocument(r.documents, "Role", "hm-harbormaster-webhook-certificates");
  EXPECT_EQ(role["rules"][0]["resourceNames"], json::array({"hm-harbormaster-webhook-tls"}));
  EXPECT_EQ(role["rules"][1]["verbs"], json::array({"create"}));
  json clusterRole =
      findDocument(r.documents, "ClusterRole", "hm-harbormaster-webhook-hm-system-certificates");
  EXPECT_EQ(clusterRole["rules"][0]["resourceNames"], json::array({"hm-harbormaster-webhook"}));
  // The values' policy is a ClusterImagePolicy object in Warn mode, and the real binary accepts
  // it as the API server would hand it over.
  EXPECT_TRUE(findDocument(r.documents, "ConfigMap", "hm-harbormaster-policy").is_null());
  EXPECT_THAT(args(webhook), Contains("--cluster-policies=true"));
  for (const auto& a : args(webhook)) {
    EXPECT_THAT(a, Not(HasSubstr("--policy=")));
  }
  json cip = findDocument(r.documents, "ClusterImagePolicy", "digest-pinning");
  ASSERT_TRUE(cip.is_object());
  EXPECT_EQ(cip["spec"]["mode"], "Warn");
  EXPECT_EQ(cip["metadata"]["labels"]["app.kubernetes.io/managed-by"], "Helm");
  testing::TempDir dir;
  dir.write("policy.yaml", cip.dump());
  std::string out;
  EXPECT_EQ(testing::runCommand({HM_BINARY, "check", "--policy", dir.file("policy.yaml"),
                                 "--namespace", "shop", "nginx:1.27"},
                                out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("WARNED"));
  // The webhook reads policies, exceptions and namespaces, and writes nothing of them.
  json read =
      findDocument(r.documents, "ClusterRole", "hm-harbormaster-webhook-hm-system-policies");
  ASSERT_TRUE(read.is_object());
  for (const auto& rule : read["rules"]) {
    EXPECT_EQ(strings(rule["verbs"]), (std::vector<std::string>{"get", "list", "watch"}));
  }
  EXPECT_THAT(strings(read["rules"][0]["resources"]),
              ::testing::ElementsAre("clusterimagepolicies", "imagepolicies", "imageexceptions"));
  EXPECT_THAT(strings(read["rules"][1]["resources"]), ::testing::ElementsAre("namespaces"));
  // Without Harbor the operator only writes policy status: no Harbor flags, no Secret rights.
  json op = findDocument(r.documents, "Deployment", "hm-harbormaster-operator");
  ASSERT_TRUE(op.is_object());
  for (const auto& a : args(op)) {
    EXPECT_THAT(a, Not(HasSubstr("--harbor")));
  }
  json opRole = findDocument(r.documents, "ClusterRole", "hm-harbormaster-operator-hm-system");
  for (const auto& rule : opRole["rules"]) {
    EXPECT_THAT(strings(rule["resources"]), Not(Contains("secrets")));
    EXPECT_THAT(strings(rule["resources"]), Not(Contains("robotaccounts")));
  }
  EXPECT_TRUE(findDocuments(r.documents, "NetworkPolicy").empty());
  EXPECT_TRUE(findDocuments(r.documents, "ServiceMonitor").empty());
}

// Compliance is off by default; on, the operator gets its flags and exactly the reads and
// report writes it makes.
// operator.notifications: the URL and the shared secret reach the operator (which writes them
// into each project's Harbor webhook policy); the secret is generated once when not given.
// operator.tls: the port, its probes and its scrape over https.
TEST(ChartTest, NotificationsWireTheSecretAndTheUrlAndTlsServesTheirPort) {
  const std::vector<std::string> base = {
      "harbor.url=https://harbor.example.com", "operator.compliance.enabled=true",
      "operator.notifications.url=http://op.hm.svc:8080/harbor-events"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), base.begin(), base.end());
    return renderChart({}, more);
  };
  auto on = with({"operator.tls.secretName=op-tls", "metrics.serviceMonitor.enabled=true"});
  ASSERT_EQ(on.exitCode, 0) << on.output;
  const json deployment = findDocument(on.documents, "Deployment", "hm-harbormaster-operator");
  EXPECT_THAT(args(deployment),
              IsSupersetOf({"--notifications-url=http://op.hm.svc:8080/harbor-events",
                            "--notifications-format=Default",
                            "--harbor-events-secret-file=/etc/harbormaster/events/secret",
                            "--tls-cert=/etc/harbormaster/tls/tls.crt",
                            "--tls-key=/etc/harbormaster/tls/tls.key"}));
  // Every webhook replica hears what Harbor tells the operator: the relay's flags on both sides,
  // and rights to the one ConfigMap only.
  EXPECT_THAT(args(deployment), Contains("--harbor-events-relay"));
  EXPECT_THAT(args(findDocument(on.documents, "Deployment", "hm-harbormaster-webhook")),
              Contains("--harbor-events-relay"));
  const json webhookRole =
      findDocument(on.documents, "Role", "hm-harbormaster-webhook-harbor-events");
  ASSERT_TRUE(webhookRole.is_object());
  EXPECT_EQ(webhookRole["rules"].size(), 1u);
  EXPECT_EQ(webhookRole["rules"][0]["resourceNames"][0], "harbormaster-harbor-events");
  EXPECT_EQ(strings(webhookRole["rules"][0]["verbs"]),
            (std::vector<std::string>{"get", "list", "watch"}));
  EXPECT_THAT(
      findDocument(on.documents, "Role", "hm-harbormaster-operator-leader-election")["rules"]
          .dump(),
      HasSubstr("harbormaster-harbor-events"));
  const json secret =
      findDocument(on.documents, "Secret", "hm-harbormaster-operator-harbor-events");
  ASSERT_TRUE(secret.is_object());
  EXPECT_EQ(secret["stringData"]["secret"].get<std::string>().size(), 40u) << "generated";
  const std::string pod = deployment["spec"]["template"]["spec"].dump();
  EXPECT_THAT(pod, HasSubstr(R"("secretName":"hm-harbormaster-operator-harbor-events")"));
  EXPECT_THAT(pod, HasSubstr(R"("secretName":"op-tls")"));
  const json container = deployment["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(container["readinessProbe"]["httpGet"]["scheme"], "HTTPS");
  EXPECT_EQ(container["livenessProbe"]["httpGet"]["scheme"], "HTTPS");
  const json monitor = findDocument(on.documents, "ServiceMonitor", "hm-harbormaster");
  EXPECT_THAT(monitor["spec"]["endpoints"].dump(), HasSubstr(R"("scheme":"https")"));

  // A Secret of the user's: used, not rendered.
  auto existing = with({"operator.notifications.existingSecret=harbor-webhook"});
  ASSERT_EQ(existing.exitCode, 0) << existing.output;
  EXPECT_FALSE(findDocument(existing.documents, "Secret", "hm-harbormaster-operator-harbor-events")
                   .is_object());
  EXPECT_THAT(findDocument(existing.documents, "Deployment", "hm-harbormaster-operator").dump(),
              HasSubstr(R"("secretName":"harbor-webhook")"));
  EXPECT_EQ(findDocument(existing.documents, "Deployment",
                         "hm-harbormaster-operator")["spec"]["template"]["spec"]["containers"][0]
                                                    ["readinessProbe"]["httpGet"]["scheme"],
            "HTTP");

  // Refused as the operator would refuse it: nothing reads the notifications without
  // compliance.
  auto alone = renderChart({}, {"harbor.url=https://harbor.example.com",
                                "operator.notifications.url=http://op/harbor-events"});
  EXPECT_NE(alone.exitCode, 0);
  EXPECT_THAT(alone.output, HasSubstr("needs operator.compliance.enabled"));
  auto format = with({"operator.notifications.format=Xml"});
  EXPECT_NE(format.exitCode, 0) << "the schema knows Harbor's payload formats";
}

// The Grafana dashboard: off by default; on, a ConfigMap with the sidecar's label holding a
// dashboard whose every query names metrics the code registers (so a renamed metric fails here,
// not in someone's Grafana).
TEST(ChartTest, TheGrafanaDashboardQueriesOnlyMetricsWeExport) {
  auto off = renderChart({});
  ASSERT_EQ(off.exitCode, 0) << off.output;
  EXPECT_FALSE(findDocument(off.documents, "ConfigMap", "hm-harbormaster-dashboard").is_object());
  auto on = renderChart(
      {}, {"metrics.grafanaDashboard.enabled=true", "metrics.grafanaDashboard.folder=Platform"});
  ASSERT_EQ(on.exitCode, 0) << on.output;
  const json cm = findDocument(on.documents, "ConfigMap", "hm-harbormaster-dashboard");
  ASSERT_TRUE(cm.is_object());
  EXPECT_EQ(cm["metadata"]["labels"]["grafana_dashboard"], "1");
  EXPECT_EQ(cm["metadata"]["annotations"]["grafana_folder"], "Platform");
  const json dashboard = json::parse(cm["data"]["harbormaster.json"].get<std::string>());
  EXPECT_EQ(dashboard["uid"], "harbormaster");
  // What the code registers: every "harbormaster_…" name in a source file under pkg/.
  std::set<std::string> exported;
  const std::regex quoted("\"(harbormaster_[a-z_]+)\"");
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::string(HM_SOURCE_DIR) + "/pkg")) {
    if (entry.path().extension() != ".cpp") {
      continue;
    }
    std::ifstream in(entry.path());
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    for (std::sregex_iterator it(text.begin(), text.end(), quoted), end; it != end; ++it) {
      exported.insert((*it)[1]);
    }
  }
  ASSERT_GT(exported.size(), 20u);
  const std::regex metric("harbormaster_[a-z_]+");
  std::set<std::string> queried;
  for (const auto& panel : dashboard["panels"]) {
    for (const auto& target : panel.value("targets", json::array())) {
      const std::string expr = target["expr"];
      for (std::sregex_iterator it(expr.begin(), expr.end(), metric), end; it != end; ++it) {
        std::string name = it->str();
        for (const char* suffix : {"_bucket", "_count", "_sum"}) {
          const std::string sfx(suffix);
          if (name.size() > sfx.size() &&
              name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0 &&
              !exported.count(name)) {
            name.resize(name.size() - sfx.size());
          }
        }
        queried.insert(name);
        EXPECT_TRUE(exported.count(name)) << name << " in " << panel["title"];
      }
    }
  }
  // The views the dashboard is for.
  for (const char* needed :
       {"harbormaster_policy_decisions_total", "harbormaster_admission_duration_seconds",
        "harbormaster_scan_cache_lookups_total", "harbormaster_signature_cache_lookups_total",
        "harbormaster_compliance_results"}) {
    EXPECT_TRUE(queried.count(needed)) << needed;
  }
}

TEST(ChartTest, TheHarborRateLimitReachesBothComponents) {
  auto r = renderChart({}, {"harbor.url=https://harbor.example.com", "harbor.rateLimit=40"});
  ASSERT_EQ(r.exitCode, 0) << r.output;
  for (const char* name : {"hm-harbormaster-webhook", "hm-harbormaster-operator"}) {
    EXPECT_THAT(args(findDocument(r.documents, "Deployment", name)),
                Contains("--harbor-rate-limit=40"))
        << name;
  }
  auto none = renderChart({}, {"harbor.url=https://harbor.example.com"});
  ASSERT_EQ(none.exitCode, 0) << none.output;
  EXPECT_THAT(none.output, Not(HasSubstr("--harbor-rate-limit"))) << "no limit by default";
  EXPECT_NE(renderChart({}, {"harbor.rateLimit=-1"}).exitCode, 0);
}

TEST(ChartTest, ComplianceAddsItsFlagsAndOnlyTheRightsItUses) {
  auto verbsOf = [](const json& role) {
    std::map<std::string, std::vector<std::string>> verbs;
    for (const auto& rule : role["rules"]) {
      for (const auto& res : strings(rule["resources"])) {
        verbs[res] = strings(rule["verbs"]);
      }
    }
    return verbs;
  };
  auto off = renderChart({});
  ASSERT_EQ(off.exitCode, 0) << off.output;
  EXPECT_EQ(
      verbsOf(findDocument(off.documents, "ClusterRole", "hm-harbormaster-operator-hm-system"))
          .count("pods"),
      0u);
  EXPECT_THAT(args(findDocument(off.documents, "Deployment", "hm-harbormaster-operator")),
              Not(Contains("--compliance")));

  using V = std::vector<std::string>;
  auto on =
      renderChart({}, {"operator.compliance.enabled=true", "operator.compliance.interval=2h"});
  ASSERT_EQ(on.exitCode, 0) << on.output;
  EXPECT_THAT(args(findDocument(on.documents, "Deployment", "hm-harbormaster-operator")),
              IsSupersetOf({"--compliance", "--compliance-interval=2h",
                            "--compliance-reports=wgpolicyk8s.io/v1alpha2"}));
  auto verbs =
      verbsOf(findDocument(on.documents, "ClusterRole", "hm-harbormaster-operator-hm-system"));
  EXPECT_EQ(verbs["pods"], (V{"list", "watch"}));
  EXPECT_EQ(verbs["replicasets"], (V{"list", "watch"}));
  EXPECT_EQ(verbs["jobs"], (V{"list", "watch"}));
  EXPECT_EQ(verbs["policyreports"], (V{"get", "list", "create", "update", "delete"}));
  EXPECT_EQ(verbs["clusterpolicyreports"], (V{"get", "list", "create", "update", "delete"}));
  EXPECT_EQ(verbs.count("reports"), 0u);

  auto open = renderChart({}, {"operator.compliance.enabled=true",
                               "operator.compliance.reports=openreports.io/v1alpha1"});
  ASSERT_EQ(open.exitCode, 0) << open.output;
  verbs =
      verbsOf(findDocument(open.documents, "ClusterRole", "hm-harbormaster-operator-hm-system"));
  EXPECT_EQ(verbs["reports"], (V{"get", "list", "create", "update", "delete"}));
  EXPECT_EQ(verbs.count("policyreports"), 0u);
  // The schema refuses what the operator would.
  auto bad = renderChart({}, {"operator.compliance.reports=wgpolicyk8s.io/v1"});
  EXPECT_NE(bad.exitCode, 0);
}

TEST(ChartTest, SelfManagedWithHarborWiresBothComponents) {
  auto r = renderChart({ciFile("self-managed-values.yaml")});
  ASSERT_EQ(r.exitCode, 0) << r.output;
  json op = findDocument(r.documents, "Deployment", "hm-harbormaster-operator");
  ASSERT_TRUE(op.is_object());
  for (const json& d : {op, findDocument(r.documents, "Deployment", "hm-harbormaster-webhook")}) {
    EXPECT_THAT(args(d),
                IsSupersetOf({"--harbor-url=https://harbor.example.com",
                              "--harbor-ca=/etc/harbormaster/harbor-ca/ca.crt",
                              "--harbor-credentials-file=/etc/harbormaster/harbor/credentials",
                              "--registry-host=registry.example.com:443"}));
  }
  json secret = findDocument(r.documents, "Secret", "hm-harbormaster-harbor");
  EXPECT_EQ(secret["stringData"]["credentials"], "harbormaster:not-a-real-password");
  EXPECT_EQ(args(findDocument(r.documents, "Deployment", "hm-harbormaster-webhook"))[0], "webhook");
  EXPECT_THAT(args(findDocument(r.documents, "Deployment", "hm-harbormaster-webhook")),
              Contains("--cert-validity=720h"));
  // Operator RBAC: exactly the verbs it uses.
  json role = findDocument(r.documents, "ClusterRole", "hm-harbormaster-operator-hm-system");
  std::map<std::string, std::vector<std::string>> verbs;
  for (const auto& rule : role["rules"]) {
    for (const auto& res : strings(rule["resources"])) {
      verbs[res] = strings(rule["verbs"]);
    }
  }
  using V = std::vector<std::string>;
  EXPECT_EQ(verbs["robotaccounts"], (V{"get", "list", "watch", "update"}));
  // Policy status: read the resources, write only their status subresource.
  EXPECT_EQ(verbs["clusterimagepolicies"], (V{"get", "list", "watch"}));
  EXPECT_EQ(verbs["imageexceptions"], (V{"get", "list", "watch"}));
  EXPECT_EQ(verbs["clusterimagepolicies/status"], (V{"update"}));
  EXPECT_EQ(verbs["imagepolicies/status"], (V{"update"}));
  EXPECT_EQ(verbs["imageexceptions/status"], (V{"update"}));
  EXPECT_EQ(verbs["robotaccounts/status"], (V{"update"}));
  EXPECT_EQ(verbs["secrets"], (V{"get", "list", "watch", "create", "update", "delete"}));
  EXPECT_EQ(verbs["serviceaccounts"], (V{"list", "watch", "patch"}));
  EXPECT_EQ(verbs["namespaces"], (V{"list", "watch"}));
  EXPECT_EQ(verbs["events"], (V{"create", "patch"}));
  EXPECT_EQ(verbs.count("leases"), 0u);  // namespaced, below
  json lease = findDocument(r.documents, "Role", "hm-harbormaster-operator-leader-election");
  EXPECT_EQ(lease["metadata"]["namespace"], "hm-system");
  EXPECT_EQ(lease["rules"][0]["verbs"], json::array({"get", "create", "update"}));
  // Monitoring and network policy.
  json sm = findDocument(r.documents, "ServiceMonitor");
  EXPECT_EQ(sm["spec"]["selector"]["matchLabels"]["harbormaster.io/metrics"], "true");
  EXPECT_EQ(findDocuments(r.documents, "NetworkPolicy").size(), 2u);
  int metricsServices = 0;
  for (const auto& s : findDocuments(r.documents, "Service")) {
    metricsServices += s["metadata"]["labels"].value("harbormaster.io/metrics", "") == "true";
  }
  EXPECT_EQ(metricsServices, 2);
}

TEST(ChartTest, TheWebhookCanHaveHarborCredentialsOfItsOwn) {
  const std::vector<std::string> harbor = {"harbor.url=https://harbor.example.com",
                                           "harbor.credentials.username=admin-ish",
                                           "harbor.credentials.password=p1"};
  auto credentialsSecret = [](const json& deployment) {
    return volume(deployment, "harbor-credentials")["secret"]["secretName"];
  };
  // Shared (as before): both mount the operator's Secret.
  auto shared = renderChart({}, harbor);
  ASSERT_EQ(shared.exitCode, 0) << shared.output;
  json webhook = findDocument(shared.documents, "Deployment", "hm-harbormaster-webhook");
  json op = findDocument(shared.documents, "Deployment", "hm-harbormaster-operator");
  EXPECT_EQ(credentialsSecret(webhook), "hm-harbormaster-harbor");
  EXPECT_EQ(credentialsSecret(op), "hm-harbormaster-harbor");
  EXPECT_TRUE(findDocument(shared.documents, "Secret", "hm-harbormaster-webhook-harbor").is_null());
  // (NOTES.txt's warning is checked where helm install runs against kube-sim: chart_e2e_test.)

  // Its own: a read-only robot in a Secret of its own; the operator keeps the admin account.
  std::vector<std::string> own = harbor;
  own.push_back("webhook.harbor.credentials.username=robot$hm-webhook");
  own.push_back("webhook.harbor.credentials.password=p2");
  auto split = renderChart({}, own);
  ASSERT_EQ(split.exitCode, 0) << split.output;
  webhook = findDocument(split.documents, "Deployment", "hm-harbormaster-webhook");
  op = findDocument(split.documents, "Deployment", "hm-harbormaster-operator");
  EXPECT_EQ(credentialsSecret(webhook), "hm-harbormaster-webhook-harbor");
  EXPECT_EQ(credentialsSecret(op), "hm-harbormaster-harbor");
  json secret = findDocument(split.documents, "Secret", "hm-harbormaster-webhook-harbor");
  EXPECT_EQ(secret["stringData"]["credentials"], "robot$hm-webhook:p2");
  EXPECT_THAT(args(webhook),
              Contains("--harbor-credentials-file=/etc/harbormaster/harbor/credentials"));

  // Or an existing Secret, with its key.
  auto existing = renderChart(
      {}, {harbor[0], harbor[1], harbor[2], "webhook.harbor.credentials.existingSecret=hm-robot",
           "webhook.harbor.credentials.existingSecretKey=robot"});
  ASSERT_EQ(existing.exitCode, 0) << existing.output;
  webhook = findDocument(existing.documents, "Deployment", "hm-harbormaster-webhook");
  EXPECT_EQ(credentialsSecret(webhook), "hm-robot");
  EXPECT_EQ(volume(webhook, "harbor-credentials")["secret"]["items"][0]["key"], "robot");
  // A password is required with a username.
  auto noPassword = renderChart({}, {harbor[0], "webhook.harbor.credentials.username=r"});
  EXPECT_NE(noPassword.exitCode, 0);
  EXPECT_THAT(noPassword.output, HasSubstr("webhook.harbor.credentials.password is required"));
}

TEST(ChartTest, TheOperatorCanKeepTheWebhooksOwnReadOnlyRobot) {
  const std::vector<std::string> values = {
      "harbor.url=https://harbor.example.com", "harbor.credentials.username=admin",
      "harbor.credentials.password=p1", "webhook.harbor.provisionRobot=true",
      "webhook.harbor.robotProjects={shop,team-a}"};
  auto r = renderChart({}, values);
  ASSERT_EQ(r.exitCode, 0) << r.output;
  json ra = findDocument(r.documents, "RobotAccount", "hm-system-hm-harbormaster-webhook");
  ASSERT_TRUE(ra.is_object()) << "cluster-scoped: the release's namespace is in its name";
  EXPECT_EQ(ra["metadata"]["annotations"]["helm.sh/resource-policy"], "keep");
  // What the operator reads: parsed here as it parses it.
  auto spec = op::parseRobotAccount(ra);
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->level, op::RobotLevel::kSystem);
  ASSERT_EQ(spec->projects.size(), 2u);
  EXPECT_EQ(spec->projects[1].project, "team-a");
  std::set<std::string> granted;
  for (const auto& a : spec->projects[0].permissions) {
    granted.insert(a.resource + ":" + a.action);
  }
  EXPECT_EQ(granted, (std::set<std::string>{"project:read", "repository:pull", "artifact:read",
                                            "artifact-addition:read", "accessory:list"}))
      << "reads only: no push, no delete, no scan requests";
  ASSERT_TRUE(spec->credentialsSecret.has_value());
  EXPECT_EQ(spec->credentialsSecret->nameSpace, "hm-system");

  // The webhook mounts that Secret whole (optional until written) and reads the directory; the
  // operator keeps its own account; the chart writes no webhook Secret itself.
  json webhook = findDocument(r.documents, "Deployment", "hm-harbormaster-webhook");
  json operatorDeployment = findDocument(r.documents, "Deployment", "hm-harbormaster-operator");
  json mounted = volume(webhook, "harbor-credentials")["secret"];
  EXPECT_EQ(mounted["secretName"], spec->credentialsSecret->name);
  EXPECT_EQ(mounted["optional"], true);
  EXPECT_FALSE(mounted.contains("items")) << "username and password are separate keys";
  EXPECT_THAT(args(webhook), Contains("--harbor-credentials-file=/etc/harbormaster/harbor"));
  EXPECT_EQ(volume(operatorDeployment, "harbor-credentials")["secret"]["secretName"],
            "hm-harbormaster-harbor");
  EXPECT_TRUE(findDocument(r.documents, "Secret", spec->credentialsSecret->name).is_null());

  // The robot's Harbor name can be set (clusters sharing a Harbor); the defaults cover "*".
  auto named = renderChart(
      {}, {values[0], values[1], values[2], values[3], "webhook.harbor.robotName=prod-eu-webhook",
           "webhook.harbor.robotScanCreate=true"});
  ASSERT_EQ(named.exitCode, 0) << named.output;
  ra = findDocument(named.documents, "RobotAccount");
  EXPECT_EQ(ra["spec"]["name"], "prod-eu-webhook");
  EXPECT_EQ(ra["spec"]["projects"][0]["project"], "*");
  EXPECT_THAT(ra["spec"]["projects"][0]["permissions"].dump(),
              HasSubstr(R"({"action":"create","resource":"scan"})"))
      << "for ScanAndDeny policies, when asked";

  // Not with credentials of its own, nor without the operator; off by default.
  auto both = renderChart(
      {}, {values[0], values[1], values[2], values[3], "webhook.harbor.credentials.username=r",
           "webhook.harbor.credentials.password=p"});
  EXPECT_NE(both.exitCode, 0);
  EXPECT_THAT(both.output, HasSubstr("choose one"));
  auto noOperator = renderChart({}, {values[0], values[3], "operator.enabled=false"});
  EXPECT_NE(noOperator.exitCode, 0);
  EXPECT_THAT(noOperator.output, HasSubstr("needs operator.enabled"));
  auto off = renderChart({}, {values[0], values[1], values[2]});
  ASSERT_EQ(off.exitCode, 0);
  EXPECT_TRUE(findDocument(off.documents, "RobotAccount").is_null());
  auto badName = renderChart({}, {values[0], values[3], "webhook.harbor.robotName=Bad.Name"});
  EXPECT_NE(badName.exitCode, 0) << "the schema checks Harbor's robot name rule";
}

TEST(ChartTest, CertManagerModeLetsCertManagerInjectTheCa) {
  auto r = renderChart({ciFile("cert-manager-values.yaml")});
  ASSERT_EQ(r.exitCode, 0) << r.output;
  json vwc = webhookConfiguration(r.documents);
  EXPECT_EQ(vwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            "hm-system/hm-harbormaster-webhook-serving");
  EXPECT_FALSE(vwc["webhooks"][0]["clientConfig"].contains("caBundle"));
  json cert = findDocument(r.documents, "Certificate", "hm-harbormaster-webhook-serving");
  ASSERT_TRUE(cert.is_object());
  EXPECT_THAT(strings(cert["spec"]["dnsNames"]), Contains("hm-harbormaster-webhook.hm-system.svc"));
  EXPECT_EQ(cert["spec"]["issuerRef"]["name"], "hm-harbormaster-webhook-ca");
  EXPECT_EQ(findDocuments(r.documents, "Issuer").size(), 2u);
  json webhook = findDocument(r.documents, "Deployment", "hm-harbormaster-webhook");
  EXPECT_EQ(volume(webhook, "tls")["secret"]["secretName"], cert["spec"]["secretName"]);
  for (const auto& a : args(webhook)) {
    EXPECT_THAT(a, Not(HasSubstr("--cert-")));
  }
  // Policies come from the API; certificates do not.
  EXPECT_EQ(webhook["spec"]["template"]["spec"]["automountServiceAccountToken"], true);
  EXPECT_TRUE(findDocument(r.documents, "Role", "hm-harbormaster-webhook-certificates").is_null());
  // Credentials from an existing Secret: the chart does not create one.
  EXPECT_TRUE(findDocument(r.documents, "Secret", "hm-harbormaster-harbor").is_null());
  EXPECT_EQ(volume(webhook, "harbor-credentials")["secret"]["secretName"],
            "harbor-robot-for-harbormaster");

  auto own = renderChart({ciFile("cert-manager-issuer-values.yaml")});
  ASSERT_EQ(own.exitCode, 0) << own.output;
  EXPECT_TRUE(findDocuments(own.documents, "Issuer").empty());
  EXPECT_EQ(findDocument(own.documents, "Certificate")["spec"]["issuerRef"]["kind"],
            "ClusterIssuer");
}

TEST(ChartTest, ExistingSecretModeUsesTheGivenBundle) {
  auto r = renderChart({ciFile("existing-secret-values.yaml")});
  ASSERT_EQ(r.exitCode, 0) << r.output;
  json vwc = webhookConfiguration(r.documents);
  auto bundle = base64Decode(vwc["webhooks"][0]["clientConfig"].value("caBundle", ""));
  ASSERT_TRUE(bundle.has_value());
  EXPECT_THAT(*bundle, HasSubstr("-----BEGIN CERTIFICATE-----"));
  json webhook = findDocument(r.documents, "Deployment", "hm-harbormaster-webhook");
  EXPECT_EQ(volume(webhook, "tls")["secret"]["secretName"], "corp-webhook-tls");
  EXPECT_TRUE(findDocuments(r.documents, "Certificate").empty());

  auto missing =
      renderChart({}, {"certificates.mode=existingSecret", "certificates.existingSecret.name=x"});
  EXPECT_NE(missing.exitCode, 0);
  EXPECT_THAT(missing.output, HasSubstr("certificates.existingSecret.caBundle (PEM) is required"));
}

TEST(ChartTest, PolicyValuesBecomeClusterImagePoliciesAndTyposFailTheInstall) {
  testing::TempDir dir;
  // Helm reads values as YAML 1.1: a bare Off is false, and must still mean Optional.
  dir.write("values.yaml", R"(policies:
  - apiVersion: harbormaster.io/v1alpha1
    kind: ImagePolicy
    metadata: {name: registries, labels: {team: platform}}
    spec:
      registries: [harbor.example.com]
      digest: Off
      match: {namespaceSelector: {matchLabels: {env: prod}}}
      exceptionPolicy: {maxDuration: 168h}
)");
  auto r = renderChart({dir.file("values.yaml")});
  ASSERT_EQ(r.exitCode, 0) << r.output;
  json cip = findDocument(r.documents, "ClusterImagePolicy", "registries");
  ASSERT_TRUE(cip.is_object());
  EXPECT_EQ(cip["apiVersion"], "harbormaster.io/v1alpha1");
  EXPECT_EQ(cip["spec"]["digest"], "Optional");
  EXPECT_EQ(cip["metadata"]["labels"]["team"], "platform");
  EXPECT_EQ(cip["spec"]["match"]["namespaceSelector"]["matchLabels"]["env"], "prod");

  struct Case {
    std::string set;
    std::string complaint;
  };
  for (const Case& c : {Case{"policies[0].spec.mode=enforce", "mode"},
                        Case{"policies[0].spec.digset=Require", "digset"},
                        Case{"policies[0].metadata.name=Bad_Name", "name"},
                        Case{"policies[0].kind=Policy", "kind"}}) {
    auto bad = renderChart({dir.file("values.yaml")}, {c.set});
    EXPECT_NE(bad.exitCode, 0) << c.set;
    EXPECT_THAT(bad.output, HasSubstr(c.complaint)) << c.set;
  }
}

// digest: Pin's MutatingWebhookConfiguration: Pods only, the same exclusions as the validating
// one, and its CA handled as the validating one's in every certificate mode.
TEST(ChartTest, TheMutatingWebhookMatchesTheValidatingOneInEveryCertificateMode) {
  auto off = renderChart({});
  ASSERT_EQ(off.exitCode, 0) << off.output;
  EXPECT_TRUE(findDocuments(off.documents, "MutatingWebhookConfiguration").empty());

  // A Pin policy in the values turns it on by itself.
  testing::TempDir dir;
  dir.write("pin.yaml", R"(webhook:
  excludeNamespaces: [istio-system]
  mutating: {failurePolicy: Ignore, timeoutSeconds: 5}
policies:
  - apiVersion: harbormaster.io/v1alpha1
    kind: ClusterImagePolicy
    metadata: {name: pinned}
    spec: {digest: Pin}
)");
  struct Mode {
    std::string file;
    std::vector<std::string> sets;
  };
  for (const Mode& m : {Mode{"", {}}, Mode{ciFile("cert-manager-values.yaml"), {}},
                        Mode{ciFile("existing-secret-values.yaml"), {}}}) {
    std::vector<std::string> files = {dir.file("pin.yaml")};
    if (!m.file.empty()) {
      files.push_back(m.file);
    }
    auto r = renderChart(files, m.sets);
    ASSERT_EQ(r.exitCode, 0) << m.file << r.output;
    json mwc = findDocument(r.documents, "MutatingWebhookConfiguration", "hm-harbormaster-webhook");
    ASSERT_TRUE(mwc.is_object()) << m.file;
    json vwc = webhookConfiguration(r.documents);
    const json& w = mwc["webhooks"][0];
    EXPECT_EQ(w["clientConfig"]["service"]["path"], "/mutate");
    EXPECT_EQ(w["reinvocationPolicy"], "IfNeeded");
    EXPECT_EQ(w["sideEffects"], "None");
    EXPECT_EQ(w["failurePolicy"], "Ignore");
    EXPECT_EQ(w["timeoutSeconds"], 5);
    ASSERT_EQ(w["rules"].size(), 2u);
    EXPECT_EQ(w["rules"][0]["resources"], json::array({"pods"}));
    EXPECT_EQ(w["rules"][0]["operations"], json::array({"CREATE"}));
    EXPECT_EQ(w["rules"][1]["resources"], json::array({"pods/ephemeralcontainers"}));
    EXPECT_EQ(w["namespaceSelector"], vwc["webhooks"][0]["namespaceSelector"]);
    EXPECT_THAT(strings(w["namespaceSelector"]["matchExpressions"][0]["values"]),
                Contains("istio-system"));
    EXPECT_EQ(mwc["metadata"].value("annotations", json::object()),
              vwc["metadata"].value("annotations", json::object()))
        << "cert-manager injects both";
    EXPECT_EQ(w["clientConfig"].value("caBundle", ""),
              vwc["webhooks"][0]["clientConfig"].value("caBundle", ""));
    json webhook = findDocument(r.documents, "Deployment", "hm-harbormaster-webhook");
    const bool selfManaged = m.file.empty();
    const std::vector<std::string> flags = args(webhook);
    EXPECT_EQ(std::count(flags.begin(), flags.end(),
                         "--cert-mutating-webhook-configuration=hm-harbormaster-webhook"),
              selfManaged ? 1 : 0);
    json role =
        findDocument(r.documents, "ClusterRole", "hm-harbormaster-webhook-hm-system-certificates");
    if (selfManaged) {
      ASSERT_EQ(role["rules"].size(), 2u);
      EXPECT_EQ(role["rules"][1]["resources"], json::array({"mutatingwebhookconfigurations"}));
      EXPECT_EQ(role["rules"][1]["resourceNames"], json::array({"hm-harbormaster-webhook"}));
    } else {
      EXPECT_TRUE(role.is_null());
    }
  }
  EXPECT_THAT(
      renderChart({ciFile("existing-secret-values.yaml")}, {"webhook.mutating.enabled=true"})
          .output,
      HasSubstr("MutatingWebhookConfiguration"));
}

TEST(ChartTest, MatchConditionsNeedKubernetes128) {
  const std::vector<std::string> set = {
      "webhook.matchConditions[0].name=skip-nodes",
      "webhook.matchConditions[0].expression=has(request.userInfo)"};
  auto old = renderChart({}, set, "hm-system", {"--kube-version", "1.27.9"});
  EXPECT_NE(old.exitCode, 0);
  EXPECT_THAT(old.output, HasSubstr("webhook.matchConditions needs Kubernetes 1.28 or newer"));
  auto current = renderChart({}, set, "hm-system", {"--kube-version", "1.28.0"});
  ASSERT_EQ(current.exitCode, 0) << current.output;
  EXPECT_EQ(webhookConfiguration(current.documents)["webhooks"][0]["matchConditions"][0]["name"],
            "skip-nodes");
}

TEST(ChartTest, WarnModeAndExclusions) {
  auto warn = renderChart({ciFile("warn-mode-values.yaml")});
  ASSERT_EQ(warn.exitCode, 0) << warn.output;
  json w = webhookConfiguration(warn.documents)["webhooks"][0];
  EXPECT_EQ(w["failurePolicy"], "Ignore");
  EXPECT_EQ(w["timeoutSeconds"], 5);
  auto policies = findDocuments(warn.documents, "ClusterImagePolicy");
  ASSERT_EQ(policies.size(), 2u);
  EXPECT_EQ(policies[0]["spec"]["mode"], "Warn");
  EXPECT_EQ(policies[1]["spec"]["mode"], "Audit");

  auto ex = renderChart({ciFile("exclusions-values.yaml")});
  ASSERT_EQ(ex.exitCode, 0) << ex.output;
  json e = webhookConfiguration(ex.documents)["webhooks"][0];
  EXPECT_THAT(
      strings(e["namespaceSelector"]["matchExpressions"][0]["values"]),
      IsSupersetOf({"kube-system", "kube-node-lease", "hm-system", "istio-system", "monitoring"}));
  EXPECT_EQ(e["namespaceSelector"]["matchExpressions"][1]["key"], "harbormaster.io/ignore");
  EXPECT_EQ(e["objectSelector"]["matchExpressions"][0]["key"], "harbormaster.io/skip");
  EXPECT_EQ(e["matchConditions"][0]["name"], "not-node-users");
  // The release namespace is excluded wherever the chart is installed.
  auto elsewhere = renderChart({}, {}, "platform-tools");
  ASSERT_EQ(elsewhere.exitCode, 0) << elsewhere.output;
  EXPECT_THAT(strings(webhookConfiguration(elsewhere.documents)["webhooks"][0]["namespaceSelector"]
                                                               ["matchExpressions"][0]["values"]),
              Contains("platform-tools"));
}

TEST(ChartTest, SchemaRejectsTyposAndNonsense) {
  struct Case {
    std::string set;
    std::string message;
  };
  for (const Case& c :
       {Case{"webhook.replcas=3", "replcas"}, Case{"harbor.credentials.usrname=x", "usrname"},
        Case{"certificates.mode=auto", "certificates.mode"},
        Case{"webhook.failurePolicy=Deny", "failurePolicy"},
        Case{"webhook.timeoutSeconds=60", "timeoutSeconds"}, Case{"operator.resync=ten", "resync"},
        Case{"image.digest=latest", "digest"}, Case{"topLevelTypo=1", "topLevelTypo"}}) {
    auto r = renderChart({}, {c.set});
    EXPECT_NE(r.exitCode, 0) << c.set;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << c.set;
  }
}

TEST(ChartTest, ImageCanBePinnedByDigest) {
  const std::string digest =
      "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  auto r = renderChart({ciFile("self-managed-values.yaml")}, {"image.digest=" + digest});
  ASSERT_EQ(r.exitCode, 0) << r.output;
  for (const auto& d : findDocuments(r.documents, "Deployment")) {
    EXPECT_EQ(container(d)["image"], "ghcr.io/harbormaster/harbormaster@" + digest);
  }
}

// Helm installs crds/ on the first install only; the chart's copy must be exactly the project's.
TEST(ChartTest, CrdsAreIdenticalToTheTopLevelOnes) {
  std::set<std::string> top, chart;
  for (const auto& e : fs::directory_iterator(std::string(HM_SOURCE_DIR) + "/crds")) {
    top.insert(e.path().filename().string());
  }
  for (const auto& e : fs::directory_iterator(testing::chartDir() + "/crds")) {
    chart.insert(e.path().filename().string());
  }
  ASSERT_FALSE(top.empty());
  EXPECT_EQ(top, chart);
  for (const auto& name : top) {
    EXPECT_EQ(testing::readText(std::string(HM_SOURCE_DIR) + "/crds/" + name),
              testing::readText(testing::chartDir() + "/crds/" + name))
        << name << " differs: copy crds/" << name << " into deploy/helm/harbormaster/crds/";
  }
  auto r = renderChart({}, {}, "hm-system", {"--include-crds"});
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_EQ(findDocuments(r.documents, "CustomResourceDefinition").size(), top.size());
}

// The policy CRDs are generated (one spec schema for both policy kinds): crds/ must be what the
// generator writes.
TEST(ChartTest, PolicyCrdsAreWhatTheGeneratorWrites) {
  testing::TempDir dir;
  std::string out;
  ASSERT_EQ(
      testing::runCommand({"python3", std::string(HM_SOURCE_DIR) + "/hack/crdgen/policy_crds.py",
                           "--out", dir.path()},
                          out),
      0)
      << out;
  int generated = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    const std::string name = e.path().filename().string();
    ++generated;
    EXPECT_EQ(testing::readText(e.path().string()),
              testing::readText(std::string(HM_SOURCE_DIR) + "/crds/" + name))
        << name << " is stale: run hack/crdgen/policy_crds.py and copy crds/ into the chart";
  }
  EXPECT_EQ(generated, 3);
}

// A fact source module's policy section reaches the CRDs from its own folder
// (crd/policy-section.json): its schema under spec.<key>, its check among the checks both the
// policies' exceptions and ImageExceptions accept.
TEST(ChartTest, APolicySectionInAModuleFolderReachesThePolicyCrds) {
  testing::TempDir pkg;
  testing::TempDir out;
  fs::create_directories(pkg.path() + "/agegate/crd");
  const std::string section = pkg.path() + "/agegate/crd/policy-section.json";
  std::ofstream(section) << (R"({"key": "age", "check": "age", "schema": {
      "type": "object", "required": ["maxDays"],
      "properties": {"maxDays": {"type": "integer", "minimum": 1, "maximum": 3650}}}})");
  ASSERT_TRUE(fs::exists(section));
  std::string log;
  ASSERT_EQ(
      testing::runCommand({"python3", std::string(HM_SOURCE_DIR) + "/hack/crdgen/policy_crds.py",
                           "--out", out.path(), "--pkg", pkg.path()},
                          log),
      0)
      << log;
  auto load = [&](const std::string& name) {
    std::string text = testing::readText(out.path() + "/" + name);
    while (!text.empty() && text[0] == '#') {
      text.erase(0, text.find('\n') + 1);
    }
    return json::parse(text);
  };
  for (const char* name :
       {"clusterimagepolicies.harbormaster.io.yaml", "imagepolicies.harbormaster.io.yaml"}) {
    const json spec = load(name)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
                                ["spec"]["properties"];
    ASSERT_TRUE(spec.contains("age")) << name;
    EXPECT_EQ(spec["age"]["required"], json::array({"maxDays"}));
    EXPECT_THAT(spec["exceptions"]["items"]["properties"]["checks"]["items"]["enum"],
                Contains("age"))
        << name;
  }
  const json exception = load("imageexceptions.harbormaster.io.yaml");
  EXPECT_THAT(exception["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
                       ["properties"]["checks"]["items"]["enum"],
              Contains("age"));

  // A malformed section file is an error naming it, not a CRD without it.
  std::ofstream(section) << R"({"key": "age"})";
  EXPECT_NE(
      testing::runCommand({"python3", std::string(HM_SOURCE_DIR) + "/hack/crdgen/policy_crds.py",
                           "--out", out.path(), "--pkg", pkg.path()},
                          log),
      0);
  EXPECT_THAT(log, HasSubstr("policy-section.json: must hold exactly key, check and schema"));
}

TEST(ChartTest, SignatureKeysAndTrustedRootsAreMountedWhereThePolicyReadsThem) {
  auto r = renderChart({ciFile("signatures-values.yaml")});
  ASSERT_EQ(r.exitCode, 0) << r.output;
  json webhook = findDocument(r.documents, "Deployment", "hm-harbormaster-webhook");
  EXPECT_THAT(args(webhook), IsSupersetOf({std::string("--signature-cache-ttl=24h"),
                                           std::string("--signature-negative-ttl=30s"),
                                           std::string("--digest-lookup-budget=2s")}));
  EXPECT_EQ(volume(webhook, "signatures-ci")["secret"]["secretName"], "cosign-ci-public-key");
  EXPECT_EQ(volume(webhook, "signatures-public-good")["configMap"]["name"],
            "sigstore-trusted-root");
  std::map<std::string, std::string> mounts;
  const json volumeMounts = container(webhook)["volumeMounts"];
  for (const auto& m : volumeMounts) {
    mounts[m["name"].get<std::string>()] = m["mountPath"].get<std::string>();
    if (m["name"].get<std::string>().rfind("signatures-", 0) == 0) {
      EXPECT_EQ(m.value("readOnly", false), true);
    }
  }
  EXPECT_EQ(mounts["signatures-ci"], "/etc/harbormaster/signatures/ci");
  EXPECT_EQ(mounts["signatures-public-good"], "/etc/harbormaster/signatures/public-good");
  // The operator sees the same files at the same paths: the status it writes (Ready, or
  // CannotBeEnforced when a file is missing) is what the webhook enforces.
  json op = findDocument(r.documents, "Deployment", "hm-harbormaster-operator");
  ASSERT_TRUE(op.is_object());
  EXPECT_EQ(volume(op, "signatures-ci")["secret"]["secretName"], "cosign-ci-public-key");
  EXPECT_EQ(volume(op, "signatures-public-good")["configMap"]["name"], "sigstore-trusted-root");
  std::map<std::string, std::string> opMounts;
  const json opVolumeMounts = container(op)["volumeMounts"];
  for (const auto& m : opVolumeMounts) {
    opMounts[m["name"].get<std::string>()] = m["mountPath"].get<std::string>();
    EXPECT_EQ(m.value("readOnly", false), true) << m.dump();
  }
  EXPECT_EQ(opMounts["signatures-ci"], mounts["signatures-ci"]);
  EXPECT_EQ(opMounts["signatures-public-good"], mounts["signatures-public-good"]);

  // The real binary accepts the policy once the files are where the mounts put them.
  std::string policy = findDocument(r.documents, "ClusterImagePolicy", "signed").dump();
  testing::TempDir dir;
  const std::string vectors = std::string(HM_SHARED_DIR) + "/sigstore/vectors/";
  fs::create_directories(dir.file("ci"));
  fs::create_directories(dir.file("public-good"));
  fs::copy_file(vectors + "legacy-tag/keys/cosign.pub", dir.file("ci/cosign.pub"));
  fs::copy_file(vectors + "trusted-roots/public-good.sigstore-go.json",
                dir.file("public-good/trusted_root.json"));
  for (size_t at; (at = policy.find("/etc/harbormaster/signatures/")) != std::string::npos;) {
    policy.replace(at, std::string("/etc/harbormaster/signatures/").size(), dir.path() + "/");
  }
  dir.write("policy.yaml", policy);
  std::string out;
  // An unsigned image from a registry nobody runs: "could not check", and the policy loaded.
  EXPECT_EQ(
      testing::runCommand({HM_BINARY, "check", "--policy", dir.file("policy.yaml"), "--namespace",
                           "prod-eu", "127.0.0.1:1/app@sha256:" + std::string(64, 'a')},
                          out),
      1)
      << out;
  EXPECT_THAT(out, HasSubstr("could not check signatures"));

  // A source must name exactly one of secret and configMap.
  auto bad = renderChart({}, {"webhook.signatureSources[0].name=ci"});
  EXPECT_NE(bad.exitCode, 0);
}

}  // namespace
}  // namespace hm
