// pkg/sigstore against real vectors (read in place from shared/sigstore/vectors): legacy cosign
// `.sig` layers, Sigstore bundles (the sigstore-conformance cases), and mutations of passing
// vectors, which must fail. No process is started here: signatures made with the openssl
// command line and the sigstore-verify binary are in tests/e2e/sigstore_cli_e2e_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harbormaster/base/encoding.h"
#include "harbormaster/sigstore/verify.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace hm::sigstore {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

std::string vectors(const std::string& rel) {
  return testing::sharedFile("sigstore/vectors/" + rel);
}

PublicKey key(const std::string& rel) {
  auto k = PublicKey::fromPem(testing::readText(vectors(rel)));
  EXPECT_TRUE(k.ok()) << rel << ": " << k.status().message();
  return k.ok() ? *k : PublicKey();
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.pop_back();
  }
  return s;
}

WallTime now() {
  return std::chrono::system_clock::now();
}

// A legacy-tag case as a registry would hand it over: the layer and the image digest.
struct LegacyCase {
  LegacyLayer layer;
  std::string imageDigest;
};

LegacyCase legacyCase(const std::string& dir) {
  LegacyCase c;
  json descriptor =
      json::parse(testing::readText(vectors("legacy-tag/" + dir + "/layer-descriptor.json")));
  c.layer.mediaType = descriptor.value("mediaType", "");
  c.layer.payload = testing::readText(vectors("legacy-tag/" + dir + "/payload.json"));
  const json annotations = descriptor.value("annotations", json::object());
  for (const auto& [k, v] : annotations.items()) {
    c.layer.annotations[k] = v.get<std::string>();
  }
  std::string manifest = testing::readText(vectors("legacy-tag/" + dir + "/manifest.json"));
  c.imageDigest = "sha256:" + hexEncode(sha256(manifest));
  return c;
}

TrustedRoot rekorRoot(const std::string& keyFile = "legacy-tag/keys/rekor.pub") {
  return TrustedRoot::withRekorKey(key(keyFile));
}

SignerPolicy keys(std::vector<std::string> files, bool requireTlog) {
  SignerPolicy p;
  for (const auto& f : files) {
    p.keys.push_back(key("legacy-tag/keys/" + f));
  }
  p.requireTlog = requireTlog;
  return p;
}

TEST(LegacySignatureTest, KeyOnly) {
  LegacyCase c = legacyCase("key-only");
  auto ok =
      verifyLegacyLayer(c.layer, c.imageDigest, keys({"cosign.pub"}, false), rekorRoot(), now());
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->signer, "key " + hexEncode(sha256(key("legacy-tag/keys/cosign.pub").der())));
  EXPECT_FALSE(ok->loggedAt.has_value());
  auto wrong =
      verifyLegacyLayer(c.layer, c.imageDigest, keys({"cosign2.pub"}, false), rekorRoot(), now());
  EXPECT_THAT(wrong.status().message(), HasSubstr("signed by an unknown key"));
  auto untracked =
      verifyLegacyLayer(c.layer, c.imageDigest, keys({"cosign.pub"}, true), rekorRoot(), now());
  EXPECT_THAT(untracked.status().message(), HasSubstr("no Rekor entry"));
}

