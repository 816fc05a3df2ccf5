#include "harbormaster/pki/pki.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm::pki {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const WallTime kNow = std::chrono::system_clock::from_time_t(1'800'000'000);

TEST(PkiTest, CreatesACa) {
  auto ca = createCa("test CA", kNow - 5min, kNow + 24h);
  ASSERT_TRUE(ca.ok()) << ca.status().message();
  auto info = inspect(ca->certPem);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->isCa);
  EXPECT_EQ(info->commonName, "test CA");
  EXPECT_EQ(info->notBefore, kNow - 5min);
  EXPECT_EQ(info->notAfter, kNow + 24h);
  EXPECT_EQ(info->fingerprint.size(), 64u);
  EXPECT_TRUE(verifyKeyMatches(ca->certPem, ca->keyPem).ok());
  EXPECT_TRUE(verifyIssuedBy(ca->certPem, ca->certPem).ok());  // self-signed
}

TEST(PkiTest, IssuesServingCertificates) {
  auto now = std::chrono::system_clock::now();
  auto ca = createCa("test CA", now - 5min, now + 24h);
  ASSERT_TRUE(ca.ok());
  auto leaf = issueServing(*ca, {"svc.ns.svc", "svc"}, now - 5min, now + 1h);
  ASSERT_TRUE(leaf.ok()) << leaf.status().message();
  auto info = inspect(leaf->certPem);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->isCa);
  EXPECT_THAT(info->dnsNames, UnorderedElementsAre("svc.ns.svc", "svc"));
  EXPECT_TRUE(verifyIssuedBy(leaf->certPem, ca->certPem).ok());
  EXPECT_TRUE(verifyKeyMatches(leaf->certPem, leaf->keyPem).ok());
  EXPECT_FALSE(verifyKeyMatches(leaf->certPem, ca->keyPem).ok());
  // (tests/e2e/pki_openssl_e2e_test.cpp has the openssl command line agree.)
}

TEST(PkiTest, TellsCertificatesOfAnotherCaApart) {
  auto a = createCa("CA a", kNow, kNow + 24h);
  auto b = createCa("CA b", kNow, kNow + 24h);
  auto sameName = createCa("CA a", kNow, kNow + 24h);
  ASSERT_TRUE(a.ok() && b.ok() && sameName.ok());
  auto leaf = issueServing(*a, {"x"}, kNow, kNow + 1h);
  ASSERT_TRUE(leaf.ok());
  EXPECT_FALSE(verifyIssuedBy(leaf->certPem, b->certPem).ok());
  // Same subject, different key: the signature decides.
  EXPECT_FALSE(verifyIssuedBy(leaf->certPem, sameName->certPem).ok());
}

TEST(PkiTest, ReadsBundlesAndRefusesDamage) {
  auto a = createCa("CA a", kNow, kNow + 24h);
  auto b = createCa("CA b", kNow, kNow + 48h);
  ASSERT_TRUE(a.ok() && b.ok());
  auto both = inspectBundle(a->certPem + b->certPem);
  ASSERT_TRUE(both.ok()) << both.status().message();
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[1].commonName, "CA b");
  EXPECT_FALSE(inspectBundle("").ok());
  EXPECT_FALSE(inspectBundle("not pem at all").ok());
  std::string damaged = b->certPem;
  damaged[damaged.size() / 2] = damaged[damaged.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(inspect(damaged).ok() && verifyIssuedBy(damaged, b->certPem).ok());
  EXPECT_FALSE(inspectBundle(a->certPem + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END "
                                          "CERTIFICATE-----\n")
                   .ok());
}

TEST(PkiTest, RefusesNonsense) {
  auto ca = createCa("CA", kNow, kNow + 24h);
  ASSERT_TRUE(ca.ok());
  EXPECT_FALSE(createCa("CA", kNow, kNow).ok());
  EXPECT_FALSE(issueServing(*ca, {}, kNow, kNow + 1h).ok());
  auto broken = issueServing({"garbage", "garbage"}, {"x"}, kNow, kNow + 1h);
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.status().message(), HasSubstr("not valid PEM"));
  EXPECT_FALSE(verifyKeyMatches("x", "y").ok());
}

}  // namespace
}  // namespace hm::pki
