// What a tenant or any in-cluster client can send, end to end: the real binaries (webhook with
// --cluster-policies, operator without Harbor) against kube-sim and Debian's docker-registry,
// driven with the real kubectl. Nothing sleeps as an assertion: verdicts and status are polled.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/cosign.h"
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
using ::testing::Not;

const std::string kVectors = std::string(HM_SHARED_DIR) + "/sigstore/vectors/";
const std::string kDigest = "sha256:" + std::string(64, 'a');

// VmRSS in KiB and the number of open descriptors of a process, from /proc.
struct Footprint {
  long rssKib = 0;
  long fds = 0;
};
Footprint footprintOf(pid_t pid) {
  Footprint f;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) {
      f.rssKib = std::stol(line.substr(6));
    }
  }
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++f.fds;
  }
  return f;
}

class TrustBoundariesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Under ASan a freed block waits in a 256 MiB quarantine before it is reused; a smaller one
    // lets the replica's RSS say what it holds, not what it freed.
    if (const char* asan = std::getenv("ASAN_OPTIONS")) {
      setenv("ASAN_OPTIONS", (std::string(asan) + ":quarantine_size_mb=16").c_str(), 1);
    }
    std::string out;
    ASSERT_EQ(kube_.kubectl({"apply", "-f", std::string(HM_SOURCE_DIR) + "/crds"}, out), 0) << out;
    apply(R"(apiVersion: v1
kind: Namespace
metadata: {name: harbormaster}
---
apiVersion: v1
kind: Namespace
metadata: {name: tenant}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: flood}
)");
    std::filesystem::create_directories(dir_.file("keys"));
    // Both read the files policies name, every 200 ms here (2 s by default).
    operator_ = std::make_unique<testing::Process>(
        std::vector<std::string>{HM_BINARY, "operator", "--kubeconfig", kube_.kubeconfig(),
                                 "--namespace", "harbormaster", "--leader-elect=false", "--listen",
                                 "127.0.0.1:0", "--ports-file", dir_.file("operator.ports"),
                                 "--policy-check-interval", "200ms"},
        dir_.file("operator.log"));
    testing::waitForPorts(dir_.file("operator.ports"), *operator_);
    webhook_ = testing::startWebhook(
        dir_, {"--cluster-policies=true", "--kubeconfig", kube_.kubeconfig(), "--namespace",
               "harbormaster", "--log-level", "warn", "--plain-http-registry", registry_.host(),
               "--policy-check-interval", "200ms"});
    ASSERT_TRUE(webhook_.ready) << webhook_.process->output();
  }

  void apply(const std::string& yaml) {
    dir_.write("apply.yaml", yaml);
    std::string out;
    ASSERT_EQ(kube_.kubectl({"apply", "-f", dir_.file("apply.yaml")}, out), 0) << out;
  }

  json review(const std::string& ns, const std::string& image) {
    return testing::reviewResponse(webhook_.port, testing::podReview(image, ns));
  }

  std::string ready(const std::vector<std::string>& what, const char* field) {
    return kube_.ready(what, field);
  }

  std::string metrics() {
    try {
      return testing::Client(webhook_.metricsPort, false).get("/metrics").body;
    } catch (const std::exception&) {
      return "";
    }
  }

  testing::TempDir dir_;
  testing::KubeSimRig kube_;
  testing::RegistryRig registry_;
  std::unique_ptr<testing::Process> operator_;
  testing::WebhookProcess webhook_;
};

