// ScanGate against a mocked Harbor and a fake clock: which calls a review costs, what each
// Harbor answer becomes, and how long facts live, in milliseconds and without a process.
#include "harbormaster/scangate/scan_gate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/async.h"
#include "support/fake_clock.h"
#include "support/mock_clients.h"

namespace hm::scangate {
namespace {

using hm::testing::MockHarborClient;
using hm::testing::ready;
using hm::testing::runOn;
using namespace std::chrono_literals;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::NiceMock;
using ::testing::Return;

const std::string kDigest = "sha256:" + std::string(64, 'a');

harbor::Artifact scanned(const std::string& status, int64_t high) {
  harbor::Artifact a;
  a.digest = kDigest;
  a.scannable = true;
  if (!status.empty()) {
    harbor::ScanSummary s;
    s.status = status;
    if (status == "Success") {
      s.severity = high > 0 ? "High" : "None";
      s.total = high;
      if (high > 0) {
        s.counts["High"] = high;
      }
    }
    a.scan = s;
  }
  return a;
}

class ScanGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    harbor::Project p;
    p.id = 3;
    p.name = "shop";
    ON_CALL(*harbor_, getProject("shop", _)).WillByDefault([p](auto, auto) {
      return ready(StatusOr<harbor::Project>(p));
    });
    ON_CALL(*harbor_, systemAllowlist(_)).WillByDefault([](auto) {
      return ready(StatusOr<harbor::CveAllowlist>(harbor::CveAllowlist{}));
    });
    ON_CALL(*harbor_, vulnerabilities(_, _, _, _)).WillByDefault([](auto, auto, auto, auto) {
      harbor::VulnerabilityReport r;
      r.vulnerabilities = {{"CVE-2026-1", "openssl", "3.0.1", "3.0.2", "High"}};
      return ready(StatusOr<std::optional<harbor::VulnerabilityReport>>(r));
    });
  }

  void artifactIs(StatusOr<harbor::Artifact> a, int times = 1) {
    EXPECT_CALL(*harbor_, getArtifact("shop", "web", kDigest, _))
        .Times(times)
        .WillRepeatedly([a](auto, auto, auto, auto) { return ready(a); });
  }

  std::unique_ptr<ScanGate> gate() {
    auto g = ScanGate::create(harbor_, {"https://harbor.example.com", {"harbor.example.com"}},
                              {.ttl = 60s, .negativeTtl = 10s}, {}, clock_);
    EXPECT_TRUE(g.ok());
    return std::move(*g);
  }

  std::shared_ptr<const policy::ScanFacts> facts(ScanGate& g, bool triggerScan = false) {
    auto ref = imageref::parse("harbor.example.com/shop/web@" + kDigest);
    EXPECT_TRUE(ref.ok());
    return runOn(io_.ioc(), g.facts(*ref, triggerScan,
                                    std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  }

  hm::testing::IoThreads io_;
  hm::testing::FakeClock clock_;
  std::shared_ptr<NiceMock<MockHarborClient>> harbor_ =
      std::make_shared<NiceMock<MockHarborClient>>();
};

TEST_F(ScanGateTest, AScannedImageCostsOneRoundAndIsCachedForItsTtl) {
  artifactIs(scanned("Success", 1), 2);
  auto g = gate();
  auto f = facts(*g);
  ASSERT_EQ(f->source, policy::ScanFacts::Source::kHarbor) << f->error;
  ASSERT_EQ(f->artifacts.size(), 1u);
  EXPECT_EQ(f->artifacts[0].state, policy::ScanState::kSuccess);
  ASSERT_EQ(f->artifacts[0].findings.size(), 1u);
  EXPECT_EQ(f->artifacts[0].findings[0].id, "CVE-2026-1");
  EXPECT_THAT(f->uiLink, HasSubstr("/harbor/projects/3/repositories/web/"));
  clock_.advance(59s);
  EXPECT_EQ(facts(*g), f) << "within the ttl: no call";
  clock_.advance(2s);
  EXPECT_NE(facts(*g), f) << "after it: looked up again";
}

TEST_F(ScanGateTest, AnUnscannedImageIsScannedOnlyWhenThePolicyAsks) {
  artifactIs(scanned("", 0), 2);
  EXPECT_CALL(*harbor_, scanArtifact("shop", "web", kDigest, _))
      .WillOnce(Return(ready(okStatus())));
  auto g = gate();
  auto plain = facts(*g);
  EXPECT_EQ(plain->artifacts[0].state, policy::ScanState::kNotScanned);
  EXPECT_FALSE(plain->scanTriggered);
  auto asked = facts(*g, /*triggerScan=*/true);
  EXPECT_TRUE(asked->scanTriggered);
}

TEST_F(ScanGateTest, PendingFactsLiveTheShorterTtl) {
  artifactIs(scanned("Running", 0), 2);
  auto g = gate();
  auto f = facts(*g);
  EXPECT_EQ(f->artifacts[0].state, policy::ScanState::kPending);
  clock_.advance(9s);
  EXPECT_EQ(facts(*g), f);
  clock_.advance(2s);
  facts(*g);  // the second getArtifact
}

TEST_F(ScanGateTest, HarborsAnswersBecomeExplicitSources) {
  struct Case {
    Status error;
    policy::ScanFacts::Source source;
  };
  for (const Case& c : {Case{notFound("no such artifact"), policy::ScanFacts::Source::kNotFound},
                        Case{unauthenticated("rejected"), policy::ScanFacts::Source::kCredentials},
                        Case{unavailable("HTTP 503"), policy::ScanFacts::Source::kUnreachable}}) {
    ::testing::Mock::VerifyAndClearExpectations(harbor_.get());
    artifactIs(StatusOr<harbor::Artifact>(c.error));
    auto f = facts(*gate());
    EXPECT_EQ(f->source, c.source) << c.error.message();
    EXPECT_THAT(f->error, HasSubstr(c.error.message()));
  }
}

TEST_F(ScanGateTest, AnOutageIsNeverCachedButTheLastFactsServeAsStale) {
  auto g = gate();
  {
    ::testing::InSequence order;
    EXPECT_CALL(*harbor_, getArtifact(_, _, _, _))
        .WillOnce(Return(ready(StatusOr<harbor::Artifact>(scanned("Success", 0)))));
    EXPECT_CALL(*harbor_, getArtifact(_, _, _, _))
        .WillOnce(Return(ready(StatusOr<harbor::Artifact>(unavailable("HTTP 503")))));
    EXPECT_CALL(*harbor_, getArtifact(_, _, _, _))
        .WillOnce(Return(ready(StatusOr<harbor::Artifact>(scanned("Success", 0)))));
  }
  auto good = facts(*g);
  clock_.advance(61s);
  auto down = facts(*g);
  EXPECT_EQ(down->source, policy::ScanFacts::Source::kUnreachable);
  EXPECT_TRUE(down->stale) << "the last facts seen are kept for harborUnreachable: AllowIfCached";
  EXPECT_EQ(down->artifacts.size(), 1u);
  auto back = facts(*g);
  EXPECT_EQ(back->source, policy::ScanFacts::Source::kHarbor) << "the outage was not cached";
}

TEST_F(ScanGateTest, InvalidateForgetsADigestAtOnce) {
  artifactIs(scanned("Success", 0), 2);
  auto g = gate();
  facts(*g);
  g->invalidate(kDigest);
  facts(*g);
}

}  // namespace
}  // namespace hm::scangate
