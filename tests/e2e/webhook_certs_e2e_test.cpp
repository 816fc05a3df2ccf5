// Self-managed webhook certificates end to end: the real binary against kube-sim. The checks are
// made the way an API server calls a webhook: TLS to <service>.<namespace>.svc verified against
// the caBundle the ValidatingWebhookConfiguration holds at that moment (curl does the handshake).
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "harbormaster/base/encoding.h"
#include "harbormaster/pki/pki.h"
#include "support/kube_rig.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace hm {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kNamespace = "hm-system";
constexpr const char* kService = "hm-webhook";
constexpr const char* kSecret = "hm-webhook-tls";
constexpr const char* kConfiguration = "hm-webhook";
const std::string kHost = std::string(kService) + "." + kNamespace + ".svc";

class WebhookCertificatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("policy.yaml",
               "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: p}\n"
               "spec: {mode: Enforce, digest: Require}\n");
    dir_.write("review.json",
               testing::readText(testing::sharedFile("admission-samples/01-Pod-CREATE.json")));
    apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: hm-system}\n");
    // One webhook of ours, one of somebody else's that must be left alone.
    apply(R"(apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: hm-webhook}
webhooks:
- name: images.harbormaster.io
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig:
    service: {name: hm-webhook, namespace: hm-system, path: /validate, port: 443}
- name: other.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig:
    service: {name: other, namespace: other, path: /check}
    caBundle: b3RoZXI=
)");
  }

  struct Replica {
    std::unique_ptr<testing::Process> process;
    uint16_t port = 0;
  };

  Replica start(const std::string& name, const std::vector<std::string>& extra = {}) {
    Replica r;
    std::vector<std::string> argv = {HM_BINARY,
                                     "webhook",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--ports-file",
                                     dir_.file(name + ".ports"),
                                     "--policy",
                                     dir_.file("policy.yaml"),
                                     "--namespace",
                                     kNamespace,
                                     "--tls-cert",
                                     dir_.file(name + ".crt"),
                                     "--tls-key",
                                     dir_.file(name + ".key"),
                                     "--cert-secret",
                                     kSecret,
                                     "--cert-service",
                                     kService,
                                     "--cert-webhook-configuration",
                                     kConfiguration,
                                     "--kubeconfig",
                                     kube_.kubeconfig(),
                                     "--threads",
                                     "2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::filesystem::remove(dir_.file(name + ".ports"));  // a restart under the same name
    r.process = std::make_unique<testing::Process>(argv, dir_.file(name + ".log"));
    try {
      // Listening follows the keeper's first pass (the server needs the files it writes).
      r.port = testing::waitForPorts(dir_.file(name + ".ports"), *r.process, 60)["listen"];
    } catch (const std::exception&) {
      // It exited or never listened: the test's own checks say so, with its output.
    }
    return r;
  }

  void apply(const std::string& yaml) {
    dir_.write("apply.yaml", yaml);
    std::string out;
    ASSERT_EQ(kube_.kubectl({"apply", "-f", dir_.file("apply.yaml")}, out), 0) << out;
  }

  // A GET straight to kube-sim (faster than kubectl, for polling).
  json kubeGet(const std::string& path) {
    std::string out;
    if (testing::runCommand({"curl", "-sk", "-H", "Authorization: Bearer " + kube_.token(),
                             "https://127.0.0.1:" + std::to_string(kube_.port()) + path},
                            out) != 0) {
      return nullptr;
    }
    json j = json::parse(out, nullptr, false);
    return j.is_discarded() || j.value("kind", "") == "Status" ? json(nullptr) : j;
  }

  json secret() {
    return kubeGet(std::string("/api/v1/namespaces/") + kNamespace + "/secrets/" + kSecret);
  }
  json configuration() {
    return kubeGet(std::string("/apis/admissionregistration.k8s.io/v1/"
                               "validatingwebhookconfigurations/") +
                   kConfiguration);
  }

  // The caBundle of our webhook, decoded; empty when unset.
  std::string caBundle() {
    json c = configuration();
    if (!c.is_object()) {
      return "";
    }
    return base64Decode(c["webhooks"][0]["clientConfig"].value("caBundle", "")).value_or("");
  }

  // What an API server does: TLS to the Service's name verified with `bundle`, POST a review.
  // Returns the response uid ("" on any failure) and the served certificate in `servedPem`.
  std::string review(uint16_t port, const std::string& bundle, const std::string& tag,
                     std::string* servedPem = nullptr) {
    dir_.write("bundle-" + tag + ".pem", bundle);
    std::string out;
    int rc = testing::runCommand(
        {"curl", "-s", "--max-time", "5", "--cacert", dir_.file("bundle-" + tag + ".pem"),
         "--resolve", kHost + ":" + std::to_string(port) + ":127.0.0.1", "-H",
         "Content-Type: application/json", "--data-binary", "@" + dir_.file("review.json"),
         "https://" + kHost + ":" + std::to_string(port) + "/validate?timeout=10s"},
        out);
    if (servedPem != nullptr) {
      std::string pem;
      testing::runCommand(
          {"sh", "-c",
           "openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -servername " + kHost +
               " </dev/null 2>/dev/null | openssl x509 2>/dev/null"},
          pem);
      *servedPem = pem;
    }
    if (rc != 0) {
      return "";
    }
    json j = json::parse(out, nullptr, false);
    return j.is_discarded() ? "" : j["response"].value("uid", "");
  }

  testing::KubeSimRig kube_;
  testing::TempDir dir_;
};