TEST(LegacySignatureTest, KeyWithRekor) {
  LegacyCase c = legacyCase("key-rekor");
  auto ok = verifyLegacyLayer(c.layer, c.imageDigest, keys({"cosign.pub", "cosign2.pub"}, true),
                              rekorRoot(), now());
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_TRUE(ok->loggedAt.has_value());
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*ok->loggedAt), 1674251859);
  // The production trusted root knows the same Rekor key.
  auto prod = TrustedRoot::parse(
      testing::readText(vectors("trusted-roots/prod-trusted-root.sigstore-js-seed.json")));
  ASSERT_TRUE(prod.ok()) << prod.status().message();
  EXPECT_TRUE(
      verifyLegacyLayer(c.layer, c.imageDigest, keys({"cosign2.pub"}, true), *prod, now()).ok());
  // A cosign key or an RSA key posing as Rekor's is not Rekor.
  for (const char* fake : {"legacy-tag/keys/cosign.pub", "legacy-tag/keys/some-rsa-key.pub"}) {
    auto bad = verifyLegacyLayer(c.layer, c.imageDigest, keys({"cosign2.pub"}, true),
                                 rekorRoot(fake), now());
    EXPECT_FALSE(bad.ok()) << fake;
  }
  // Without the bundle annotation, a required tlog fails.
  LegacyCase stripped = c;
  stripped.layer.annotations.erase("dev.sigstore.cosign/bundle");
  EXPECT_FALSE(verifyLegacyLayer(stripped.layer, c.imageDigest, keys({"cosign2.pub"}, true),
                                 rekorRoot(), now())
                   .ok());
  // Logged before the log key's validity started: refused.
  TrustedRoot late = TrustedRoot::withRekorKey(key("legacy-tag/keys/rekor.pub"),
                                               std::chrono::system_clock::from_time_t(1700000000));
  EXPECT_FALSE(
      verifyLegacyLayer(c.layer, c.imageDigest, keys({"cosign2.pub"}, true), late, now()).ok());
}

TEST(LegacySignatureTest, FailingCases) {
  LegacyCase unknown = legacyCase("unknown-key_fail");
  for (const char* k : {"cosign.pub", "cosign2.pub"}) {
    EXPECT_FALSE(
        verifyLegacyLayer(unknown.layer, unknown.imageDigest, keys({k}, false), rekorRoot(), now())
            .ok());
  }
  LegacyCase modified = legacyCase("modified-manifest_fail");
  auto m = verifyLegacyLayer(modified.layer, modified.imageDigest, keys({"cosign.pub"}, false),
                             rekorRoot(), now());
  EXPECT_THAT(m.status().message(), HasSubstr("for another image"));
  LegacyCase other = legacyCase("other-attachment_fail");
  auto o = verifyLegacyLayer(other.layer, other.imageDigest, keys({"cosign.pub"}, false),
                             rekorRoot(), now());
  EXPECT_THAT(o.status().message(), HasSubstr("not a cosign signature layer"));
}

SignerPolicy identity(const std::string& subject, const std::string& issuer,
                      const std::string& regex = "") {
  SignerPolicy p;
  std::optional<regexp::RegExp> pattern;
  if (!regex.empty()) {
    auto re = regexp::RegExp::compile(regex);
    EXPECT_TRUE(re.ok()) << re.status().message();
    pattern = *re;
  }
  p.identities.push_back({issuer, subject, pattern});
  return p;
}

TrustedRoot prodRoot() {
  auto root = TrustedRoot::parse(
      testing::readText(vectors("trusted-roots/prod-trusted-root.sigstore-js-seed.json")));
  EXPECT_TRUE(root.ok()) << root.status().message();
  return root.ok() ? *root : TrustedRoot();
}

