// End to end: the webhook binary gating on cosign signatures. Images live in harbor-sim fronting
// a real registry (Harbor's referrers API) and in a plain distribution registry (legacy tags,
// fallback index); signatures are made with OpenSSL keys in cosign's exact layouts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/certs.h"
#include "support/cosign.h"
#include "support/process.h"
#include "support/registry_rig.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"
#include "support/webhook_rig.h"

namespace hm::e2e {
namespace {

using hm::testing::Client;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kOciManifest = "application/vnd.oci.image.manifest.v1+json";
const std::string kSignPredicate = "https://sigstore.dev/cosign/sign/v1";

// One Harbor and one plain registry for the suite; each test starts its own webhook.
class SignatureE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    harbor_ = new hm::testing::HarborRig();
    plain_ = new hm::testing::RegistryRig();
    layout_ = new hm::testing::OciLayout();
    keyDir_ = new hm::testing::TempDir();
    harbor_->createProject("shop");
    ci_ = new hm::testing::SigningKey(hm::testing::makeSigningKey(*keyDir_, "p256", "ci"));
    release_ =
        new hm::testing::SigningKey(hm::testing::makeSigningKey(*keyDir_, "ed25519", "release"));
    rogue_ = new hm::testing::SigningKey(hm::testing::makeSigningKey(*keyDir_, "rsa", "rogue"));
  }
  static void TearDownTestSuite() {
    delete ci_;
    delete release_;
    delete rogue_;
    delete keyDir_;
    delete layout_;
    delete plain_;
    delete harbor_;
  }

  struct Image {
    std::string repo;  // shop/<name>
    hm::testing::PushedImage pushed;
    std::string ref;  // host/repo@digest
  };

  static Image pushToHarbor(const std::string& name) {
    auto img = layout_->addImage(name, "signed e2e " + name);
    layout_->push(name, harbor_->host() + "/shop/" + name + ":1", false,
                  "admin:" + harbor_->adminPassword());
    return {"shop/" + name, img, harbor_->host() + "/shop/" + name + "@" + img.digest};
  }

  static void signLegacy(const Image& img, const std::vector<const hm::testing::SigningKey*>& keys,
                         const std::string& signedDigest = "") {
    std::vector<hm::testing::LegacySignature> sigs;
    for (const auto* k : keys) {
      std::string payload = hm::testing::simpleSigningPayload(
          harbor_->host() + "/" + img.repo,
          signedDigest.empty() ? img.pushed.digest : signedDigest);
      sigs.push_back({payload, hm::testing::signMessage(*k, payload)});
    }
    auto a = hm::testing::legacySignatureManifest(sigs);
    harbor_->pushArtifact(img.repo, "sha256-" + img.pushed.digest.substr(7) + ".sig", a.mediaType,
                          a.manifest, a.blobs);
  }

  static void signBundle(const Image& img, const hm::testing::SigningKey& key) {
    auto r = hm::testing::bundleReferrer(
        hm::testing::keySignedBundle(key, img.pushed.digest, kSignPredicate), img.pushed.digest,
        kOciManifest, img.pushed.manifest.size(), "application/vnd.dev.sigstore.bundle.v0.3+json");
    harbor_->pushArtifact(img.repo, hm::testing::sha256Digest(r.manifest), r.mediaType, r.manifest,
                          r.blobs);
  }

  // Attestor "ci" by key file, "release" by inline PEM; tlog Skip (keys without Rekor).
  void startWebhook(int count = 1, std::vector<std::string> extra = {}, std::string ciKeyFile = "",
                    const std::string& signatures = "") {
    if (ciKeyFile.empty()) {
      ciKeyFile = ci_->publicFile;
    }
    std::string inlinePem;
    for (char c : release_->publicPem) {
      inlinePem += c == '\n' ? std::string("\\n") : std::string(1, c);
    }
    dir_.write("policy.yaml",
               "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\n"
               "metadata: {name: signed}\nspec:\n  digest: \"Off\"\n  signatures:\n"
               "    tlog: Skip\n    count: " +
                   std::to_string(count) +
                   "\n    attestors:\n"
                   "      - {name: ci, keys: [" +
                   ciKeyFile +
                   "]}\n"
                   "      - {name: release, keys: [\"" +
                   inlinePem + "\"]}\n");
    if (!signatures.empty()) {
      dir_.write("policy.yaml",
                 "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\n"
                 "metadata: {name: signed}\nspec:\n  digest: \"Off\"\n  signatures:\n" +
                     signatures);
    }
    dir_.write("harbor-credentials", "admin:" + harbor_->adminPassword() + "\n");
    std::vector<std::string> flags = {"--policy",
                                      dir_.file("policy.yaml"),
                                      "--harbor-url",
                                      "http://" + harbor_->host(),
                                      "--harbor-credentials-file",
                                      dir_.file("harbor-credentials"),
                                      "--plain-http-registry",
                                      plain_->host()};
    flags.insert(flags.end(), extra.begin(), extra.end());
    webhook_ = hm::testing::startWebhook(dir_, flags);
    ASSERT_TRUE(webhook_.ready) << webhook_.process->output();
  }