TEST_F(WebhookCertificatesTest, CreatesTheSecretInjectsTheBundleAndServesAVerifiedCertificate) {
  Replica a = start("a");
  ASSERT_TRUE(testing::eventually(30, [&] { return !caBundle().empty(); })) << a.process->output();
  json s = secret();
  ASSERT_TRUE(s.is_object());
  EXPECT_EQ(s.value("type", ""), "kubernetes.io/tls");
  EXPECT_EQ(s["metadata"]["labels"].value("app.kubernetes.io/managed-by", ""), "harbormaster");
  for (const char* key : {"tls.crt", "tls.key", "ca.crt", "ca.key", "ca-bundle.crt"}) {
    EXPECT_TRUE(s["data"].contains(key)) << key;
  }
  EXPECT_EQ(caBundle(), base64Decode(s["data"].value("ca-bundle.crt", "")).value_or("x"));
  // Somebody else's webhook in the same configuration is untouched.
  EXPECT_EQ(configuration()["webhooks"][1]["clientConfig"].value("caBundle", ""), "b3RoZXI=");

  std::string served;
  ASSERT_TRUE(testing::eventually(10, [&] { return !review(a.port, caBundle(), "a").empty(); }))
      << a.process->output();
  EXPECT_EQ(review(a.port, caBundle(), "a", &served), "88f54f46-2bd8-4006-a290-cd779abae429");
  auto info = pki::inspect(served);
  ASSERT_TRUE(info.ok()) << served;
  EXPECT_THAT(info->dnsNames, ::testing::Contains(kHost));
  // A client trusting some other CA refuses it, as the API server would.
  auto stranger = pki::createCa("stranger", std::chrono::system_clock::now(),
                                std::chrono::system_clock::now() + std::chrono::hours(1));
  ASSERT_TRUE(stranger.ok());
  EXPECT_EQ(review(a.port, stranger->certPem, "stranger"), "");

  // A second replica and a restart reuse what is in the Secret: nothing is regenerated.
  std::string version = secret()["metadata"].value("resourceVersion", "");
  Replica b = start("b");
  std::string servedByB;
  ASSERT_TRUE(testing::eventually(20, [&] {
    return !review(b.port, caBundle(), "b", &servedByB).empty();
  })) << b.process->output();
  EXPECT_EQ(pki::inspect(servedByB)->fingerprint, info->fingerprint);
  a.process->signal(SIGTERM);
  EXPECT_EQ(a.process->wait(20), 0) << a.process->output();
  Replica again = start("a");
  ASSERT_TRUE(testing::eventually(20, [&] {
    return !review(again.port, caBundle(), "a", &served).empty();
  })) << again.process->output();
  EXPECT_EQ(pki::inspect(served)->fingerprint, info->fingerprint);
  EXPECT_EQ(secret()["metadata"].value("resourceVersion", ""), version);

  // Someone blanks the caBundle (a `kubectl replace` of the chart's manifest): it comes back.
  json c = configuration();
  c["webhooks"][0]["clientConfig"].erase("caBundle");
  dir_.write("vwc.json", c.dump());
  std::string out;
  ASSERT_EQ(kube_.kubectl({"replace", "-f", dir_.file("vwc.json")}, out), 0) << out;
  EXPECT_TRUE(testing::eventually(20, [&] { return !caBundle().empty(); }));
  EXPECT_EQ(review(again.port, caBundle(), "a"), "88f54f46-2bd8-4006-a290-cd779abae429");
}