TEST(LegacySignatureTest, KeylessFulcioAndRekor) {
  LegacyCase c = legacyCase("keyless-fulcio-rekor");
  const std::string github = "https://github.com/login/oauth";
  for (const char* rootFile : {"trusted-roots/prod-trusted-root.sigstore-js-seed.json",
                               "trusted-roots/public-good.sigstore-go.json"}) {
    auto root = TrustedRoot::parse(testing::readText(vectors(rootFile)));
    ASSERT_TRUE(root.ok()) << rootFile;
    auto ok = verifyLegacyLayer(c.layer, c.imageDigest, identity("mitr@redhat.com", github), *root,
                                now());
    ASSERT_TRUE(ok.ok()) << rootFile << ": " << ok.status().message();
    EXPECT_EQ(ok->signer, "mitr@redhat.com (issuer https://github.com/login/oauth)");
  }
  TrustedRoot root = prodRoot();
  EXPECT_TRUE(verifyLegacyLayer(c.layer, c.imageDigest, identity("", github, "^mitr@redhat\\.com$"),
                                root, now())
                  .ok());
  auto otherMail = verifyLegacyLayer(c.layer, c.imageDigest, identity("someone@redhat.com", github),
                                     root, now());
  EXPECT_THAT(otherMail.status().message(),
              HasSubstr("certificate identity mitr@redhat.com does not match someone@redhat.com"));
  auto otherIssuer =
      verifyLegacyLayer(c.layer, c.imageDigest,
                        identity("mitr@redhat.com", "https://accounts.google.com"), root, now());
  EXPECT_THAT(otherIssuer.status().message(), HasSubstr("issuer"));
  // Without the SET there is no signing time to check the ten-minute certificate at.
  LegacyCase noSet = c;
  noSet.layer.annotations.erase("dev.sigstore.cosign/bundle");
  EXPECT_FALSE(verifyLegacyLayer(noSet.layer, c.imageDigest, identity("mitr@redhat.com", github),
                                 root, now())
                   .ok());
  // A root without CT logs cannot vouch for the SCT; one without CAs for the certificate.
  TrustedRoot noCt = root;
  noCt.ctlogs.clear();
  EXPECT_THAT(
      verifyLegacyLayer(c.layer, c.imageDigest, identity("mitr@redhat.com", github), noCt, now())
          .status()
          .message(),
      HasSubstr("CT log"));
  TrustedRoot noCa = root;
  noCa.certificateAuthorities.clear();
  EXPECT_FALSE(
      verifyLegacyLayer(c.layer, c.imageDigest, identity("mitr@redhat.com", github), noCa, now())
          .ok());
  // A key policy does not accept a keyless signature.
  EXPECT_FALSE(
      verifyLegacyLayer(c.layer, c.imageDigest, keys({"cosign.pub"}, true), root, now()).ok());
}

TEST(LegacySignatureTest, KeylessLooseFiles) {
  const std::string dir = "legacy-tag/keyless-2022-raw/";
  LegacyLayer layer;
  layer.mediaType = std::string(kSimpleSigningMediaType);
  layer.payload = testing::readText(vectors(dir + "payload.json"));
  layer.annotations["dev.cosignproject.cosign/signature"] =
      trim(testing::readText(vectors(dir + "signature.b64")));
  layer.annotations["dev.sigstore.cosign/certificate"] =
      testing::readText(vectors(dir + "cert.pem"));
  layer.annotations["dev.sigstore.cosign/chain"] = testing::readText(vectors(dir + "chain.pem"));
  layer.annotations["dev.sigstore.cosign/bundle"] =
      testing::readText(vectors(dir + "rekor-bundle.json"));
  std::string digest = json::parse(layer.payload)["critical"]["image"]["docker-manifest-digest"];
  auto ok = verifyLegacyLayer(layer, digest,
                              identity("mitr@redhat.com", "https://github.com/login/oauth"),
                              prodRoot(), now());
  EXPECT_TRUE(ok.ok()) << ok.status().message();
}

// A certificate from a private PKI (cosign sign --certificate --certificate-chain), no Rekor.
TEST(LegacySignatureTest, PrivatePkiCertificate) {
  LegacyCase c = legacyCase("pki-cert");
  TrustedRoot root;
  CertificateAuthority ca;
  for (const char* f :
       {"legacy-tag/keys/pki_intermediate_crts.pem", "legacy-tag/keys/pki_root_crts.pem"}) {
    std::string pem = testing::readText(vectors(f));
    std::string der;
    std::string b64;
    std::istringstream lines(pem);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("-----", 0) != 0) {
        b64 += line;
      }
    }
    ca.chainDer.push_back(*base64Decode(b64));
  }
  ca.validFor.start = std::chrono::system_clock::from_time_t(0);
  root.certificateAuthorities.push_back(ca);
  SignerPolicy p = identity("qiwan@redhat.com", "");
  p.requireTlog = false;
  p.requireSct = false;
  auto ok = verifyLegacyLayer(c.layer, c.imageDigest, p, root, now());
  EXPECT_TRUE(ok.ok()) << ok.status().message();
  p.identities[0].subject = "someone@redhat.com";
  EXPECT_FALSE(verifyLegacyLayer(c.layer, c.imageDigest, p, root, now()).ok());
  // Not trusted by the public Fulcio root.
  SignerPolicy q = identity("qiwan@redhat.com", "");
  q.requireTlog = false;
  EXPECT_FALSE(verifyLegacyLayer(c.layer, c.imageDigest, q, prodRoot(), now()).ok());
}