  json review(const std::string& image) {
    json res = hm::testing::reviewResponse(webhook_.port, hm::testing::podReview(image));
    EXPECT_TRUE(res.is_object()) << webhook_.process->output();
    return res;
  }

  static std::string message(const json& response) { return hm::testing::denialMessage(response); }

  static hm::testing::HarborRig* harbor_;
  static hm::testing::RegistryRig* plain_;
  static hm::testing::OciLayout* layout_;
  static hm::testing::TempDir* keyDir_;
  static hm::testing::SigningKey *ci_, *release_, *rogue_;
  hm::testing::TempDir dir_;
  hm::testing::WebhookProcess webhook_;
};

hm::testing::HarborRig* SignatureE2E::harbor_ = nullptr;
hm::testing::RegistryRig* SignatureE2E::plain_ = nullptr;
hm::testing::OciLayout* SignatureE2E::layout_ = nullptr;
hm::testing::TempDir* SignatureE2E::keyDir_ = nullptr;
hm::testing::SigningKey* SignatureE2E::ci_ = nullptr;
hm::testing::SigningKey* SignatureE2E::release_ = nullptr;
hm::testing::SigningKey* SignatureE2E::rogue_ = nullptr;

TEST_F(SignatureE2E, AdmitsLegacyAndBundleSignaturesByTrustedKeys) {
  Image legacy = pushToHarbor("legacy");
  signLegacy(legacy, {ci_});
  Image bundle = pushToHarbor("bundle");
  signBundle(bundle, *release_);
  startWebhook();
  json a = review(legacy.ref);
  EXPECT_EQ(a["allowed"], true) << message(a);
  json b = review(bundle.ref);
  EXPECT_EQ(b["allowed"], true) << message(b);
  // A tag is resolved, and the signature of its digest counts.
  json tagged = review(harbor_->host() + "/shop/legacy:1");
  EXPECT_EQ(tagged["allowed"], true) << message(tagged);
}

TEST_F(SignatureE2E, DenialsNameTheImageTheAttestorsAndWhy) {
  Image unsignedImage = pushToHarbor("unsigned");
  Image wrongKey = pushToHarbor("wrong-key");
  signLegacy(wrongKey, {rogue_});
  Image other = pushToHarbor("other-digest");
  signLegacy(other, {ci_}, unsignedImage.pushed.digest);
  startWebhook();

  json none = review(unsignedImage.ref);
  EXPECT_EQ(none["allowed"], false);
  EXPECT_EQ(none["status"]["code"], 403);
  std::string text = message(none);
  EXPECT_THAT(text, HasSubstr(unsignedImage.ref));
  EXPECT_THAT(text, HasSubstr("has no cosign signature for " + unsignedImage.pushed.digest));
  EXPECT_THAT(text, HasSubstr("attestor \"ci\": no signature found; attestor \"release\": no "
                              "signature found"));
  EXPECT_THAT(text, HasSubstr("with a key or identity of attestor \"ci\" or \"release\""));

  json rogue = review(wrongKey.ref);
  EXPECT_EQ(rogue["allowed"], false);
  EXPECT_THAT(message(rogue), HasSubstr("is not signed by a trusted signer"));
  EXPECT_THAT(message(rogue), HasSubstr("attestor \"ci\": signed by an unknown key"));
  EXPECT_THAT(message(rogue), HasSubstr("add the signer to spec.signatures.attestors"));

  json misdirected = review(other.ref);
  EXPECT_EQ(misdirected["allowed"], false);
  EXPECT_THAT(message(misdirected),
              HasSubstr("the signature is for another image (" + unsignedImage.pushed.digest));
}

