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
    std::vector<std::string> args{
        HM_BINARY, "webhook", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
        "--ports-file", dir_.file("webhook.ports"), "--tls-cert", dir_.file("tls.crt"), "--tls-key",
        dir_.file("tls.key"), "--policy", dir_.file("policy.yaml"), "--namespace", "harbormaster",
        "--policy-check-interval", "100ms", "--shutdown-grace", "5s",
        // The samples' registries are not on this machine: no lookups for digest fixes.
        "--digest-lookup-budget", "0s"};
    for (const auto& flag : extraFlags()) {
      args.push_back(flag);
    }
    proc_ = std::make_unique<hm::testing::Process>(args, dir_.file("webhook.log"));
    auto ports = hm::testing::waitForPorts(dir_.file("webhook.ports"), *proc_);
    port_ = ports["listen"];
    metricsPort_ = ports["metrics"];
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
  virtual std::vector<std::string> extraFlags() const { return {}; }

  // Resident memory of the webhook process, in MiB.
  long rssMiB() const {
    std::string status = hm::testing::readText("/proc/" + std::to_string(proc_->pid()) + "/status");
    size_t at = status.find("VmRSS:");
    return at == std::string::npos ? -1 : std::stol(status.substr(at + 6)) / 1024;
  }

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

// A stray ',' after '---' (yaml-cpp 0.7's LoadAll loops forever on it, allocating): the reload
// fails at once with the document and line, the previous policy stays, memory does not grow.
TEST_F(WebhookE2E, AStrayCommaInThePolicyIsAnErrorNotAHang) {
  const long before = rssMiB();
  dir_.write("policy.yaml", std::string(kPolicy) + "---\n,\n");
  ASSERT_TRUE(eventually(10, [&] {
    return metrics().find("harbormaster_policy_reload_errors_total 1") != std::string::npos;
  })) << proc_->output();
  EXPECT_THAT(proc_->output(), HasSubstr("document 4, line 24, column 1"));
  EXPECT_THAT(proc_->output(), HasSubstr("cannot get past"));
  EXPECT_EQ(review(sample("01-Pod-CREATE.json"))["response"]["allowed"], false)
      << "the previous policy is in force";
  EXPECT_EQ(Client(metricsPort_, false).get("/healthz").status, 200);
  // Generous: the defect grew to gigabytes within seconds.
  EXPECT_LT(rssMiB(), before + 200);
}

TEST_F(WebhookE2E, SigtermDrainsAndExits) {
  Client idle(port_);
  EXPECT_EQ(review(idle, sample("02-Deployment-CREATE.json"))["response"]["allowed"], true);
  proc_->signal(SIGTERM);
  EXPECT_TRUE(idle.closedByPeer());
  EXPECT_EQ(proc_->wait(15), 0) << proc_->output();
  EXPECT_THAT(proc_->output(), HasSubstr("Shut down"));
}

// Bounds small enough to reach on loopback: 48 connections, 16 MiB of buffered bodies (one
// client gets half), one I/O thread, 1 s to send a header.
class WebhookFloodE2E : public WebhookE2E {
 protected:
  std::vector<std::string> extraFlags() const override {
    return {"--max-connections", "48", "--max-buffered-bytes", "16Mi", "--header-timeout", "1s",
            "--threads",         "1"};
  }
};

// A flood from one client: hundreds of idle TCP and TLS connections, slowloris headers and
// stalled 7 MiB uploads. Idle ones are closed to make room, bodies over the byte budget get a
// 503, and a real review is still answered; every bound shows in the metrics.
TEST_F(WebhookFloodE2E, AFloodOfIdleSlowAndStalledConnectionsDoesNotStarveReviews) {
  const long before = rssMiB();
  std::vector<Client> flood;
  flood.reserve(300);
  for (int i = 0; i < 200; ++i) {
    flood.emplace_back(port_, /*tls=*/false);  // TCP only: no TLS handshake ever comes
  }
  for (int i = 0; i < 60; ++i) {
    flood.emplace_back(port_);  // TLS, then nothing
  }
  for (int i = 0; i < 20; ++i) {
    flood.emplace_back(port_);
    flood.back().writeRaw("POST /validate HTTP/1.1\r\nHost: x\r\nX-Slow: ");  // slowloris
  }
  // Stalled uploads announce 7 MiB - 1 and send 1 MiB of it.
  const std::string head =
      "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(7 * 1024 * 1024 - 1) + "\r\n\r\n";
  std::vector<Client> stalled;
  int refused = 0;
  for (int i = 0; i < 4; ++i) {
    stalled.emplace_back(port_);
    try {
      stalled.back().writeRaw(head + std::string(1024 * 1024, ' '));
    } catch (const std::exception&) {
      ++refused;  // the 503 and close may come before the body is written
    }
  }
  // A real review on a new connection: it makes room by closing an idle one.
  const std::string body = sample("01-Pod-CREATE.json");
  json answered;
  ASSERT_TRUE(eventually(20, [&] {
    try {
      answered = review(body);
      return answered.contains("response");
    } catch (const std::exception&) {
      return false;
    }
  })) << proc_->output();
  EXPECT_EQ(answered["response"]["allowed"], false);
  const std::string m = metrics();
  EXPECT_THAT(m, HasSubstr("harbormaster_http_connection_events_total{event=\"evicted\"}"));
  EXPECT_THAT(m, HasSubstr("harbormaster_http_connection_events_total{event=\"buffer_full\"}"));
  ASSERT_TRUE(eventually(
      20, [&] { return metrics().find("event=\"header_timeout\"") != std::string::npos; }));
  // Under a sanitizer build every byte costs more; the point is "bounded", not a number.
  EXPECT_LT(rssMiB(), before + 400);
  EXPECT_LT(refused, 4) << "the first stalled upload fits the budget";
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
  // The stray-comma policy that made yaml-cpp 0.7 loop forever: exit 2 with where it is.
  dir.write("comma.yaml", std::string(kPolicy) + "---\n,\n");
  EXPECT_EQ(hm::testing::runCommand(
                {HM_BINARY, "check", "--policy", dir.file("comma.yaml"), "nginx"}, out),
            2);
  EXPECT_THAT(out, HasSubstr("comma.yaml, document 4, line 24"));
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
