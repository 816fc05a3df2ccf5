// pkg/sigstore against what other programs make and run: signatures made here with the openssl
// command line (every key type), and the sigstore-verify binary speaking the conformance
// client protocol. Vectors are read in place from shared/sigstore/vectors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harbormaster/base/encoding.h"
#include "harbormaster/sigstore/verify.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace hm::sigstore {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

std::string vectors(const std::string& rel) {
  return testing::sharedFile("sigstore/vectors/" + rel);
}

WallTime now() {
  return std::chrono::system_clock::now();
}

// Keys made here, signatures in cosign's layout: ECDSA P-256 and P-384, RSA, Ed25519.
TEST(LegacySignatureTest, EveryKeyTypeOpenSslMakes) {
  testing::TempDir dir;
  const std::string digest = "sha256:" + std::string(64, 'a');
  const std::string payload =
      R"({"critical":{"identity":{"docker-reference":"harbor.example/app"},"image":{"docker-manifest-digest":")" +
      digest + R"("},"type":"cosign container image signature"},"optional":null})";
  dir.write("payload.json", payload);
  struct KeyType {
    std::string name;
    std::vector<std::string> genkey;
    bool raw;  // Ed25519 signs the message itself
  };
  std::vector<KeyType> types = {
      {"p256",
       {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"},
       false},
      {"p384",
       {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"},
       false},
      {"rsa",
       {"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"},
       false},
      {"ed25519", {"openssl", "genpkey", "-algorithm", "ED25519"}, true}};
  std::vector<PublicKey> made;
  for (const auto& t : types) {
    std::string out;
    auto gen = t.genkey;
    gen.insert(gen.end(), {"-out", dir.file(t.name + ".key")});
    ASSERT_EQ(testing::runCommand(gen, out), 0) << out;
    ASSERT_EQ(testing::runCommand({"openssl", "pkey", "-in", dir.file(t.name + ".key"), "-pubout",
                                   "-out", dir.file(t.name + ".pub")},
                                  out),
              0)
        << out;
    std::vector<std::string> sign =
        t.raw ? std::vector<std::string>{"openssl", "pkeyutl",
                                         "-sign",   "-rawin",
                                         "-inkey",  dir.file(t.name + ".key"),
                                         "-in",     dir.file("payload.json"),
                                         "-out",    dir.file(t.name + ".sig")}
              : std::vector<std::string>{"openssl",
                                         "dgst",
                                         "-sha256",
                                         "-sign",
                                         dir.file(t.name + ".key"),
                                         "-out",
                                         dir.file(t.name + ".sig"),
                                         dir.file("payload.json")};
    ASSERT_EQ(testing::runCommand(sign, out), 0) << out;
    auto pub = PublicKey::fromPem(testing::readText(dir.file(t.name + ".pub")));
    ASSERT_TRUE(pub.ok()) << t.name;
    made.push_back(*pub);
    LegacyLayer layer{std::string(kSimpleSigningMediaType),
                      payload,
                      {{"dev.cosignproject.cosign/signature",
                        base64Encode(testing::readText(dir.file(t.name + ".sig")))}}};
    SignerPolicy own{{*pub}, {}, false, true};
    auto v = verifyLegacyLayer(layer, digest, own, TrustedRoot(), now());
    EXPECT_TRUE(v.ok()) << t.name << ": " << v.status().message();
    EXPECT_FALSE(
        verifyLegacyLayer(layer, "sha256:" + std::string(64, 'b'), own, TrustedRoot(), now()).ok())
        << t.name;
    auto cosignKey = PublicKey::fromPem(testing::readText(vectors("legacy-tag/keys/cosign.pub")));
    ASSERT_TRUE(cosignKey.ok());
    SignerPolicy other{{*cosignKey}, {}, false, true};
    EXPECT_FALSE(verifyLegacyLayer(layer, digest, other, TrustedRoot(), now()).ok()) << t.name;
  }
  EXPECT_EQ(made[0].type(), "ECDSA");
  EXPECT_EQ(made[2].type(), "RSA");
  EXPECT_EQ(made[3].type(), "Ed25519");
}

// The conformance client protocol, as the product owner's harness drives it.
TEST(SigstoreVerifyCliTest, SpeaksTheConformanceProtocol) {
  const std::string dir = vectors("conformance/managed-key-and-trusted-root");
  std::string out;
  std::vector<std::string> base = {HM_SIGSTORE_VERIFY, "verify-bundle",
                                   "--bundle",         dir + "/bundle.sigstore.json",
                                   "--trusted-root",   dir + "/trusted_root.json"};
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::runCommand(argv, out);
  };
  EXPECT_EQ(run({"--key", dir + "/key.pub", vectors("conformance/a.txt")}), 0) << out;
  std::string digest =
      "sha256:" + hexEncode(sha256(testing::readText(vectors("conformance/a.txt"))));
  EXPECT_EQ(run({"--key", dir + "/key.pub", digest}), 0) << out;
  EXPECT_EQ(run({"--key", vectors("legacy-tag/keys/cosign.pub"), digest}), 1);
  EXPECT_THAT(out, HasSubstr("signed by an unknown key"));
  EXPECT_EQ(run({"--key", dir + "/key.pub", "sha256:" + std::string(64, '0')}), 1);
  EXPECT_EQ(run({digest}), 2);  // neither key nor identity
  EXPECT_EQ(run({"--key", dir + "/key.pub", "--certificate-identity", "x", digest}), 2);
  EXPECT_EQ(run({"--key", dir + "/key.pub", "sha512:" + std::string(127, '0')}), 2);

  // A SHA-512 artifact digest: the npm provenance vector.
  const std::string npm = vectors("sigstore-go/sigstore-js-2.0.0-provenance.sigstore.json");
  json statement = json::parse(*base64Decode(
      json::parse(testing::readText(npm))["dsseEnvelope"]["payload"].get<std::string>()));
  base = {HM_SIGSTORE_VERIFY, "verify-bundle",
          "--bundle",         npm,
          "--trusted-root",   vectors("trusted-roots/public-good.sigstore-go.json")};
  EXPECT_EQ(run({"--certificate-identity",
                 "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/"
                 "main",
                 "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com",
                 "sha512:" + statement["subject"][0]["digest"]["sha512"].get<std::string>()}),
            0)
      << out;
  // cosign's --certificate-identity-regexp, through the matcher policies use (RE2, searched).
  const std::string sha512 =
      "sha512:" + statement["subject"][0]["digest"]["sha512"].get<std::string>();
  const std::string gha = "https://token.actions.githubusercontent.com";
  EXPECT_EQ(run({"--certificate-identity-regexp", "^https://github\\.com/sigstore/sigstore-js/",
                 "--certificate-oidc-issuer", gha, sha512}),
            0)
      << out;
  EXPECT_EQ(run({"--certificate-identity-regexp", "^https://github\\.com/someone-else/",
                 "--certificate-oidc-issuer", gha, sha512}),
            1);
  EXPECT_THAT(out, HasSubstr("does not match ^https://github\\.com/someone-else/"));
  EXPECT_EQ(run({"--certificate-identity-regexp", "(?<!lookbehind)", "--certificate-oidc-issuer",
                 gha, sha512}),
            2);
  EXPECT_THAT(out, HasSubstr("Go/RE2 syntax"));
  EXPECT_EQ(run({"--certificate-identity", "x", "--certificate-identity-regexp", "x",
                 "--certificate-oidc-issuer", gha, sha512}),
            2);
}

}  // namespace
}  // namespace hm::sigstore
