// The rendered chart applied to kube-sim with `kubectl apply --validate=false`, and the binaries
// started the way its Deployments start them: the same arguments and environment, every volume
// filled from the object kube-sim stores (ConfigMaps and Secrets as the kubelet would mount them),
// listening on free loopback ports instead of the container ports. Only pods whose manifest
// mounts a service account token get a kubeconfig (standing in for in-cluster config).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "harbormaster/base/encoding.h"
#include "support/chart.h"
#include "support/kube_rig.h"
#include "support/process.h"
#include "support/registry_rig.h"
#include "support/temp_dir.h"

namespace hm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kNamespace = "hm-system";

// One replica of a Deployment, run as a local process.
struct Pod {
  std::string name;
  // Container ports listen on 127.0.0.1:0; the binary writes what it got to portsFile.
  std::string portsFile;
  std::map<std::string, std::string> portKeys;  // container port name -> ports-file key
  std::unique_ptr<testing::Process> process;

  // The local port of a container port, 0 until the pod listens.
  uint16_t port(const std::string& name) const {
    std::ifstream in(portsFile);
    std::string line;
    const auto key = portKeys.find(name);
    while (key != portKeys.end() && std::getline(in, line)) {
      if (line.rfind(key->second + "=", 0) == 0) {
        return static_cast<uint16_t>(std::stoul(line.substr(key->second.size() + 1)));
      }
    }
    return 0;
  }
};

class ChartOnKubeSimTest : public ::testing::Test {
 protected:
  static testing::HarborRigOptions tlsHarbor() {
    testing::HarborRigOptions o;
    o.tls = true;
    return o;
  }
  ChartOnKubeSimTest() : harbor_(tlsHarbor()) {}

  // kubectl with a manifest written to a file.
  int kubectlFile(const std::vector<std::string>& verb, const std::string& yaml, std::string& out) {
    dir_.write("manifest.yaml", yaml);
    std::vector<std::string> args = verb;
    args.insert(args.end(), {"-f", dir_.file("manifest.yaml")});
    return kube_.kubectl(args, out);
  }

  json get(const std::vector<std::string>& what) { return kube_.get(what); }

  std::string valuesFile(const std::string& extra = "") {
    std::string ca = testing::readText(harbor_.caFile());
    std::string indented;
    for (size_t at = 0; at < ca.size();) {
      size_t nl = ca.find('\n', at);
      indented += "    " + ca.substr(at, nl - at) + "\n";
      at = nl == std::string::npos ? ca.size() : nl + 1;
    }
    dir_.write("values.yaml", "harbor:\n  url: " + harbor_.url() + "\n  caBundle: |\n" + indented +
                                  "  credentials:\n    username: admin\n    password: \"" +
                                  harbor_.adminPassword() +
                                  "\"\nnetworkPolicy:\n  enabled: true\n" + extra);
    return dir_.file("values.yaml");
  }

  // Writes what a volume holds, as the kubelet would mount it, under `path`.
  void fillVolume(const json& volume, const std::string& path) {
    fs::create_directories(path);
    json source;
    bool secret = false;
    if (volume.contains("configMap")) {
      source = get({"configmap", "-n", kNamespace, volume["configMap"]["name"]});
    } else if (volume.contains("secret")) {
      secret = true;
      source = get({"secret", "-n", kNamespace, volume["secret"]["secretName"]});
    } else {
      return;  // emptyDir
    }
    ASSERT_TRUE(source.is_object()) << volume.dump();
    json items = volume[secret ? "secret" : "configMap"].value("items", json::array());
    std::map<std::string, std::string> keyToPath;
    for (const auto& i : items) {
      keyToPath[i["key"]] = i["path"];
    }
    const json data = source.value("data", json::object());
    for (const auto& [key, value] : data.items()) {
      if (!items.empty() && !keyToPath.count(key)) {
        continue;
      }
      std::string content =
          secret ? base64Decode(value.get<std::string>()).value_or("") : value.get<std::string>();
      std::string file = path + "/" + (keyToPath.count(key) ? keyToPath[key] : key);
      fs::create_directories(fs::path(file).parent_path());
      std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
    }
  }

