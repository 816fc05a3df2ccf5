// End to end: the real binary, real TLS, AdmissionReviews exactly as a kube-apiserver sends them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "support/certs.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"

namespace hm::e2e {
namespace {

using hm::testing::Client;
using hm::testing::eventually;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kPolicy = R"(
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: production}
spec:
  mode: Enforce
  match: {namespaces: ["shop"], images: ["harbor.example.com/**"]}
  digest: Require
---
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: hub-images}
spec:
  mode: Warn
  match: {namespaces: ["shop"], images: ["docker.io/**"]}
---
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: observe}
spec:
  mode: Audit
  match: {namespaces: ["audit-*"]}
)";

std::string sample(const std::string& name) {
  return hm::testing::readText(hm::testing::sharedFile("admission-samples/" + name));
}

json sampleJson(const std::string& name) {
  return json::parse(sample(name));
}

class WebhookE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    hm::testing::makeSelfSignedCert(dir_.file("tls.crt"), dir_.file("tls.key"), "webhook-1");
    dir_.write("policy.yaml", kPolicy);
    port_ = hm::testing::freePort();
    metricsPort_ = hm::testing::freePort();
    proc_ = std::make_unique<hm::testing::Process>(
        std::vector<std::string>{
            HM_BINARY, "webhook", "--listen", "127.0.0.1:" + std::to_string(port_),
            "--metrics-listen", "127.0.0.1:" + std::to_string(metricsPort_), "--tls-cert",
            dir_.file("tls.crt"), "--tls-key", dir_.file("tls.key"), "--policy",
            dir_.file("policy.yaml"), "--namespace", "harbormaster", "--policy-check-interval",
            "100ms", "--shutdown-grace", "5s",
            // The samples' registries are not on this machine: no lookups for digest fixes.
            "--digest-lookup-budget", "0s"},
        dir_.file("webhook.log"));
    ASSERT_TRUE(eventually(20, [&] {
      try {
        return Client(port_).get("/readyz").status == 200;
      } catch (const std::exception&) {
        return false;
      }
    })) << proc_->output();
  }

  json review(Client& c, const std::string& body) {
    auto r = c.post("/validate?timeout=10s", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }
  json review(const std::string& body) {
    Client c(port_);
    return review(c, body);
  }

  std::string metrics() { return Client(metricsPort_, /*tls=*/false).get("/metrics").body; }

  hm::testing::TempDir dir_;
  uint16_t port_ = 0;
  uint16_t metricsPort_ = 0;
  std::unique_ptr<hm::testing::Process> proc_;
};

TEST_F(WebhookE2E, DeniesUnpinnedAndAllowsPinned) {
  json denied = review(sample("01-Pod-CREATE.json"));
  EXPECT_EQ(denied["response"]["uid"], "88f54f46-2bd8-4006-a290-cd779abae429");
  EXPECT_EQ(denied["response"]["allowed"], false);
  EXPECT_EQ(denied["response"]["status"]["code"], 403);
  EXPECT_EQ(denied["response"]["status"]["message"],
            "harbormaster: Pod shop/web denied by policy \"production\": container \"web\" "
            "(spec.containers[0].image) harbor.example.com/shop/web:1.4 is not pinned by digest — "
            "use harbor.example.com/shop/web@sha256:<digest>");
  json allowed = review(sample("02-Deployment-CREATE.json"));
  EXPECT_EQ(allowed["response"]["allowed"], true);
  EXPECT_THAT(proc_->output(), HasSubstr("\"uid\":\"88f54f46-2bd8-4006-a290-cd779abae429\""))
      << "one log line per decision, with the uid";
}

TEST_F(WebhookE2E, WarnModeAllowsWithWarnings) {
  json res = review(sample("06-Deployment-CREATE.json"));  // nginx:1.25 from Docker Hub
  EXPECT_EQ(res["response"]["allowed"], true);
  ASSERT_EQ(res["response"]["warnings"].size(), 1u);
  EXPECT_THAT(res["response"]["warnings"][0].get<std::string>(),
              HasSubstr("harbormaster: policy \"hub-images\": container \"nginx\" nginx:1.25 is "
                        "not pinned by digest"));
}

TEST_F(WebhookE2E, AuditModeOnlyAnnotates) {
  json body = sampleJson("01-Pod-CREATE.json");
  body["request"]["namespace"] = "audit-team";
  json res = review(body.dump());
  EXPECT_EQ(res["response"]["allowed"], true);
  EXPECT_FALSE(res["response"].contains("warnings"));
  EXPECT_EQ(res["response"]["auditAnnotations"]["violations"],
            "observe/digest spec.containers[0].image");
}