// Every byte that matters, changed one at a time in a passing signature: each must fail.
TEST(LegacySignatureTest, MutationsFail) {
  const LegacyCase good = legacyCase("key-rekor");
  const SignerPolicy policy = keys({"cosign2.pub"}, true);
  ASSERT_TRUE(verifyLegacyLayer(good.layer, good.imageDigest, policy, rekorRoot(), now()).ok());
  auto rekor = [&](const LegacyCase& c) {
    return json::parse(c.layer.annotations.at("dev.sigstore.cosign/bundle"));
  };
  auto withRekor = [&](LegacyCase c, const json& r) {
    c.layer.annotations["dev.sigstore.cosign/bundle"] = r.dump();
    return c;
  };
  auto flip = [](std::string s, size_t at) {
    s[at % s.size()] = static_cast<char>(s[at % s.size()] ^ 0x01);
    return s;
  };
  std::vector<std::pair<std::string, LegacyCase>> mutants;
  {
    LegacyCase c = good;
    c.layer.payload = flip(c.layer.payload, 40);
    mutants.emplace_back("payload", c);
  }
  {
    LegacyCase c = good;
    auto sig = *base64Decode(c.layer.annotations["dev.cosignproject.cosign/signature"]);
    c.layer.annotations["dev.cosignproject.cosign/signature"] = base64Encode(flip(sig, 20));
    mutants.emplace_back("signature", c);
  }
  {
    json r = rekor(good);
    r["SignedEntryTimestamp"] =
        base64Encode(flip(*base64Decode(r["SignedEntryTimestamp"].get<std::string>()), 30));
    mutants.emplace_back("SET", withRekor(good, r));
  }
  {
    json r = rekor(good);
    std::string body = *base64Decode(r["Payload"]["body"].get<std::string>());
    r["Payload"]["body"] = base64Encode(flip(body, 100));
    mutants.emplace_back("body", withRekor(good, r));
  }
  for (int64_t shift : {-1, 1, 3600}) {
    json r = rekor(good);
    r["Payload"]["integratedTime"] = r["Payload"]["integratedTime"].get<int64_t>() + shift;
    mutants.emplace_back("integratedTime" + std::to_string(shift), withRekor(good, r));
  }
  {
    json r = rekor(good);
    r["Payload"]["logIndex"] = r["Payload"]["logIndex"].get<int64_t>() + 1;
    mutants.emplace_back("logIndex", withRekor(good, r));
  }
  for (const char* logId : {"zz", "c0d", ""}) {  // not hex: an error, never a throw
    json r = rekor(good);
    r["Payload"]["logID"] = logId;
    mutants.emplace_back(std::string("logID ") + logId, withRekor(good, r));
  }
  {
    // A valid entry of another signature does not vouch for this one.
    LegacyCase c = good;
    c.layer.annotations["dev.sigstore.cosign/bundle"] =
        legacyCase("keyless-fulcio-rekor").layer.annotations.at("dev.sigstore.cosign/bundle");
    mutants.emplace_back("other entry", c);
  }
  for (const auto& [what, c] : mutants) {
    EXPECT_FALSE(verifyLegacyLayer(c.layer, good.imageDigest, policy, rekorRoot(), now()).ok())
        << what << " changed, still verified";
  }
  // An entry from the future is refused.
  EXPECT_FALSE(verifyLegacyLayer(good.layer, good.imageDigest, policy, rekorRoot(),
                                 std::chrono::system_clock::from_time_t(1674251859 - 3600))
                   .ok());
}

// sigstore-conformance bundle-verify cases, as its README says to run them.
struct ConformanceCase {
  std::string name;
  bool asDigest;
};

std::vector<ConformanceCase> conformanceCases() {
  std::vector<ConformanceCase> out;
  for (const auto& e : fs::directory_iterator(vectors("conformance"))) {
    if (e.is_directory()) {
      out.push_back({e.path().filename().string(), false});
      out.push_back({e.path().filename().string(), true});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.asDigest) < std::tie(b.name, b.asDigest);
  });
  return out;
}

