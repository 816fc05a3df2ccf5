// The review pipeline with fake fact sources: what runs concurrently, what a lookup that throws,
// hangs or cannot resolve its tag becomes, and what a dry run tells the sources. No processes.
#include "harbormaster/review/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <stdexcept>
#include <thread>

#include "fakes.h"
#include "support/async.h"
#include "support/fake_clock.h"

namespace hm::review {
namespace {

using namespace hm::review::testing;
using hm::testing::runOn;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

Deadline in(std::chrono::milliseconds d) {
  return std::chrono::steady_clock::now() + d;
}

// Signature facts with one verified attestor.
facts::Attach verified(const std::string& fingerprint, const std::string& digest) {
  auto f = std::make_shared<policy::SignatureFacts>();
  f->digest = digest;
  f->attestors.push_back({"ci", true, "key 3f2a", ""});
  return [f, fingerprint](policy::ImageUse& use) { use.signatures[fingerprint] = f; };
}

// scanPolicy() plus spec.signatures with one attestor (fingerprint "fp").
std::shared_ptr<const policy::PolicySet> scanAndSignaturePolicy() {
  auto set = std::make_shared<policy::PolicySet>(*scanPolicy());
  policy::SignatureRule rule;
  rule.attestors.push_back({"ci", {"<key>"}, "", "", {}});
  rule.tlog = policy::TlogRule::kSkip;
  rule.fingerprint = "fp";
  set->policies[0].signatures = rule;
  return set;
}

EngineSettings fixes(std::chrono::milliseconds budget, std::vector<std::string> hosts) {
  EngineSettings s;
  s.digestFixBudget = budget;
  s.fixHosts = std::move(hosts);
  return s;
}

EngineSettings limits(size_t perReview, size_t inFlight) {
  EngineSettings s;
  s.maxImageLookupsPerReview = perReview;
  s.maxImageLookupsInFlight = inFlight;
  return s;
}

class EngineTest : public ::testing::Test {
 protected:
  admission::Outcome review(Engine& engine, const std::string& body,
                            std::shared_ptr<const policy::PolicySet> policies,
                            std::chrono::milliseconds budget = 5s) {
    return runOn(io_.ioc(), engine.review(body, std::move(policies), in(budget)));
  }