  // Starts replica `index` of `deployment` as its manifest says.
  Pod startPod(const json& deployment, int index) {
    Pod pod;
    pod.name = deployment["metadata"]["name"].get<std::string>() + "-" + std::to_string(index);
    const json& spec = deployment["spec"]["template"]["spec"];
    const json& c = spec["containers"][0];
    std::string root = dir_.file("pods/" + pod.name);
    std::map<std::string, json> volumes;
    for (const auto& v : spec.value("volumes", json::array())) {
      volumes[v["name"]] = v;
    }
    std::vector<std::pair<std::string, std::string>> mounts;  // mountPath -> local path
    for (const auto& m : c.value("volumeMounts", json::array())) {
      std::string local = root + m["mountPath"].get<std::string>();
      fillVolume(volumes[m["name"]], local);
      mounts.emplace_back(m["mountPath"], local);
    }
    pod.portsFile = root + "/ports";
    std::vector<std::string> argv = {"env", "-i", "HOME=" + root, "PATH=/usr/bin:/bin"};
    for (const auto& e : c.value("env", json::array())) {
      std::string field = e["valueFrom"]["fieldRef"].value("fieldPath", "");
      std::string value = field == "metadata.namespace" ? kNamespace : pod.name;
      argv.push_back(e["name"].get<std::string>() + "=" + value);
    }
    argv.push_back(HM_BINARY);
    for (std::string a : c["args"]) {
      // The longest mount path that starts the flag's value, replaced once.
      size_t eq = a.find('=');
      const std::pair<std::string, std::string>* best = nullptr;
      for (const auto& m : mounts) {
        if (eq != std::string::npos && a.compare(eq + 1, m.first.size(), m.first) == 0 &&
            (best == nullptr || m.first.size() > best->first.size())) {
          best = &m;
        }
      }
      if (best != nullptr) {
        a.replace(eq + 1, best->first.size(), best->second);
      }
      // Container ports become loopback ports the binary picks and reports.
      for (const auto& p : c["ports"]) {
        std::string suffix = "=:" + std::to_string(p["containerPort"].get<int>());
        if (a.size() > suffix.size() &&
            a.compare(a.size() - suffix.size(), suffix.size(), suffix) == 0) {
          const std::string flag = a.substr(0, a.size() - suffix.size());
          pod.portKeys[p["name"]] = flag == "--metrics-listen" ? "metrics" : "listen";
          a = flag + "=127.0.0.1:0";
        }
      }
      argv.push_back(a);
    }
    argv.push_back("--ports-file=" + pod.portsFile);
    if (spec.value("automountServiceAccountToken", true)) {
      argv.push_back("--kubeconfig=" + kube_.kubeconfig());
    }
    pod.process = std::make_unique<testing::Process>(argv, dir_.file(pod.name + ".log"));
    return pod;
  }

  // The readiness probe of the manifest, against the pod's mapped port.
  bool ready(const json& deployment, Pod& pod) {
    const json& probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"];
    std::string port = std::to_string(pod.port(probe["httpGet"]["port"]));
    std::string out;
    return testing::runCommand(
               {"curl", "-sf",
                "http://127.0.0.1:" + port + probe["httpGet"]["path"].get<std::string>()},
               out) == 0;
  }

  json review(Pod& pod, const std::string& service) {
    json vwc = get({"validatingwebhookconfiguration", "hm-harbormaster-webhook"});
    if (!vwc.is_object()) {
      return nullptr;
    }
    auto bundle = base64Decode(vwc["webhooks"][0]["clientConfig"].value("caBundle", ""));
    dir_.write("bundle.pem", bundle.value_or(""));
    dir_.write("review.json",
               testing::readText(testing::sharedFile("admission-samples/01-Pod-CREATE.json")));
    std::string host = service + "." + kNamespace + ".svc";
    std::string port = std::to_string(pod.port("https"));
    std::string out;
    if (testing::runCommand(
            {"curl", "-s", "--cacert", dir_.file("bundle.pem"), "--resolve",
             host + ":" + port + ":127.0.0.1", "-H", "Content-Type: application/json",
             "--data-binary", "@" + dir_.file("review.json"),
             "https://" + host + ":" + port + "/validate?timeout=10s"},
            out) != 0) {
      return nullptr;
    }
    json j = json::parse(out, nullptr, false);
    return j.is_discarded() ? json(nullptr) : j["response"];
  }