TEST_F(WebhookE2E, JudgesEveryWorkloadKind) {
  Client c(port_);
  for (const char* file :
       {"04-Job-CREATE.json", "05-CronJob-CREATE.json", "07-StatefulSet-CREATE.json",
        "08-DaemonSet-CREATE.json", "03-Deployment-UPDATE.json"}) {
    EXPECT_EQ(review(c, sample(file))["response"]["allowed"], false) << file;
  }
  // ReplicaSet and ReplicationController carry the same template as a Deployment.
  json rs = sampleJson("03-Deployment-UPDATE.json");
  rs["request"]["kind"]["kind"] = "ReplicaSet";
  EXPECT_EQ(review(c, rs.dump())["response"]["allowed"], false);
  json rc = rs;
  rc["request"]["kind"] = {{"group", ""}, {"version", "v1"}, {"kind", "ReplicationController"}};
  EXPECT_EQ(review(c, rc.dump())["response"]["allowed"], false);
  // kubectl debug adds a Docker Hub image: only the Warn policy matches it.
  json debug = review(c, sample("09-Pod-UPDATE-ephemeralcontainers.json"));
  EXPECT_EQ(debug["response"]["allowed"], true);
  EXPECT_THAT(debug["response"]["warnings"][0].get<std::string>(),
              HasSubstr("container \"debugger-"));
}

TEST_F(WebhookE2E, UpdateWithUnchangedImagesIsNotBlocked) {
  json body = sampleJson("03-Deployment-UPDATE.json");
  auto& old = body["request"]["oldObject"]["spec"]["template"]["spec"]["containers"][0]["image"];
  old = "harbor.example.com/shop/api:2.0";  // the unpinned image was already running
  body["request"]["object"]["spec"]["replicas"] = 5;
  EXPECT_EQ(review(body.dump())["response"]["allowed"], true);
}

TEST_F(WebhookE2E, BadBodiesGetClearErrorsAndTheServerStaysUp) {
  {
    Client c(port_);
    auto r = c.post("/validate", "{not json");
    EXPECT_EQ(r.status, 400);
    EXPECT_THAT(json::parse(r.body)["error"].get<std::string>(), HasSubstr("not valid JSON"));
    auto missing =
        c.post("/validate", R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})");
    EXPECT_EQ(missing.status, 400);
    EXPECT_EQ(c.get("/validate").status, 405);
    EXPECT_EQ(c.get("/nope").status, 404);
  }
  {
    Client c(port_);
    auto r = c.post("/validate", std::string(8 * 1024 * 1024, ' '));
    EXPECT_EQ(r.status, 413);
  }
  {
    Client c(port_);
    c.writeRaw("\x16\x03\x01garbage that is not HTTP\r\n\r\n");
    EXPECT_EQ(c.readReply().status, 400);
  }
  EXPECT_EQ(review(sample("01-Pod-CREATE.json"))["response"]["allowed"], false);
  EXPECT_TRUE(proc_->running());
  EXPECT_THAT(metrics(), HasSubstr("harbormaster_admission_requests_total{decision=\"invalid\""));
}

TEST_F(WebhookE2E, Serves200ConcurrentKeepAliveConnections) {
  std::vector<Client> clients;
  clients.reserve(200);
  for (int i = 0; i < 200; ++i) {
    clients.emplace_back(port_);
  }
  const std::string body = sample("01-Pod-CREATE.json");
  // Every connection sends before any reads, so all 200 are in flight together.
  for (int round = 0; round < 2; ++round) {
    std::string raw =
        "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    for (auto& c : clients) {
      c.writeRaw(raw);
    }
    for (auto& c : clients) {
      auto r = c.readReply();
      ASSERT_EQ(r.status, 200);
      EXPECT_TRUE(r.keepAlive);
      EXPECT_EQ(json::parse(r.body)["response"]["allowed"], false);
    }
  }
  EXPECT_THAT(metrics(), HasSubstr("harbormaster_admission_requests_total{decision=\"denied\","
                                   "kind=\"Pod\",operation=\"CREATE\"} 400"));
}

TEST_F(WebhookE2E, ReloadsTheCertificateWithoutDroppingTheListener) {
  Client old(port_);
  EXPECT_EQ(old.peerCommonName(), "webhook-1");
  hm::testing::makeSelfSignedCert(dir_.file("n.crt"), dir_.file("n.key"), "webhook-2");
  std::rename(dir_.file("n.key").c_str(), dir_.file("tls.key").c_str());
  std::rename(dir_.file("n.crt").c_str(), dir_.file("tls.crt").c_str());
  ASSERT_TRUE(eventually(15, [&] { return Client(port_).peerCommonName() == "webhook-2"; }));
  EXPECT_EQ(review(old, sample("02-Deployment-CREATE.json"))["response"]["allowed"], true);
  EXPECT_THAT(metrics(), HasSubstr("harbormaster_certificate_reloads_total{result=\"success\"}"));
}