class ConformanceTest : public ::testing::TestWithParam<ConformanceCase> {};

TEST_P(ConformanceTest, Verdict) {
  const std::string dir = vectors("conformance/" + GetParam().name);
  const bool mustFail = GetParam().name.size() > 5 &&
                        GetParam().name.compare(GetParam().name.size() - 5, 5, "_fail") == 0;
  std::string rootFile = fs::exists(dir + "/trusted_root.json")
                             ? dir + "/trusted_root.json"
                             : vectors("trusted-roots/prod-trusted-root.sigstore-js-seed.json");
  auto root = TrustedRoot::parse(testing::readText(rootFile));
  if (!root.ok()) {
    EXPECT_TRUE(mustFail) << root.status().message();
    return;
  }
  std::string artifactFile =
      fs::exists(dir + "/artifact") ? dir + "/artifact" : vectors("conformance/a.txt");
  Artifact artifact = Artifact::fromBytes(testing::readText(artifactFile));
  if (GetParam().asDigest) {
    artifact = *Artifact::fromDigest("sha256:" + hexEncode(artifact.sha256));
  }
  SignerPolicy policy;
  policy.identities.push_back(
      {fs::exists(dir + "/issuer") ? trim(testing::readText(dir + "/issuer"))
                                   : "https://token.actions.githubusercontent.com",
       fs::exists(dir + "/identity")
           ? trim(testing::readText(dir + "/identity"))
           : "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
             ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
       std::nullopt});
  if (fs::exists(dir + "/key.pub")) {
    auto k = PublicKey::fromPem(testing::readText(dir + "/key.pub"));
    if (!k.ok()) {  // a key that does not even parse cannot verify anything
      EXPECT_TRUE(mustFail) << k.status().message();
      return;
    }
    policy.keys.push_back(*k);
  }
  auto v = verifyBundle(testing::readText(dir + "/bundle.sigstore.json"), artifact, policy, *root,
                        now());
  if (v.status().code() == StatusCode::kUnimplemented) {
    GTEST_SKIP() << "not supported yet: " << v.status().message();
  }
  if (mustFail) {
    EXPECT_FALSE(v.ok()) << "verified a bundle that must fail";
  } else {
    EXPECT_TRUE(v.ok()) << v.status().message();
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ConformanceTest, ::testing::ValuesIn(conformanceCases()),
                         [](const auto& info) {
                           std::string n =
                               info.param.name + (info.param.asDigest ? "_digest" : "_file");
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) {
                               c = '_';
                             }
                           }
                           return n;
                         });

// A v0.3 bundle written by cosign: an in-toto attestation in DSSE, logged as dsse 0.0.1.
TEST(BundleTest, CosignAttestation) {
  auto root = TrustedRoot::parse(testing::readText(vectors("cosign/trusted_root_pgi.json")));
  ASSERT_TRUE(root.ok()) << root.status().message();
  const std::string bundle = testing::readText(vectors("cosign/oci-attestation.sigstore.json"));
  auto image = Artifact::fromDigest(
      "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4");
  ASSERT_TRUE(image.ok());
  const std::string github = "https://github.com/login/oauth";
  auto ok = verifyBundle(bundle, *image, identity("", github, ".*"), *root, now());
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->predicateType, "https://cosign.sigstore.dev/attestation/v1");
  EXPECT_THAT(ok->signer, HasSubstr("cody@soyland.com"));
  auto otherImage = verifyBundle(bundle, *Artifact::fromDigest("sha256:" + std::string(64, '1')),
                                 identity("", github, ".*"), *root, now());
  EXPECT_THAT(otherImage.status().message(), HasSubstr("about another artifact"));
  auto otherSan =
      verifyBundle(bundle, *image, identity("", github, "^someone@example\\.com$"), *root, now());
  EXPECT_THAT(otherSan.status().message(), HasSubstr("does not match"));
  // The envelope changed after signing.
  json tampered = json::parse(bundle);
  std::string payload = *base64Decode(tampered["dsseEnvelope"]["payload"].get<std::string>());
  payload.insert(payload.size() - 1, " ");
  tampered["dsseEnvelope"]["payload"] = base64Encode(payload);
  EXPECT_FALSE(
      verifyBundle(tampered.dump(), *image, identity("", github, ".*"), *root, now()).ok());
}