TEST_F(SignatureE2E, ATamperedPayloadIsNotASignature) {
  Image img = pushToHarbor("tampered");
  std::string payload =
      hm::testing::simpleSigningPayload(harbor_->host() + "/" + img.repo, img.pushed.digest);
  std::string signature = hm::testing::signMessage(*ci_, payload);
  // Someone edits the payload (adds an optional claim) and pushes it with the old signature.
  std::string edited = payload;
  edited.replace(edited.find("\"optional\":null"), 15, "\"optional\":{\"by\":\"mallory\"}");
  auto a = hm::testing::legacySignatureManifest({{edited, signature}});
  harbor_->pushArtifact(img.repo, "sha256-" + img.pushed.digest.substr(7) + ".sig", a.mediaType,
                        a.manifest, a.blobs);
  startWebhook();
  json res = review(img.ref);
  EXPECT_EQ(res["allowed"], false);
  EXPECT_THAT(message(res), HasSubstr("attestor \"ci\": signed by an unknown key"));
}

TEST_F(SignatureE2E, CountTwoNeedsBothAttestors) {
  Image both = pushToHarbor("both");
  signLegacy(both, {ci_});
  signBundle(both, *release_);
  Image one = pushToHarbor("one");
  signLegacy(one, {ci_});
  startWebhook(/*count=*/2);
  json ok = review(both.ref);
  EXPECT_EQ(ok["allowed"], true) << message(ok);
  json res = review(one.ref);
  EXPECT_EQ(res["allowed"], false);
  EXPECT_THAT(message(res),
              HasSubstr("1 of the 2 attestors required verified: attestor \"ci\": verified (key "));
  EXPECT_THAT(message(res), HasSubstr("attestor \"release\": signed by an unknown key"));
}

TEST_F(SignatureE2E, AnUnreachableRegistryDeniesAsCouldNotCheckNeverAsUnsigned) {
  hm::testing::RegistryRig gone;
  const std::string host = gone.host();
  gone.stop();
  startWebhook(1, {"--plain-http-registry", host});
  json res = review(host + "/team/app@sha256:" + std::string(64, 'a'));
  EXPECT_EQ(res["allowed"], false);
  EXPECT_THAT(message(res), HasSubstr("could not check signatures: looking up signatures in " +
                                      host + "/team/app"));
  EXPECT_THAT(message(res), Not(HasSubstr("no cosign signature")));
}

TEST_F(SignatureE2E, SignaturesInAPlainRegistryAndVerdictsAreCached) {
  auto img = layout_->addImage("plain", "signed e2e plain");
  layout_->push("plain", plain_->host() + "/team/app:1");
  std::string payload = hm::testing::simpleSigningPayload(plain_->host() + "/team/app", img.digest);
  auto a =
      hm::testing::legacySignatureManifest({{payload, hm::testing::signMessage(*ci_, payload)}});
  plain_->pushArtifact("team/app", "sha256-" + img.digest.substr(7) + ".sig", a.mediaType,
                       a.manifest, a.blobs);
  startWebhook();
  const std::string ref = plain_->host() + "/team/app@" + img.digest;
  for (int i = 0; i < 3; ++i) {
    json res = review(ref);
    EXPECT_EQ(res["allowed"], true) << message(res);
  }
  std::string metrics = Client(webhook_.metricsPort, /*tls=*/false).get("/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("harbormaster_signature_cache_lookups_total{result=\"hit\"} 2"));
  EXPECT_THAT(metrics, HasSubstr("harbormaster_signature_cache_lookups_total{result=\"miss\"} 1"));
  EXPECT_THAT(
      metrics,
      HasSubstr("harbormaster_signature_lookup_duration_seconds_count{outcome=\"verified\"} 1"));
}