  hm::testing::FakeClock clock_;
  hm::testing::IoThreads io_;
};

TEST_F(EngineTest, BothSourcesAreInFlightBeforeEitherFinishes) {
  // Each lookup finishes only after the other has started: run one after the other, the first
  // would wait until the review deadline and be cut.
  auto scanStarted = std::make_shared<net::Flight<bool>>();
  auto sigStarted = std::make_shared<net::Flight<bool>>();
  auto scan = std::make_shared<FakeSource>(
      "scan", [=](imageref::Reference pinned, facts::Deadline d) -> awaitable<facts::Attach> {
        scanStarted->finish(true);
        const bool other = co_await sigStarted->wait(d);
        co_return other ? cleanScan(pinned.digest) : facts::Attach([](policy::ImageUse&) {});
      });
  auto sig = std::make_shared<FakeSource>(
      "signatures", [=](imageref::Reference pinned, facts::Deadline d) -> awaitable<facts::Attach> {
        sigStarted->finish(true);
        const bool other = co_await scanStarted->wait(d);
        co_return other ? verified("fp", pinned.digest) : facts::Attach([](policy::ImageUse&) {});
      });
  Engine engine({scan, sig}, nullptr, {}, clock_);
  auto out = review(engine, podReview({"harbor.example.com/shop/web@" + kDigest}),
                    scanAndSignaturePolicy());
  EXPECT_EQ(out.decision, admission::Decision::kAllowed) << out.message;
  ASSERT_EQ(out.request.images.size(), 1u);
  ASSERT_TRUE(out.request.images[0].scan);
  EXPECT_EQ(out.request.images[0].scan->digest, kDigest);
  EXPECT_EQ(out.request.images[0].signatures.count("fp"), 1u);
}

TEST_F(EngineTest, ALookupThatThrowsOrHangsIsCouldNotCheckNeverAPass) {
  auto never = std::make_shared<net::Flight<bool>>();
  auto ended = std::make_shared<std::atomic<bool>>(false);
  auto scan = std::make_shared<FakeSource>(
      "scan", [](imageref::Reference, facts::Deadline) -> awaitable<facts::Attach> {
        throw std::runtime_error("boom");
        co_return facts::Attach();
      });
  auto hanging = std::make_shared<FakeSource>(
      "hanging", [never, ended](imageref::Reference, facts::Deadline) -> awaitable<facts::Attach> {
        co_await never->wait();  // ignores its deadline, as a broken source might
        *ended = true;
        co_return facts::Attach([](policy::ImageUse&) {});
      });
  for (auto& source : {scan, hanging}) {
    Engine engine({source}, nullptr, {}, clock_);
    auto out =
        review(engine, podReview({"harbor.example.com/shop/web@" + kDigest}), scanPolicy(), 200ms);
    EXPECT_EQ(out.decision, admission::Decision::kDenied);
    EXPECT_THAT(out.message, HasSubstr("could not be checked"));
    EXPECT_THAT(out.message, HasSubstr(source == scan ? "the scan lookup failed: boom"
                                                      : "did not finish within the review"));
  }
  never->finish(true);  // the cut lookup ends later, on its own, into memory it shares
  for (int i = 0; i < 1000 && !*ended; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(*ended);
}

TEST_F(EngineTest, ATagIsResolvedOnceAndEverySourceSeesTheDigest) {
  std::vector<std::string> seen;
  std::mutex mu;
  auto record = [&](std::string name) {
    return [&, name](imageref::Reference pinned, facts::Deadline) -> awaitable<facts::Attach> {
      {
        std::lock_guard lock(mu);
        seen.push_back(name + " " + pinned.digest);
      }
      co_return name == "scan" ? cleanScan(pinned.digest) : verified("fp", pinned.digest);
    };
  };
  auto resolver = std::make_shared<FakeResolver>(kDigest);
  Engine engine({std::make_shared<FakeSource>("scan", record("scan")),
                 std::make_shared<FakeSource>("signatures", record("signatures"))},
                resolver, {}, clock_);
  auto out = review(
      engine, podReview({"harbor.example.com/shop/web:1.4", "harbor.example.com/shop/web:1.4"}),
      scanAndSignaturePolicy());
  EXPECT_EQ(out.decision, admission::Decision::kAllowed) << out.message;
  EXPECT_EQ(resolver->calls, 1) << "one resolution for the image, however many uses and sources";
  EXPECT_TRUE(resolver->lastForFacts);
  EXPECT_THAT(seen, ::testing::UnorderedElementsAre("scan " + kDigest, "signatures " + kDigest));
  for (const auto& use : out.request.images) {
    EXPECT_EQ(use.resolvedDigest, kDigest);
    EXPECT_TRUE(use.scan) << "both uses get the facts";
  }
}

TEST_F(EngineTest, AnUnresolvableTagIsCouldNotCheckAndItsLookupsDoNotRun) {
  std::atomic<int> ran{0};
  auto scan = std::make_shared<FakeSource>(
      "scan", [&](imageref::Reference, facts::Deadline) -> awaitable<facts::Attach> {
        ++ran;
        co_return facts::Attach([](policy::ImageUse&) {});
      });
  Engine engine({scan}, std::make_shared<FakeResolver>(unavailable("connection refused")), {},
                clock_);
  auto out = review(engine, podReview({"harbor.example.com/shop/web:1.4"}), scanPolicy());
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(out.decision, admission::Decision::kDenied);
  EXPECT_THAT(out.message,
              HasSubstr("resolving harbor.example.com/shop/web:1.4: connection refused"));
}

TEST_F(EngineTest, ADigestOnlyDenialNamesTheResolvedDigestWithinItsBudget) {
  auto none = std::make_shared<FakeSource>(
      "scan", [](imageref::Reference, facts::Deadline) -> awaitable<facts::Attach> {
        co_return facts::Attach([](policy::ImageUse&) {});
      });
  none->wants = [](const facts::ImageQuery&) { return false; };
  auto digestOnly = std::make_shared<policy::PolicySet>();
  policy::ImagePolicy p;
  p.name = "pinned";
  digestOnly->policies.push_back(p);

  auto resolver = std::make_shared<FakeResolver>(kDigest);
  Engine engine({none}, resolver, fixes(2s, {"harbor.example.com"}), clock_);
  auto out = review(engine, podReview({"harbor.example.com/shop/web:1.4"}), digestOnly);
  EXPECT_EQ(out.decision, admission::Decision::kDenied);
  EXPECT_THAT(out.message, HasSubstr("use harbor.example.com/shop/web@" + kDigest));
  EXPECT_FALSE(resolver->lastForFacts) << "only a message needs it";

  auto off = std::make_shared<FakeResolver>(kDigest);
  Engine noLookup({none}, off, fixes(0ms, {"harbor.example.com"}), clock_);
  out = review(noLookup, podReview({"harbor.example.com/shop/web:1.4"}), digestOnly);
  EXPECT_THAT(out.message, HasSubstr("use harbor.example.com/shop/web@sha256:<digest>"));
  EXPECT_EQ(off->calls, 0);

  auto down = std::make_shared<FakeResolver>(unavailable("no route"));
  Engine unresolved({none}, down, fixes(2s, {"harbor.example.com"}), clock_);
  out = review(unresolved, podReview({"harbor.example.com/shop/web:1.4"}), digestOnly);
  EXPECT_THAT(out.message, HasSubstr("@sha256:<digest>")) << "the placeholder when unresolved";
}

TEST_F(EngineTest, AFixIsLookedUpOnlyOnHarborOrARegistryAPolicyNames) {
  auto none = std::make_shared<FakeSource>(
      "scan", [](imageref::Reference, facts::Deadline) -> awaitable<facts::Attach> {
        co_return facts::Attach([](policy::ImageUse&) {});
      });
  none->wants = [](const facts::ImageQuery&) { return false; };
  auto digestOnly = std::make_shared<policy::PolicySet>();
  digestOnly->policies.emplace_back().name = "pinned";
  std::vector<std::string> refused;
  auto resolver = std::make_shared<FakeResolver>(kDigest);
  Engine engine({none}, resolver, fixes(2s, {"harbor.example.com"}), clock_,
                [&](std::string_view why) { refused.emplace_back(why); });

  // A host the request chose: the fix keeps its placeholder and nobody is called.
  auto out = review(engine, podReview({"attacker.example/x/y:1"}), digestOnly);
  EXPECT_THAT(out.message, HasSubstr("use attacker.example/x/y@sha256:<digest>"));
  EXPECT_EQ(resolver->calls, 0);
  EXPECT_EQ(refused, std::vector<std::string>{std::string(kRefusedFixHost)});

  // Harbor's host, spelled as a runtime would accept it, is Harbor's host.
  out = review(engine, podReview({"HARBOR.example.com:443/shop/web:1.4"}), digestOnly);
  EXPECT_THAT(out.message, HasSubstr("use harbor.example.com/shop/web@" + kDigest));
  EXPECT_EQ(resolver->calls, 1);

  // A registry the judging policy allows by name is trusted for fixes too.
  auto named = std::make_shared<policy::PolicySet>(*digestOnly);
  named->policies[0].registries = {"quay.io"};
  out = review(engine, podReview({"quay.io/team/app:2"}), named);
  EXPECT_THAT(out.message, HasSubstr("use quay.io/team/app@" + kDigest));
  EXPECT_EQ(resolver->calls, 2);
}

TEST_F(EngineTest, AReviewStartsAtMostItsShareOfLookups) {
  std::atomic<int> ran{0};
  auto scan = std::make_shared<FakeSource>(
      "scan", [&](imageref::Reference pinned, facts::Deadline) -> awaitable<facts::Attach> {
        ++ran;
        co_return cleanScan(pinned.digest);
      });
  std::atomic<int> refused{0};
  Engine engine({scan}, nullptr, limits(5, 512), clock_, [&](std::string_view why) {
    EXPECT_EQ(why, kRefusedPerReview);
    ++refused;
  });
  // A forged review: 70 distinct images on 70 hosts.
  std::vector<std::string> images;
  for (int i = 0; i < 70; ++i) {
    images.push_back("host" + std::to_string(i) + ".example/shop/web@" + kDigest);
  }
  auto out = review(engine, podReview(images), scanPolicy());
  EXPECT_EQ(ran, 5);
  EXPECT_EQ(refused, 65);
  // Never a pass: the rest are "could not check" under the policy's mode (Enforce denies).
  EXPECT_EQ(out.decision, admission::Decision::kDenied);
  EXPECT_THAT(out.message, HasSubstr("not looked up: the request names more than 5 images"));
}

TEST_F(EngineTest, LookupsInFlightAreBoundedAcrossReviews) {
  auto release = std::make_shared<net::Flight<bool>>();
  auto ended = std::make_shared<std::atomic<int>>(0);
  auto scan = std::make_shared<FakeSource>(
      "scan",
      [release, ended](imageref::Reference pinned, facts::Deadline) -> awaitable<facts::Attach> {
        co_await release->wait();  // a registry that answers only when the test says so
        ++*ended;
        co_return cleanScan(pinned.digest);
      });
  std::vector<std::string> refused;
  std::mutex mu;
  Engine engine({scan}, nullptr, limits(64, 2), clock_, [&](std::string_view why) {
    std::lock_guard lock(mu);
    refused.emplace_back(why);
  });
  const std::string two = podReview({"a.example/x/y@" + kDigest, "b.example/x/y@" + kDigest});
  // Cut at its deadline, the first review's two lookups still run: they hold both places.
  auto first = review(engine, two, scanPolicy(), 100ms);
  EXPECT_THAT(first.message, HasSubstr("did not finish within the review deadline"));
  auto second = review(engine, podReview({"c.example/x/y@" + kDigest}), scanPolicy());
  EXPECT_EQ(second.decision, admission::Decision::kDenied);
  EXPECT_THAT(second.message, HasSubstr("2 image lookups are under way in this replica"));
  EXPECT_EQ(refused, std::vector<std::string>{std::string(kRefusedInFlight)});

  release->finish(true);  // the slow lookups end; their places are free again
  for (int i = 0; i < 1000 && engine.imageLookupsInFlight() > 0; ++i) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(*ended, 2);
  ASSERT_EQ(engine.imageLookupsInFlight(), 0U);
  auto third = review(engine, podReview({"c.example/x/y@" + kDigest}), scanPolicy());
  EXPECT_EQ(third.decision, admission::Decision::kAllowed) << third.message;
  EXPECT_EQ(refused.size(), 1U);
}

TEST_F(EngineTest, AReviewWhoseFactsAreCachedRunsNoLookup) {
  std::atomic<int> ran{0};
  auto scan = std::make_shared<FakeSource>(
      "scan", [&](imageref::Reference, facts::Deadline) -> awaitable<facts::Attach> {
        ++ran;
        co_return facts::Attach([](policy::ImageUse&) {});
      });
  std::vector<std::string> cacheAsked;
  scan->cache = [&](const imageref::Reference& pinned) -> std::optional<facts::Attach> {
    cacheAsked.push_back(pinned.digest);
    return cleanScan(pinned.digest);
  };
  auto resolver = std::make_shared<FakeResolver>(unavailable("never asked"));
  resolver->cachedAnswer = StatusOr<std::string>(kDigest);
  Engine engine({scan}, resolver, {}, clock_);
  auto out = review(engine, podReview({"harbor.example.com/shop/web:1.4"}), scanPolicy());
  EXPECT_EQ(out.decision, admission::Decision::kAllowed) << out.message;
  EXPECT_EQ(ran, 0) << "nothing to look up";
  EXPECT_EQ(resolver->calls, 0) << "the cached digest was used";
  EXPECT_EQ(cacheAsked, std::vector<std::string>{kDigest}) << "the cache was asked for the digest";
  EXPECT_EQ(out.request.images[0].resolvedDigest, kDigest);
}

TEST_F(EngineTest, DryRunsAndInspectionReachTheSources) {
  auto scan = std::make_shared<FakeSource>(
      "scan", [](imageref::Reference pinned, facts::Deadline) -> awaitable<facts::Attach> {
        co_return cleanScan(pinned.digest);
      });
  Engine engine({scan}, nullptr, {}, clock_);
  review(engine, podReview({"harbor.example.com/shop/web@" + kDigest}, true), scanPolicy());
  review(engine, podReview({"harbor.example.com/shop/web@" + kDigest}, false), scanPolicy());
  std::vector<policy::ImageUse> uses(1);
  uses[0].image = "harbor.example.com/shop/web@" + kDigest;
  runOn(io_.ioc(), engine.gather(uses, "shop", scanPolicy(), in(5s),
                                 {.dryRun = false, .inspect = true, .knownDigests = {}}));
  ASSERT_EQ(scan->queries.size(), 3u);
  EXPECT_TRUE(scan->queries[0].dryRun);
  EXPECT_FALSE(scan->queries[1].dryRun);
  EXPECT_TRUE(scan->queries[2].inspect);
}

TEST_F(EngineTest, EachDistinctImageIsPlannedOnceAndInvalidationReachesEverySource) {
  auto scan = std::make_shared<FakeSource>(
      "scan", [](imageref::Reference pinned, facts::Deadline) -> awaitable<facts::Attach> {
        co_return cleanScan(pinned.digest);
      });
  Engine engine({scan}, nullptr, {}, clock_);
  const std::string image = "harbor.example.com/shop/web@" + kDigest;
  auto out = review(engine, podReview({image, image, image, "not an image!"}), scanPolicy());
  EXPECT_EQ(scan->queries.size(), 1u) << "one plan per distinct image; no source for a bad one";
  EXPECT_THAT(out.message, HasSubstr("is not a valid image reference"));
  engine.invalidate(kDigest);
  EXPECT_EQ(scan->invalidated, std::vector<std::string>{kDigest});
}

}  // namespace
}  // namespace hm::review