// sigstore-conformance's key-signed case: its root, a policy with its key, the artifact a.txt and
// the bundle, shared by the tests that change one of them.
struct ManagedKeyCase {
  TrustedRoot root;
  SignerPolicy policy;
  Artifact artifact;
  json bundle;
};

ManagedKeyCase managedKeyCase() {
  const std::string dir = vectors("conformance/managed-key-and-trusted-root");
  auto root = TrustedRoot::parse(testing::readText(dir + "/trusted_root.json"));
  EXPECT_TRUE(root.ok()) << root.status().message();
  auto key = PublicKey::fromPem(testing::readText(dir + "/key.pub"));
  EXPECT_TRUE(key.ok()) << key.status().message();
  return {root.ok() ? *root : TrustedRoot(),
          SignerPolicy{{key.ok() ? *key : PublicKey()}, {}, true, true},
          Artifact::fromBytes(testing::readText(vectors("conformance/a.txt"))),
          json::parse(testing::readText(dir + "/bundle.sigstore.json"))};
}

// npm provenance by sigstore-js: an in-toto statement whose subject has only a SHA-512 digest,
// logged as intoto 0.0.2 (sigstore-go's signed_entity_test).
TEST(BundleTest, Sha512SubjectsNpmProvenance) {
  auto root =
      TrustedRoot::parse(testing::readText(vectors("trusted-roots/public-good.sigstore-go.json")));
  ASSERT_TRUE(root.ok()) << root.status().message();
  const std::string bundle =
      testing::readText(vectors("sigstore-go/sigstore-js-2.0.0-provenance.sigstore.json"));
  json envelope = json::parse(bundle)["dsseEnvelope"];
  json statement = json::parse(*base64Decode(envelope["payload"].get<std::string>()));
  const std::string sha512 = statement["subject"][0]["digest"]["sha512"].get<std::string>();
  ASSERT_EQ(sha512.size(), 128u);
  EXPECT_EQ(sha512.substr(0, 8), "46d4e2f7");  // MANIFEST.md: 46d4e2f7…4c85cd3c
  EXPECT_EQ(sha512.substr(120), "4c85cd3c");
  const std::string issuer = "https://token.actions.githubusercontent.com";
  auto ok =
      verifyBundle(bundle, *Artifact::fromDigest("sha512:" + sha512),
                   identity("", issuer, "^https://github.com/sigstore/sigstore-js/"), *root, now());
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->predicateType, "https://slsa.dev/provenance/v1");
  std::string other = sha512;
  other[0] = '5';
  auto wrongDigest =
      verifyBundle(bundle, *Artifact::fromDigest("sha512:" + other),
                   identity("", issuer, "^https://github.com/sigstore/sigstore-js/"), *root, now());
  EXPECT_THAT(wrongDigest.status().message(),
              HasSubstr("about another artifact (no subject sha512:"));
  auto wrongSan = verifyBundle(bundle, *Artifact::fromDigest("sha512:" + sha512),
                               identity("BadSANValue", issuer), *root, now());
  EXPECT_FALSE(wrongSan.ok());
  EXPECT_FALSE(Artifact::fromDigest("sha512:" + sha512.substr(1)).ok());
  // Its timestampVerificationData is null (proto3 JSON for "absent"); so is deep hostile nesting
  // harmless.
  EXPECT_TRUE(json::parse(bundle)["verificationMaterial"]["timestampVerificationData"].is_null());
  std::string deep = bundle;
  deep.insert(deep.rfind('}'), ",\"x\":" + std::string(100000, '[') + std::string(100000, ']'));
  auto deepOk =
      verifyBundle(deep, *Artifact::fromDigest("sha512:" + sha512),
                   identity("", issuer, "^https://github.com/sigstore/sigstore-js/"), *root, now());
  EXPECT_TRUE(deepOk.ok()) << "an unknown field is ignored, however deep: "
                           << deepOk.status().message();
  // A message signature cannot be checked against a SHA-512 alone.
  ManagedKeyCase managed = managedKeyCase();
  auto onlySha512 = verifyBundle(managed.bundle.dump(), *Artifact::fromDigest("sha512:" + sha512),
                                 managed.policy, managed.root, now());
  EXPECT_THAT(onlySha512.status().message(), HasSubstr("only its SHA-512 was given"));
}