// A tenant's identity pattern that a backtracking engine takes more than 20 s on against the
// certificate's identity (measured with std::regex, which the webhook used before) — here every
// review, the tenant's and everyone else's, is judged, never cut at its deadline.
TEST_F(TrustBoundariesTest, ACatastrophicTenantPatternNeverStallsAReplica) {
  std::string imageDigest;
  auto sig = testing::cosignKeylessVector(imageDigest);
  registry_.pushArtifact("team/keyless", "sha256-" + imageDigest.substr(7) + ".sig", sig.mediaType,
                         sig.manifest, sig.blobs);
  const std::string pattern = "^(.*)*(.*)*(.*)*x$";
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: hostile, namespace: tenant}
spec:
  digest: Optional
  signatures:
    attestors:
      - name: redhat
        keyless:
          trustedRoot: )" +
        kVectors + R"(trusted-roots/public-good.sigstore-go.json
          identities:
            - {issuer: "https://github.com/login/oauth", subjectRegExp: ")" +
        pattern + R"("}
)");
  ASSERT_TRUE(testing::eventually(15, [&] {
    return ready({"ip", "hostile", "-n", "tenant"}, "status") == "True";
  })) << operator_->output();

  const std::string image = registry_.host() + "/team/keyless@" + imageDigest;
  ASSERT_TRUE(testing::eventually(15, [&] {
    return testing::denialMessage(review("tenant", image)).find("does not match") !=
           std::string::npos;
  }));
  // Eight tenant reviews and eight of another namespace at once, on a replica with two threads.
  std::vector<std::future<json>> tenant, others;
  for (int i = 0; i < 8; ++i) {
    tenant.push_back(std::async(std::launch::async, [&] { return review("tenant", image); }));
    others.push_back(std::async(std::launch::async, [&] { return review("shop", image); }));
  }
  for (auto& f : tenant) {
    json r = f.get();
    ASSERT_TRUE(r.is_object()) << "a review went unanswered";
    EXPECT_FALSE(r.value("allowed", true));
    EXPECT_THAT(testing::denialMessage(r),
                HasSubstr("certificate identity mitr@redhat.com does not match " + pattern));
    EXPECT_THAT(testing::denialMessage(r), Not(HasSubstr("did not finish")));
  }
  for (auto& f : others) {
    json r = f.get();
    ASSERT_TRUE(r.is_object()) << "a review went unanswered";
    EXPECT_TRUE(r.value("allowed", false)) << r.dump();
  }
}

// A policy whose key file is missing is not in force and says so; it denies what it selects
// under Enforce until the file appears, and then it is in force without anyone touching it.
TEST_F(TrustBoundariesTest, APolicyWhoseKeyFileIsMissingIsNotReadyAndDenies) {
  const std::string key = dir_.file("keys/cosign.pub");
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: signed}
spec:
  mode: Enforce
  match: {namespaces: [shop]}
  digest: Optional
  signatures:
    tlog: Skip
    attestors: [{name: ci, keys: [)" +
        key + R"(]}]
)");
  ASSERT_TRUE(testing::eventually(15, [&] {
    return ready({"cip", "signed"}, "reason") == "CannotBeEnforced";
  })) << operator_->output();
  EXPECT_EQ(ready({"cip", "signed"}, "status"), "False");
  EXPECT_THAT(
      ready({"cip", "signed"}, "message"),
      HasSubstr("cannot be enforced: spec.signatures.attestors[0].keys[0]: cannot open " + key));

  const std::string image = registry_.host() + "/team/app@" + kDigest;
  ASSERT_TRUE(testing::eventually(15, [&] {
    return testing::denialMessage(review("shop", image)).find("cannot be enforced") !=
           std::string::npos;
  }));
  json denied = review("shop", image);
  EXPECT_FALSE(denied.value("allowed", true));
  EXPECT_THAT(testing::denialMessage(denied),
              HasSubstr("is not checked: policy \"signed\" cannot be enforced: "
                        "spec.signatures.attestors[0].keys[0]: cannot open " +
                        key));
  EXPECT_TRUE(review("tenant", image).value("allowed", false)) << "it selects shop only";

  // The Secret is mounted: both notice, the policy is in force and judges signatures.
  std::filesystem::copy_file(kVectors + "legacy-tag/keys/cosign.pub", key);
  EXPECT_TRUE(testing::eventually(15, [&] {
    return ready({"cip", "signed"}, "status") == "True";
  }));
  EXPECT_TRUE(testing::eventually(15, [&] {
    const std::string m = testing::denialMessage(review("shop", image));
    return m.find("cannot be enforced") == std::string::npos &&
           m.find("attestor \"ci\"") != std::string::npos;
  })) << testing::denialMessage(review("shop", image));
}