  testing::KubeSimRig kube_;
  testing::HarborRig harbor_;
  testing::TempDir dir_;
};

TEST_F(ChartOnKubeSimTest, RenderedChartRunsAsTheManifestsSay) {
  auto r = testing::renderChart({valuesFile()}, {}, kNamespace, {"--include-crds"});
  ASSERT_EQ(r.exitCode, 0) << r.output;
  std::string out;
  ASSERT_EQ(
      kubectlFile({"apply"}, "apiVersion: v1\nkind: Namespace\nmetadata: {name: hm-system}\n", out),
      0)
      << out;
  // As Helm does: the chart's crds/ first (established), then the templates, whose
  // ClusterImagePolicies need those CRDs.
  ASSERT_EQ(kube_.kubectl({"apply", "-f", testing::chartDir() + "/crds"}, out), 0) << out;
  ASSERT_EQ(kubectlFile({"apply", "--validate=false"}, r.output, out), 0) << out;
  for (const char* kind : {"deployment", "service", "poddisruptionbudget", "networkpolicy",
                           "validatingwebhookconfiguration", "clusterrole", "rolebinding",
                           "configmap", "secret", "crd", "clusterimagepolicy"}) {
    EXPECT_NE(out.find(std::string(kind == std::string("crd") ? "customresourcedefinition" : kind)),
              std::string::npos)
        << kind << " not applied:\n"
        << out;
  }

  json webhook = testing::findDocument(r.documents, "Deployment", "hm-harbormaster-webhook");
  json op = testing::findDocument(r.documents, "Deployment", "hm-harbormaster-operator");
  ASSERT_TRUE(webhook.is_object() && op.is_object());
  std::vector<Pod> webhooks, operators;
  for (int i = 0; i < webhook["spec"]["replicas"].get<int>(); ++i) {
    webhooks.push_back(startPod(webhook, i));
  }
  for (int i = 0; i < op["spec"]["replicas"].get<int>(); ++i) {
    operators.push_back(startPod(op, i));
  }
  for (auto& p : webhooks) {
    ASSERT_TRUE(testing::eventually(60, [&] { return ready(webhook, p); })) << p.name << ":\n"
                                                                            << p.process->output();
  }
  for (auto& p : operators) {
    ASSERT_TRUE(testing::eventually(60, [&] { return ready(op, p); })) << p.name << ":\n"
                                                                       << p.process->output();
  }

  // Self-managed certificates: the Secret exists, the caBundle is injected, and a call made as
  // the API server makes it (to the Service's DNS name, verified with that bundle) is answered by
  // each replica.
  json tls = get({"secret", "-n", kNamespace, "hm-harbormaster-webhook-tls"});
  ASSERT_TRUE(tls.is_object());
  EXPECT_EQ(tls["type"], "kubernetes.io/tls");
  for (auto& p : webhooks) {
    json res;
    ASSERT_TRUE(testing::eventually(20, [&] {
      res = review(p, "hm-harbormaster-webhook");
      return res.is_object();
    })) << p.process->output();
    EXPECT_EQ(res["allowed"], true);  // the default policy warns
    EXPECT_THAT(res.value("warnings", json::array()).dump(), HasSubstr("not pinned by digest"));
  }

  // What `helm upgrade` renders (lookup against the cluster) carries the live caBundle over, so
  // an upgrade neither blanks nor regenerates it.
  json liveVwc = get({"validatingwebhookconfiguration", "hm-harbormaster-webhook"});
  std::string liveBundle = liveVwc["webhooks"][0]["clientConfig"].value("caBundle", "");
  ASSERT_FALSE(liveBundle.empty());
  auto upgrade = testing::renderChart({valuesFile()}, {}, kNamespace,
                                      {"--dry-run=server", "--kubeconfig", kube_.kubeconfig()});
  ASSERT_EQ(upgrade.exitCode, 0) << upgrade.output;
  json rendered = testing::findDocument(upgrade.documents, "ValidatingWebhookConfiguration",
                                        "hm-harbormaster-webhook");
  EXPECT_EQ(rendered["webhooks"][0]["clientConfig"].value("caBundle", ""), liveBundle);

  // NOTES.txt, as `helm install` prints it (a dry run against kube-sim, in-memory release store).
  dir_.write("helm-memory.yaml", "");
  ASSERT_EQ(
      testing::runCommand(
          {"env", "HELM_DRIVER=memory", "HELM_MEMORY_DRIVER_DATA=" + dir_.file("helm-memory.yaml"),
           "helm", "install", "--dry-run=client", "hm", testing::chartDir(), "-n", kNamespace, "-f",
           valuesFile(), "--kubeconfig", kube_.kubeconfig()},
          out),
      0)
      << out;
  std::string notes = out.substr(std::min(out.find("NOTES:"), out.size()));
  EXPECT_THAT(notes,
              HasSubstr("kubectl -n hm-system rollout status deploy/hm-harbormaster-webhook"));
  EXPECT_THAT(notes, HasSubstr("Never judged: kube-system, kube-node-lease, hm-system."));
  EXPECT_THAT(notes, HasSubstr("Operator: hm-harbormaster-operator"));
  EXPECT_THAT(notes, HasSubstr("helm upgrade` never updates them"));
  // One Harbor account for both: the notes say the webhook should have a read-only one.
  EXPECT_THAT(notes, HasSubstr("WARNING: the webhook uses the operator's Harbor credentials"));

  // The operator: one leader, and Harbor reached with the mounted URL, CA and credentials.
  json lease = get({"lease", "-n", kNamespace, "harbormaster-operator"});
  ASSERT_TRUE(lease.is_object());
  EXPECT_THAT(lease["spec"].value("holderIdentity", ""), HasSubstr("hm-harbormaster-operator-"));
  ASSERT_EQ(kubectlFile({"apply"},
                        "apiVersion: harbormaster.io/v1alpha1\nkind: HarborProject\n"
                        "metadata: {name: chart-check}\nspec: {}\n",
                        out),
            0)
      << out;
  ASSERT_TRUE(testing::eventually(
      30,
      [&] {
        json hp = get({"harborproject", "chart-check"});
        for (const auto& c :
             hp.is_object() ? hp["status"].value("conditions", json::array()) : json::array()) {
          if (c.value("type", "") == "Ready" && c.value("status", "") == "True") {
            return true;
          }
        }
        return false;
      }))
      << operators[0].process->output() << operators[1].process->output();
  std::string body;
  EXPECT_EQ(harbor_.curl("GET", "/api/v2.0/projects/chart-check", "", body), 200) << body;

  // The values' policy is a ClusterImagePolicy the operator marks Ready; a change through values
  // (`helm upgrade` applies the objects) reaches every webhook replica through its informer.
  ASSERT_TRUE(testing::eventually(
      30,
      [&] {
        json cip = get({"clusterimagepolicy", "digest-pinning"});
        for (const auto& c :
             cip.is_object() ? cip["status"].value("conditions", json::array()) : json::array()) {
          if (c.value("type", "") == "Ready" && c.value("status", "") == "True") {
            return true;
          }
        }
        return false;
      }))
      << operators[0].process->output() << operators[1].process->output();
  auto enforce = testing::renderChart(
      {valuesFile(
          "policies:\n  - apiVersion: harbormaster.io/v1alpha1\n    kind: ClusterImagePolicy\n"
          "    metadata: {name: digest-pinning}\n    spec: {mode: Enforce, digest: Require}\n")},
      {}, kNamespace);
  ASSERT_EQ(enforce.exitCode, 0) << enforce.output;
  ASSERT_EQ(kubectlFile({"apply", "--validate=false"}, enforce.output, out), 0) << out;
  for (auto& p : webhooks) {
    EXPECT_TRUE(testing::eventually(15, [&] {
      json res = review(p, "hm-harbormaster-webhook");
      return res.is_object() && res["allowed"] == false;
    })) << p.process->output();
  }
}

}  // namespace
}  // namespace hm