TEST_F(SignatureE2E, ARotatedKeyFileIsPickedUpWithoutARestart) {
  Image img = pushToHarbor("rotated");
  signLegacy(img, {rogue_});
  dir_.write("ci.pub", ci_->publicPem);
  startWebhook(1, {"--policy-check-interval", "200ms"}, dir_.file("ci.pub"));
  EXPECT_EQ(review(img.ref)["allowed"], false);
  // The mounted Secret now holds the signer's key under the same path.
  dir_.write("ci.pub", rogue_->publicPem);
  EXPECT_TRUE(hm::testing::eventually(10, [&] { return review(img.ref)["allowed"] == true; }))
      << webhook_.process->output();
}

TEST_F(SignatureE2E, CheckCommandShowsWhoSignedAndDeniesTheUnsigned) {
  auto signedImg = layout_->addImage("check-signed", "signed e2e check");
  layout_->push("check-signed", plain_->host() + "/team/cli:1");
  auto unsignedImg = layout_->addImage("check-unsigned", "unsigned e2e check");
  layout_->push("check-unsigned", plain_->host() + "/team/cli:2");
  std::string payload =
      hm::testing::simpleSigningPayload(plain_->host() + "/team/cli", signedImg.digest);
  auto a =
      hm::testing::legacySignatureManifest({{payload, hm::testing::signMessage(*rogue_, payload)}});
  plain_->pushArtifact("team/cli", "sha256-" + signedImg.digest.substr(7) + ".sig", a.mediaType,
                       a.manifest, a.blobs);
  dir_.write("policy.yaml",
             "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: signed}\n"
             "spec:\n  signatures:\n    tlog: Skip\n    attestors: [{name: vendor, keys: [" +
                 rogue_->publicFile + "]}]\n");
  std::string out;
  EXPECT_EQ(hm::testing::runCommand(
                {HM_BINARY, "check", "--policy", dir_.file("policy.yaml"), "--plain-http-registry",
                 plain_->host(), plain_->host() + "/team/cli@" + signedImg.digest},
                out),
            0)
      << out;
  EXPECT_THAT(out,
              HasSubstr("signature: attestor \"vendor\" verified " + signedImg.digest + " (key "));
  EXPECT_EQ(hm::testing::runCommand(
                {HM_BINARY, "check", "--policy", dir_.file("policy.yaml"), "--plain-http-registry",
                 plain_->host(), plain_->host() + "/team/cli:2"},
                out),
            1)
      << out;
  EXPECT_THAT(out, HasSubstr("(signatures): "));
  EXPECT_THAT(out, HasSubstr("has no cosign signature for " + unsignedImg.digest));
  EXPECT_THAT(out, HasSubstr("is not pinned by digest — use " + plain_->host() + "/team/cli@" +
                             unsignedImg.digest))
      << "the digest the signature lookup resolved is the one the fix names";
}

TEST_F(SignatureE2E, KeylessSignaturesVerifyAgainstTheTrustedRootFile) {
  // cosign's own keyless (Fulcio + Rekor) signature of an image, pushed in its .sig layout; the
  // image itself need not be there, only its digest is admitted.
  std::string digest;
  auto sig = hm::testing::cosignKeylessVector(digest);
  harbor_->pushArtifact("shop/keyless", "sha256-" + digest.substr(7) + ".sig", sig.mediaType,
                        sig.manifest, sig.blobs);
  const std::string root =
      hm::testing::sharedFile("sigstore/vectors/trusted-roots/public-good.sigstore-go.json");
  auto keyless = [&](const std::string& subjectRegExp) {
    return "    attestors:\n      - name: redhat\n        keyless:\n          trustedRoot: " +
           root +
           "\n          identities: [{issuer: \"https://github.com/login/oauth\", subjectRegExp: "
           "\"" +
           subjectRegExp + "\"}]\n";
  };
  startWebhook(1, {}, "", keyless("^mitr@redhat\\\\.com$"));
  json ok = review(harbor_->host() + "/shop/keyless@" + digest);
  EXPECT_EQ(ok["allowed"], true) << message(ok) << webhook_.process->output();

  webhook_.process.reset();
  startWebhook(1, {}, "", keyless("^.*@acme\\\\.example$"));
  json res = review(harbor_->host() + "/shop/keyless@" + digest);
  EXPECT_EQ(res["allowed"], false);
  EXPECT_THAT(message(res), HasSubstr("attestor \"redhat\": certificate identity mitr@redhat.com "
                                      "does not match ^.*@acme\\.example$"));
}

}  // namespace
}  // namespace hm::e2e