TEST_F(WebhookE2E, InvalidPolicyReloadKeepsThePreviousPolicy) {
  dir_.write("policy.yaml",
             "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\n"
             "metadata: {name: p}\nspec: {mode: Enforcing}\n");
  ASSERT_TRUE(eventually(10, [&] {
    return metrics().find("harbormaster_policy_reload_errors_total 1") != std::string::npos;
  }));
  EXPECT_THAT(metrics(), HasSubstr("harbormaster_policy_last_reload_success 0"));
  EXPECT_THAT(proc_->output(), HasSubstr("spec.mode: must be one of Enforce, Warn, Audit"));
  EXPECT_EQ(review(sample("01-Pod-CREATE.json"))["response"]["allowed"], false);

  dir_.write("policy.yaml", std::string(kPolicy).replace(
                                std::string(kPolicy).find("digest: Require"), 15, "digest: Off"));
  ASSERT_TRUE(eventually(
      10, [&] { return review(sample("01-Pod-CREATE.json"))["response"]["allowed"] == true; }));
  EXPECT_THAT(metrics(), HasSubstr("harbormaster_policy_last_reload_success 1"));
}

TEST_F(WebhookE2E, SigtermDrainsAndExits) {
  Client idle(port_);
  EXPECT_EQ(review(idle, sample("02-Deployment-CREATE.json"))["response"]["allowed"], true);
  proc_->signal(SIGTERM);
  EXPECT_TRUE(idle.closedByPeer());
  EXPECT_EQ(proc_->wait(15), 0) << proc_->output();
  EXPECT_THAT(proc_->output(), HasSubstr("Shut down"));
}

TEST(CheckCommandE2E, ExitStatusTellsTheVerdict) {
  hm::testing::TempDir dir;
  dir.write("policy.yaml", kPolicy);
  std::string out;
  const std::string pinned = "harbor.example.com/shop/web@sha256:" + std::string(64, 'a');
  EXPECT_EQ(hm::testing::runCommand({HM_BINARY, "check", "--policy", dir.file("policy.yaml"),
                                     "--namespace", "shop", pinned},
                                    out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("ALLOWED  " + pinned));
  EXPECT_EQ(hm::testing::runCommand(
                {HM_BINARY, "check", "--policy", dir.file("policy.yaml"), "--namespace", "shop",
                 "--digest-lookup-budget", "0s", pinned, "harbor.example.com/shop/web:1.4"},
                out),
            1);
  EXPECT_THAT(out, HasSubstr("DENIED   harbor.example.com/shop/web:1.4"));
  EXPECT_THAT(out, HasSubstr("use harbor.example.com/shop/web@sha256:<digest>"));
  EXPECT_EQ(hm::testing::runCommand(
                {HM_BINARY, "check", "--policy", dir.file("missing.yaml"), "nginx"}, out),
            2);
  EXPECT_THAT(out, HasSubstr("missing.yaml"));
  EXPECT_EQ(hm::testing::runCommand({HM_BINARY, "check", "nginx"}, out), 2);
  EXPECT_EQ(hm::testing::runCommand({HM_BINARY, "version"}, out), 0);
  EXPECT_THAT(out, HasSubstr("harbormaster "));
}

TEST(WebhookStartE2E, RefusesToStartWithAnInvalidPolicyOrCertificate) {
  hm::testing::TempDir dir;
  hm::testing::makeSelfSignedCert(dir.file("tls.crt"), dir.file("tls.key"), "x");
  dir.write("bad.yaml", "kind: Nope\n");
  std::string out;
  EXPECT_EQ(hm::testing::runCommand(
                {HM_BINARY, "webhook", "--listen", "127.0.0.1:0", "--tls-cert", dir.file("tls.crt"),
                 "--tls-key", dir.file("tls.key"), "--policy", dir.file("bad.yaml")},
                out),
            2);
  EXPECT_THAT(out, HasSubstr("apiVersion"));
  dir.write("good.yaml", kPolicy);
  EXPECT_EQ(hm::testing::runCommand({HM_BINARY, "webhook", "--listen", "127.0.0.1:0", "--tls-cert",
                                     dir.file("missing.crt"), "--tls-key", dir.file("tls.key"),
                                     "--policy", dir.file("good.yaml")},
                                    out),
            2);
  EXPECT_THAT(out, HasSubstr("missing.crt"));
}

}  // namespace
}  // namespace hm::e2e