// The key-signed conformance bundle, changed where it matters: each change must fail.
TEST(BundleTest, MutationsOfAKeySignedBundleFail) {
  const ManagedKeyCase managed = managedKeyCase();
  const TrustedRoot* root = &managed.root;
  const SignerPolicy& policy = managed.policy;
  const Artifact& artifact = managed.artifact;
  const json& good = managed.bundle;
  ASSERT_TRUE(verifyBundle(good.dump(), artifact, policy, *root, now()).ok());
  auto flipB64 = [](const json& v, size_t at) {
    std::string raw = *base64Decode(v.get<std::string>());
    raw[at % raw.size()] = static_cast<char>(raw[at % raw.size()] ^ 0x01);
    return base64Encode(raw);
  };
  std::vector<std::pair<std::string, json>> mutants;
  auto mutate = [&](const std::string& what, auto fn) {
    json m = good;
    fn(m);
    mutants.emplace_back(what, m);
  };
  auto entry = [](json& b) -> json& { return b["verificationMaterial"]["tlogEntries"][0]; };
  mutate("signature", [&](json& b) {
    b["messageSignature"]["signature"] = flipB64(b["messageSignature"]["signature"], 10);
  });
  mutate("message digest", [&](json& b) {
    b["messageSignature"]["messageDigest"]["digest"] =
        flipB64(b["messageSignature"]["messageDigest"]["digest"], 3);
  });
  mutate("SET", [&](json& b) {
    entry(b)["inclusionPromise"]["signedEntryTimestamp"] =
        flipB64(entry(b)["inclusionPromise"]["signedEntryTimestamp"], 12);
  });
  mutate("body", [&](json& b) {
    entry(b)["canonicalizedBody"] = flipB64(entry(b)["canonicalizedBody"], 50);
  });
  mutate("integrated time", [&](json& b) {
    entry(b)["integratedTime"] =
        std::to_string(std::stoll(entry(b)["integratedTime"].get<std::string>()) + 1);
  });
  mutate("proof hash", [&](json& b) {
    entry(b)["inclusionProof"]["hashes"][2] = flipB64(entry(b)["inclusionProof"]["hashes"][2], 0);
  });
  mutate("root hash", [&](json& b) {
    entry(b)["inclusionProof"]["rootHash"] = flipB64(entry(b)["inclusionProof"]["rootHash"], 0);
  });
  mutate("proof index", [&](json& b) {
    entry(b)["inclusionProof"]["logIndex"] =
        std::to_string(std::stoll(entry(b)["inclusionProof"]["logIndex"].get<std::string>()) + 1);
  });
  mutate("no proof", [&](json& b) { entry(b).erase("inclusionProof"); });
  mutate("checkpoint signature", [&](json& b) {
    std::string cp = entry(b)["inclusionProof"]["checkpoint"]["envelope"];
    size_t at = cp.rfind(' ') + 12;
    cp[at] = cp[at] == 'A' ? 'B' : 'A';
    entry(b)["inclusionProof"]["checkpoint"]["envelope"] = cp;
  });
  mutate("checkpoint size", [&](json& b) {
    std::string cp = entry(b)["inclusionProof"]["checkpoint"]["envelope"];
    size_t nl = cp.find('\n');
    cp.insert(nl + 1, "1");
    entry(b)["inclusionProof"]["checkpoint"]["envelope"] = cp;
  });
  mutate("log id",
         [&](json& b) { entry(b)["logId"]["keyId"] = flipB64(entry(b)["logId"]["keyId"], 5); });
  mutate("version 99",
         [&](json& b) { b["mediaType"] = "application/vnd.dev.sigstore.bundle.v99.9+json"; });
  for (const auto& [what, m] : mutants) {
    auto v = verifyBundle(m.dump(), artifact, policy, *root, now());
    EXPECT_FALSE(v.ok()) << what << " changed, still verified";
  }
  // Another artifact, or no key at all.
  EXPECT_FALSE(verifyBundle(good.dump(), Artifact::fromBytes("other"), policy, *root, now()).ok());
  EXPECT_FALSE(verifyBundle(good.dump(), artifact, SignerPolicy{}, *root, now()).ok());
}