// Any Pod that reaches the webhook can forge an AdmissionReview. One naming 5,000 tags on 5,000
// hosts, sent three times, starts a bounded number of lookups; the replica's memory and
// descriptors stay bounded and the next real review is answered.
TEST_F(TrustBoundariesTest, AForgedReviewOfThousandsOfHostsIsBounded) {
  std::filesystem::copy_file(kVectors + "legacy-tag/keys/cosign.pub", dir_.file("keys/ci.pub"));
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: flood-signed}
spec:
  mode: Warn
  match: {namespaces: [flood]}
  signatures:
    tlog: Skip
    attestors: [{name: ci, keys: [)" +
        dir_.file("keys/ci.pub") + R"(]}]
)");
  ASSERT_TRUE(testing::eventually(15, [&] {
    return ready({"cip", "flood-signed"}, "status") == "True";
  }));
  // Every host is a loopback address with nothing listening on the port: refused at once, and
  // no packet leaves the machine.
  json forged = json::parse(testing::podReview("placeholder", "flood"));
  json containers = json::array();
  for (int i = 0; i < 5000; ++i) {
    containers.push_back(
        {{"name", "c" + std::to_string(i)},
         {"image", "127.0." + std::to_string(1 + i / 250) + "." + std::to_string(1 + i % 250) +
                       ":9/x/y:t" + std::to_string(i)}});
  }
  forged["request"]["object"]["spec"]["containers"] = containers;
  const std::string body = forged.dump();

  const Footprint before = footprintOf(webhook_.process->pid());
  for (int round = 0; round < 3; ++round) {
    json r = testing::reviewResponse(webhook_.port, body);
    ASSERT_TRUE(r.is_object()) << "the forged review went unanswered";
    EXPECT_TRUE(r.value("allowed", false)) << "a Warn policy admits with warnings";
  }
  const Footprint after = footprintOf(webhook_.process->pid());
  // At most 64 images of a review are looked up; the rest are "could not check" at once.
  const std::string m = metrics();
  EXPECT_THAT(m, HasSubstr("harbormaster_image_lookups_refused_total{reason=\"per_review_limit\"} "
                           "14808"));
  EXPECT_LT(after.fds - before.fds, 64)
      << "descriptors before " << before.fds << ", after " << after.fds;
  EXPECT_LT(after.rssKib - before.rssKib, 128 * 1024)
      << "RSS before " << before.rssKib << " KiB, after " << after.rssKib << " KiB";
  std::cout << "[ measured ] forged reviews: RSS " << before.rssKib / 1024 << " -> "
            << after.rssKib / 1024 << " MiB, descriptors " << before.fds << " -> " << after.fds
            << "\n";

  // The next real review is answered as usual.
  json real = review("shop", registry_.host() + "/team/app@" + kDigest);
  ASSERT_TRUE(real.is_object());
  EXPECT_TRUE(real.value("allowed", false));
}

// HARBOR.EXAMPLE.COM/p/x and harbor.example.com:443/p/x name the lower-case image to the runtime:
// the policy that selects the lower-case one judges them.
TEST_F(TrustBoundariesTest, AnotherSpellingOfTheRegistryHostIsJudgedByThePolicyThatSelectsIt) {
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: harbor-pinned}
spec:
  match: {namespaces: [shop], images: ["harbor.example.com/shop/**"]}
  exclude: {images: ["harbor.example.com/shop/tools"]}
  digest: Require
)");
  ASSERT_TRUE(testing::eventually(15, [&] {
    return !review("shop", "harbor.example.com/shop/web:1.4").value("allowed", true);
  }));
  for (const char* image :
       {"HARBOR.EXAMPLE.COM/shop/web:1.4", "harbor.example.com:443/shop/web:1.4",
        "Harbor.Example.Com:443/shop/web:1.4"}) {
    json r = review("shop", image);
    EXPECT_FALSE(r.value("allowed", true)) << image << " escaped the policy";
    EXPECT_THAT(testing::denialMessage(r), HasSubstr("is not pinned by digest")) << image;
  }
  EXPECT_TRUE(review("shop", "HARBOR.example.com:443/shop/tools:1").value("allowed", false))
      << "exclude matches every spelling too";
}

}  // namespace
}  // namespace hm
