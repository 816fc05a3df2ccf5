// SignatureGate against a mocked registry and a fake clock: what a verdict costs, how long it
// lives, and what an outage becomes, without a registry process or a sleep. (The suite in
// signature_gate_test.cpp runs the same gate against real registries.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harbormaster/signaturegate/signature_gate.h"
#include "support/async.h"
#include "support/cosign.h"
#include "support/fake_clock.h"
#include "support/mock_clients.h"
#include "support/registry_rig.h"  // sha256Digest
#include "support/temp_dir.h"

namespace hm::signaturegate {
namespace {

using hm::testing::MockRegistryClient;
using hm::testing::ready;
using hm::testing::runOn;
using policy::SignatureFacts;
using namespace std::chrono_literals;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::NiceMock;
using ::testing::Return;

const std::string kDigest = "sha256:" + std::string(64, 'b');
const std::string kImage = "registry.example.com/team/app@" + kDigest;

class SignatureGateMockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = hm::testing::makeSigningKey(dir_, "p256", "ci");
    other_ = hm::testing::makeSigningKey(dir_, "p256", "other");
    ON_CALL(*registry_, referrers(_, _, _)).WillByDefault([](auto, auto, auto) {
      return ready(
          StatusOr<std::vector<registry::Descriptor>>(std::vector<registry::Descriptor>{}));
    });
    ON_CALL(*registry_, getManifest(_, _)).WillByDefault([](auto, auto) {
      return ready(StatusOr<registry::Manifest>(notFound("manifest unknown")));
    });
    rule_.attestors = {policy::Attestor{"ci", {key_.publicPem}, "", "", {}}};
    rule_.count = 1;
    rule_.tlog = policy::TlogRule::kSkip;
    rule_.fingerprint = "ci:" + key_.publicPem;
  }

  // The "sha256-<hex>.sig" manifest with a signature by `key`, and its payload blob.
  void signedBy(const hm::testing::SigningKey& key) {
    const std::string payload =
        hm::testing::simpleSigningPayload("registry.example.com/team/app", kDigest);
    auto artifact =
        hm::testing::legacySignatureManifest({{payload, hm::testing::signMessage(key, payload)}});
    auto manifest = registry::parseManifest(artifact.manifest, artifact.mediaType);
    ASSERT_TRUE(manifest.ok()) << manifest.status().message();
    ON_CALL(*registry_, getManifest(_, _)).WillByDefault([m = *manifest](auto ref, auto) {
      return ready(ref.tag.find(".sig") != std::string::npos
                       ? StatusOr<registry::Manifest>(m)
                       : StatusOr<registry::Manifest>(notFound("manifest unknown")));
    });
    ON_CALL(*registry_, getBlob(_, _, _, _))
        .WillByDefault([blobs = artifact.blobs](auto, std::string digest, auto, auto) {
          for (const auto& b : blobs) {
            if (hm::testing::sha256Digest(b) == digest) {
              return ready(StatusOr<std::string>(b));
            }
          }
          return ready(StatusOr<std::string>(notFound("blob unknown")));
        });
  }

  std::shared_ptr<const SignatureFacts> facts(SignatureGate& gate) {
    auto ref = imageref::parse(kImage);
    EXPECT_TRUE(ref.ok());
    return runOn(io_.ioc(), gate.facts(*ref, rule_, std::chrono::steady_clock::now() + 5s));
  }

  std::unique_ptr<SignatureGate> gate() {
    return std::make_unique<SignatureGate>(
        registry_, Options{.positiveTtl = 3600s, .negativeTtl = 30s}, Observer{}, clock_);
  }

  hm::testing::TempDir dir_;
  hm::testing::SigningKey key_, other_;
  policy::SignatureRule rule_;
  hm::testing::IoThreads io_;
  hm::testing::FakeClock clock_;
  std::shared_ptr<NiceMock<MockRegistryClient>> registry_ =
      std::make_shared<NiceMock<MockRegistryClient>>();
};

TEST_F(SignatureGateMockTest, ASignatureByTheTrustedKeyVerifiesAndIsCachedForTheDay) {
  signedBy(key_);
  auto g = gate();
  auto f = facts(*g);
  ASSERT_EQ(f->source, SignatureFacts::Source::kChecked) << f->error;
  EXPECT_EQ(f->signaturesFound, 1u);
  ASSERT_EQ(f->attestors.size(), 1u);
  EXPECT_TRUE(f->attestors[0].verified) << f->attestors[0].reason;
  EXPECT_CALL(*registry_, getManifest(_, _)).Times(0);
  clock_.advance(3599s);
  EXPECT_EQ(facts(*g), f) << "a verdict within its ttl costs no registry call";
}

TEST_F(SignatureGateMockTest, AnUnknownKeyIsRefusedAndThatVerdictExpiresSoon) {
  signedBy(other_);
  auto g = gate();
  auto f = facts(*g);
  ASSERT_EQ(f->source, SignatureFacts::Source::kChecked) << f->error;
  EXPECT_FALSE(f->attestors.at(0).verified);
  EXPECT_EQ(f->attestors[0].reason, "signed by an unknown key");
  clock_.advance(29s);
  EXPECT_EQ(facts(*g), f);
  signedBy(key_);  // the image gets signed properly
  clock_.advance(2s);
  EXPECT_TRUE(facts(*g)->attestors.at(0).verified) << "a negative verdict lives 30 s, no longer";
}

TEST_F(SignatureGateMockTest, AnUnsignedImageIsCheckedNotUnreachable) {
  auto f = facts(*gate());
  EXPECT_EQ(f->source, SignatureFacts::Source::kChecked);
  EXPECT_EQ(f->signaturesFound, 0u);
  EXPECT_FALSE(f->attestors.at(0).verified);
}

TEST_F(SignatureGateMockTest, ARegistryOutageIsUnreachableAndNotCached) {
  EXPECT_CALL(*registry_, getManifest(_, _))
      .WillOnce(Return(ready(StatusOr<registry::Manifest>(unavailable("HTTP 503")))))
      .WillRepeatedly([](auto, auto) {
        return ready(StatusOr<registry::Manifest>(notFound("manifest unknown")));
      });
  EXPECT_CALL(*registry_, referrers(_, _, _))
      .WillOnce(Return(ready(StatusOr<std::vector<registry::Descriptor>>(unavailable("HTTP 503")))))
      .WillRepeatedly([](auto, auto, auto) {
        return ready(
            StatusOr<std::vector<registry::Descriptor>>(std::vector<registry::Descriptor>{}));
      });
  auto g = gate();
  auto down = facts(*g);
  EXPECT_EQ(down->source, SignatureFacts::Source::kUnreachable);
  EXPECT_THAT(down->error, HasSubstr("503"));
  EXPECT_EQ(g->cachedVerdicts(), 0u);
  EXPECT_EQ(facts(*g)->source, SignatureFacts::Source::kChecked) << "asked again at once";
}

}  // namespace
}  // namespace hm::signaturegate