// digest: Pin's MutatingWebhookConfiguration gets the same bundle, and gets it back when blanked.
TEST_F(WebhookCertificatesTest, KeepsTheMutatingConfigurationsBundleToo) {
  apply(R"(apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: hm-webhook}
webhooks:
- name: pin.harbormaster.io
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig:
    service: {name: hm-webhook, namespace: hm-system, path: /mutate, port: 443}
)");
  Replica a = start("a", {"--cert-mutating-webhook-configuration", kConfiguration});
  const std::string mutating =
      std::string("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/") +
      kConfiguration;
  auto mutatingBundle = [&] {
    json c = kubeGet(mutating);
    return c.is_object()
               ? base64Decode(c["webhooks"][0]["clientConfig"].value("caBundle", "")).value_or("")
               : std::string();
  };
  ASSERT_TRUE(testing::eventually(30, [&] { return !mutatingBundle().empty(); }))
      << a.process->output();
  EXPECT_EQ(mutatingBundle(), caBundle());

  json c = kubeGet(mutating);
  c["webhooks"][0]["clientConfig"].erase("caBundle");
  dir_.write("blank.json", c.dump());
  std::string out;
  ASSERT_EQ(kube_.kubectl({"replace", "-f", dir_.file("blank.json")}, out), 0) << out;
  EXPECT_TRUE(testing::eventually(20, [&] { return mutatingBundle() == caBundle(); }))
      << a.process->output();
}

TEST_F(WebhookCertificatesTest, RefusesToTakeOverASecretItDidNotCreate) {
  apply(R"(apiVersion: v1
kind: Secret
metadata: {name: hm-webhook-tls, namespace: hm-system}
type: Opaque
stringData: {note: "someone else's"}
)");
  Replica a = start("a");
  EXPECT_EQ(a.process->wait(30), 1);
  EXPECT_THAT(a.process->output(), HasSubstr("was not created by Harbormaster"));
  EXPECT_EQ(secret()["data"].value("note", ""), base64Encode("someone else's"));
}

TEST_F(WebhookCertificatesTest, BadCertificateFlagsAreClearErrors) {
  Replica a = start("a", {"--cert-validity", "48h", "--ca-validity", "72h"});
  EXPECT_EQ(a.process->wait(10), 2);
  EXPECT_THAT(a.process->output(), HasSubstr("at most a third of the CA validity"));
  testing::Process noSecret({HM_BINARY, "webhook", "--tls-cert", "x", "--tls-key", "y", "--policy",
                             dir_.file("policy.yaml"), "--cert-service", "s"},
                            dir_.file("nosecret.log"));
  EXPECT_EQ(noSecret.wait(10), 2);
  EXPECT_THAT(noSecret.output(), HasSubstr("--cert-service needs --cert-secret"));
}

// Two replicas with lifetimes shrunk to seconds, watched by a client that behaves like an API
// server: it re-reads the caBundle and calls each replica over and over. CAs and serving
// certificates change under it; not one call may fail.
TEST_F(WebhookCertificatesTest, RotatesWithoutAFailedAdmission) {
  std::vector<std::string> fast = {"--ca-validity",    "45s", "--cert-validity",       "15s",
                                   "--ca-propagation", "2s",  "--cert-check-interval", "500ms"};
  Replica a = start("a", fast);
  Replica b = start("b", fast);
  ASSERT_TRUE(testing::eventually(30, [&] {
    std::string bundle = caBundle();
    return !bundle.empty() && !review(a.port, bundle, "a").empty() &&
           !review(b.port, bundle, "b").empty();
  })) << a.process->output();

  std::set<std::string> cas, served;
  int calls = 0;
  std::vector<std::string> failures;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(55);
  while (std::chrono::steady_clock::now() < until) {
    std::string bundle = caBundle();
    json s = secret();
    if (s.is_object()) {
      cas.insert(s["data"].value("ca.crt", ""));
    }
    for (Replica* r : {&a, &b}) {
      std::string pem;
      ++calls;
      if (review(r->port, bundle, "probe", &pem).empty()) {
        failures.push_back("call " + std::to_string(calls) + " to port " + std::to_string(r->port));
      }
      served.insert(pem);
    }
  }
  EXPECT_THAT(failures, ::testing::IsEmpty());
  EXPECT_GE(calls, 40);
  EXPECT_GE(cas.size(), 2u) << "no CA rotation happened";
  EXPECT_GE(served.size(), 4u) << "too few serving certificates";
  EXPECT_TRUE(a.process->running()) << a.process->output();
  EXPECT_TRUE(b.process->running()) << b.process->output();
}

}  // namespace
}  // namespace hm