TEST(TrustedRootTest, RefusesEntriesItCannotUse) {
  json root = json::parse(
      testing::readText(vectors("conformance/managed-key-and-trusted-root/trusted_root.json")));
  ASSERT_TRUE(TrustedRoot::parse(root.dump()).ok());
  json noStart = root;
  noStart["tlogs"][0]["publicKey"]["validFor"].erase("start");
  EXPECT_THAT(TrustedRoot::parse(noStart.dump()).status().message(), HasSubstr("no start"));
  json badKey = root;
  badKey["tlogs"][0]["publicKey"]["rawBytes"] = base64Encode("not a key");
  EXPECT_FALSE(TrustedRoot::parse(badKey.dump()).ok());
  EXPECT_FALSE(TrustedRoot::parse("{").ok());
  json wrongType = root;
  wrongType["tlogs"][0]["publicKey"]["validFor"]["end"] = 5;
  EXPECT_THAT(TrustedRoot::parse(wrongType.dump()).status().message(), HasSubstr("malformed"));
}

// protobuf's JSON printer may write unset fields as null: proto3 reads that as absent.
TEST(TrustedRootTest, ProtoNullsAreAbsentFields) {
  json root = json::parse(
      testing::readText(vectors("conformance/managed-key-and-trusted-root/trusted_root.json")));
  json nulls = root;
  nulls["tlogs"][0]["publicKey"]["validFor"]["end"] = nullptr;
  nulls["tlogs"][0]["baseUrl"] = nullptr;
  nulls["timestampAuthorities"] = nullptr;
  auto parsed = TrustedRoot::parse(nulls.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_FALSE(parsed->tlogs.empty());
  EXPECT_FALSE(parsed->tlogs[0].validFor.end.has_value()) << "a null end is an open validity";
  EXPECT_TRUE(parsed->tlogs[0].baseUrl.empty());
  EXPECT_TRUE(parsed->timestampAuthorities.empty());
  json nullStart = root;
  nullStart["tlogs"][0]["publicKey"]["validFor"]["start"] = nullptr;
  EXPECT_THAT(TrustedRoot::parse(nullStart.dump()).status().message(), HasSubstr("no start"));
}

// JSON of the wrong shape is a clear error, never an exception.
TEST(BundleTest, WrongShapesAreErrors) {
  const ManagedKeyCase managed = managedKeyCase();
  const TrustedRoot* root = &managed.root;
  const SignerPolicy& policy = managed.policy;
  const Artifact& artifact = managed.artifact;
  const json& good = managed.bundle;
  for (const char* path :
       {"/mediaType", "/verificationMaterial/tlogEntries/0/logId", "/messageSignature/signature",
        "/verificationMaterial/tlogEntries/0/inclusionProof/checkpoint"}) {
    json bad = good;
    bad[json::json_pointer(std::string(path))] = 5;
    auto v = verifyBundle(bad.dump(), artifact, policy, *root, now());
    EXPECT_FALSE(v.ok()) << path;
  }
  LegacyCase c = legacyCase("key-rekor");
  c.layer.annotations["dev.sigstore.cosign/bundle"] = R"({"SignedEntryTimestamp":5,"Payload":[]})";
  EXPECT_FALSE(
      verifyLegacyLayer(c.layer, c.imageDigest, keys({"cosign2.pub"}, true), rekorRoot(), now())
          .ok());
}

}  // namespace
}  // namespace hm::sigstore
