#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "harbormaster/webhookcert/keeper.h"

namespace hm::webhookcert {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const WallTime kStart = std::chrono::system_clock::from_time_t(1'800'000'000);

Settings settings() {
  Settings s;
  s.nameSpace = "hm";
  s.secretName = "hm-webhook-tls";
  s.serviceName = "hm-webhook";
  s.webhookConfiguration = "hm";
  s.caValidity = std::chrono::hours(24 * 90);
  s.certValidity = std::chrono::hours(24 * 30);
  s.caPropagation = 60s;
  s.certFile = "/tmp/tls.crt";
  s.keyFile = "/tmp/tls.key";
  return s;
}

std::vector<std::string> splitBundle(const std::string& pem) {
  std::vector<std::string> out;
  static const std::string kEnd = "-----END CERTIFICATE-----";
  size_t from = 0;
  for (size_t at; (at = pem.find(kEnd, from)) != std::string::npos; from = at + kEnd.size()) {
    out.push_back(pem.substr(from, at + kEnd.size() - from));
  }
  return out;
}

// Whether a client holding `bundle` at `now` accepts `servingPem`.
bool trusted(const std::string& bundle, const std::string& servingPem, WallTime now) {
  auto leaf = pki::inspect(servingPem);
  if (!leaf.ok() || leaf->notBefore > now || leaf->notAfter <= now) {
    return false;
  }
  for (const auto& ca : splitBundle(bundle)) {
    auto info = pki::inspect(ca);
    if (info.ok() && info->notAfter > now && pki::verifyIssuedBy(servingPem, ca).ok()) {
      return true;
    }
  }
  return false;
}

TEST(PlanTest, CreatesEverythingForAnEmptySecret) {
  auto p = plan(std::nullopt, settings(), kStart, false);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_THAT(p->changes, Contains("created a CA"));
  const Material& m = p->material;
  EXPECT_TRUE(m.nextCa.certPem.empty());
  EXPECT_EQ(splitBundle(m.caBundle).size(), 1u);
  auto serving = pki::inspect(m.serving.certPem);
  ASSERT_TRUE(serving.ok());
  EXPECT_THAT(serving->dnsNames,
              UnorderedElementsAre("hm-webhook", "hm-webhook.hm", "hm-webhook.hm.svc",
                                   "hm-webhook.hm.svc.cluster.local"));
  EXPECT_EQ(serving->notAfter, kStart + settings().certValidity);
  EXPECT_TRUE(trusted(m.caBundle, m.serving.certPem, kStart));
}

TEST(PlanTest, LeavesAGoodSecretAlone) {
  auto first = plan(std::nullopt, settings(), kStart, false);
  ASSERT_TRUE(first.ok());
  auto again = plan(first->material, settings(), kStart + 24h, false);
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(again->changes, IsEmpty());
  EXPECT_EQ(again->material.serving.certPem, first->material.serving.certPem);
}

TEST(PlanTest, RenewsTheServingCertificateWithAThirdOfItsLifeLeft) {
  Settings s = settings();
  auto first = plan(std::nullopt, s, kStart, false);
  ASSERT_TRUE(first.ok());
  auto early = plan(first->material, s, kStart + s.certValidity * 2 / 3 - 1h, false);
  ASSERT_TRUE(early.ok());
  EXPECT_THAT(early->changes, IsEmpty());
  auto due = plan(first->material, s, kStart + s.certValidity * 2 / 3 + 1h, false);
  ASSERT_TRUE(due.ok());
  EXPECT_THAT(due->changes, Contains(HasSubstr("due for renewal")));
  EXPECT_NE(due->material.serving.certPem, first->material.serving.certPem);
  EXPECT_EQ(due->material.ca.certPem, first->material.ca.certPem);
}

TEST(PlanTest, ReissuesWhenTheServiceNameChanges) {
  auto first = plan(std::nullopt, settings(), kStart, false);
  ASSERT_TRUE(first.ok());
  Settings renamed = settings();
  renamed.serviceName = "other";
  auto p = plan(first->material, renamed, kStart + 1h, false);
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(p->changes, Contains(HasSubstr("names changed")));
  EXPECT_THAT(pki::inspect(p->material.serving.certPem)->dnsNames, Contains("other.hm.svc"));
}

TEST(PlanTest, ReplacesDamagedContent) {
  auto first = plan(std::nullopt, settings(), kStart, false);
  ASSERT_TRUE(first.ok());
  Material damaged = first->material;
  damaged.ca.keyPem = "not a key";
  auto p = plan(damaged, settings(), kStart + 1h, false);
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(p->changes, Contains(HasSubstr("damaged")));
  EXPECT_TRUE(pki::verifyKeyMatches(p->material.ca.certPem, p->material.ca.keyPem).ok());
  EXPECT_TRUE(trusted(p->material.caBundle, p->material.serving.certPem, kStart + 1h));

  Material wrongKey = first->material;
  wrongKey.serving.keyPem = first->material.ca.keyPem;
  auto q = plan(wrongKey, settings(), kStart + 1h, false);
  ASSERT_TRUE(q.ok());
  EXPECT_THAT(q->changes, Contains(HasSubstr("missing or damaged")));
}

// The whole life of a deployment, pass by pass: at every step a client holding the bundle the
// webhook configuration had one pass earlier accepts the serving certificate of this pass and of
// the previous one (replicas pick up new files one after another), and the other way round.
TEST(PlanTest, RotatesCasAndCertificatesWithoutAnUntrustedMoment) {
  Settings s = settings();
  s.caValidity = std::chrono::hours(24 * 30);
  s.certValidity = std::chrono::hours(24 * 10);
  std::optional<Material> current;
  std::string published;  // what the webhook configuration's caBundle holds
  std::string previousServing;
  std::set<std::string> cas, servings;
  int caPromotions = 0;
  for (WallTime now = kStart; now < kStart + std::chrono::hours(24 * 135); now += 6h) {
    bool nextTrusted = current && !current->nextCa.certPem.empty() &&
                       published.find(current->nextCa.certPem) != std::string::npos;
    auto p = plan(current, s, now, nextTrusted);
    ASSERT_TRUE(p.ok()) << p.status().message();
    const Material& m = p->material;
    for (const auto& c : p->changes) {
      caPromotions += c.find("next CA now signs") != std::string::npos;
    }
    ASSERT_TRUE(trusted(m.caBundle, m.serving.certPem, now)) << "step at +" << (now - kStart) / 1h;
    if (!published.empty()) {
      ASSERT_TRUE(trusted(published, m.serving.certPem, now)) << "+" << (now - kStart) / 1h << "h";
      if (!previousServing.empty() && pki::inspect(previousServing)->notAfter > now) {
        ASSERT_TRUE(trusted(m.caBundle, previousServing, now)) << "+" << (now - kStart) / 1h;
      }
    }
    cas.insert(m.ca.certPem);
    servings.insert(m.serving.certPem);
    published = m.caBundle;  // the keeper injects it after writing the Secret
    previousServing = m.serving.certPem;
    current = m;
  }
  EXPECT_GE(caPromotions, 5);  // 135 days of 30-day CAs replaced at 20 days
  EXPECT_GE(cas.size(), 6u);
  EXPECT_GE(servings.size(), 19u);               // 10-day certificates renewed at 6.7 days
  EXPECT_LE(splitBundle(published).size(), 3u);  // expired CAs leave the bundle
}

TEST(PlanTest, PromotesTheNextCaOnlyAfterTheBundleHeldItLongEnough) {
  Settings s = settings();
  auto p = plan(std::nullopt, s, kStart, false);
  ASSERT_TRUE(p.ok());
  WallTime t = kStart + s.caValidity * 2 / 3 + 1h;
  auto started = plan(p->material, s, t, false);
  ASSERT_TRUE(started.ok());
  ASSERT_FALSE(started->material.nextCa.certPem.empty());
  EXPECT_EQ(splitBundle(started->material.caBundle).size(), 2u);
  // Not yet in the webhook configuration: the next CA waits, however often we look.
  auto waiting = plan(started->material, s, t + 1h, false);
  ASSERT_TRUE(waiting.ok());
  EXPECT_FALSE(waiting->material.nextCa.certPem.empty());
  EXPECT_THAT(waiting->changes, IsEmpty());
  // Seen in the configuration: noted, then promoted once the propagation delay has passed.
  auto seen = plan(waiting->material, s, t + 2h, true);
  ASSERT_TRUE(seen.ok());
  ASSERT_TRUE(seen->material.nextCaPublishedAt.has_value());
  EXPECT_FALSE(seen->material.nextCa.certPem.empty());
  auto tooSoon = plan(seen->material, s, t + 2h + 30s, true);
  ASSERT_TRUE(tooSoon.ok());
  EXPECT_FALSE(tooSoon->material.nextCa.certPem.empty());
  auto promoted = plan(tooSoon->material, s, t + 2h + 61s, true);
  ASSERT_TRUE(promoted.ok());
  EXPECT_TRUE(promoted->material.nextCa.certPem.empty());
  EXPECT_EQ(promoted->material.ca.certPem, started->material.nextCa.certPem);
  EXPECT_TRUE(
      pki::verifyIssuedBy(promoted->material.serving.certPem, promoted->material.ca.certPem).ok());
  // The old CA stays trusted while certificates it signed may still be served.
  EXPECT_EQ(splitBundle(promoted->material.caBundle).size(), 2u);
}

TEST(PlanTest, PromotesAnywayBeforeTheOldCaRunsOut) {
  Settings s = settings();
  auto p = plan(std::nullopt, s, kStart, false);
  ASSERT_TRUE(p.ok());
  auto started = plan(p->material, s, kStart + s.caValidity * 2 / 3 + 1h, false);
  ASSERT_TRUE(started.ok());
  auto late = plan(started->material, s, kStart + s.caValidity * 92 / 100, false);
  ASSERT_TRUE(late.ok());
  EXPECT_TRUE(late->material.nextCa.certPem.empty());
  EXPECT_EQ(late->material.ca.certPem, started->material.nextCa.certPem);
}

TEST(PlanTest, ValidatesSettings) {
  EXPECT_TRUE(validate(settings()).ok());
  Settings s = settings();
  s.certValidity = s.caValidity / 2;
  EXPECT_THAT(validate(s).message(), HasSubstr("a third of the CA validity"));
  s = settings();
  s.serviceName = "";
  EXPECT_FALSE(validate(s).ok());
  s = settings();
  s.caPropagation = s.caValidity;
  EXPECT_FALSE(validate(s).ok());
}

}  // namespace
}  // namespace hm::webhookcert
