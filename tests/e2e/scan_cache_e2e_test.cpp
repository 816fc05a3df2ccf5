// ScanGate's cache against harbor-sim: bounded, invalidated by digest, failures never cached.
#include "harbormaster/scangate/scan_gate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harbormaster/harbor/client.h"
#include "support/async.h"
#include "support/registry_rig.h"

namespace hm::scangate {
namespace {

using hm::testing::runOn;

Deadline soon() {
  return std::chrono::steady_clock::now() + std::chrono::seconds(10);
}

class ScanGateCacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rig_ = new hm::testing::HarborRig();
    rig_->createProject("shop");
    layout_ = new hm::testing::OciLayout();
    for (const char* name : {"a", "b"}) {
      auto img = layout_->addImage(name, std::string("cache ") + name);
      layout_->push(name, rig_->host() + "/shop/" + name + ":1", false,
                    "admin:" + rig_->adminPassword());
      rig_->setScan(R"({"digest":")" + img.digest + R"(","status":"Success"})");
      refs_.push_back(*imageref::parse(rig_->host() + "/shop/" + name + "@" + img.digest));
    }
  }
  static void TearDownTestSuite() {
    delete layout_;
    delete rig_;
  }

  std::unique_ptr<ScanGate> gate(CacheOptions cache) {
    auto http = net::HttpClient::create(io_.ioc().get_executor(), {});
    EXPECT_TRUE(http.ok());
    const std::string url = "http://" + rig_->host();
    auto harbor = harbor::Client::create(
        std::shared_ptr<net::HttpClient>(std::move(*http)),
        harbor::HarborOptions{url, "admin", rig_->adminPassword(), 0, nullptr});
    auto g = ScanGate::create(harbor, {url, {}}, cache);
    EXPECT_TRUE(g.ok());
    return std::move(*g);
  }

  // GETs of the artifact itself (not its additions) since the last reset.
  int artifactCalls(const imageref::Reference& ref) {
    auto stats = nlohmann::json::parse(rig_->control("GET", "/sim/stats"))["requests"];
    return stats.value("GET /api/v2.0/projects/shop/repositories/" + ref.repository.substr(5) +
                           "/artifacts/sha256%3A" + ref.digest.substr(7),
                       0);
  }

  static hm::testing::HarborRig* rig_;
  static hm::testing::OciLayout* layout_;
  static std::vector<imageref::Reference> refs_;
  hm::testing::IoThreads io_;
};

hm::testing::HarborRig* ScanGateCacheTest::rig_ = nullptr;
hm::testing::OciLayout* ScanGateCacheTest::layout_ = nullptr;
std::vector<imageref::Reference> ScanGateCacheTest::refs_;

TEST_F(ScanGateCacheTest, KeepsAtMostMaxEntries) {
  auto g = gate({.maxEntries = 1});
  rig_->control("DELETE", "/sim/stats");
  runOn(io_.ioc(), g->facts(refs_[0], false, soon()));
  runOn(io_.ioc(), g->facts(refs_[0], false, soon()));
  EXPECT_EQ(artifactCalls(refs_[0]), 1) << "the second lookup is a hit";
  runOn(io_.ioc(), g->facts(refs_[1], false, soon()));  // evicts a
  runOn(io_.ioc(), g->facts(refs_[0], false, soon()));
  EXPECT_EQ(artifactCalls(refs_[0]), 2) << "a was evicted by b";
}

TEST_F(ScanGateCacheTest, InvalidateForgetsADigest) {
  auto g = gate({});
  rig_->control("DELETE", "/sim/stats");
  runOn(io_.ioc(), g->facts(refs_[1], false, soon()));
  g->invalidate(refs_[1].digest);
  auto facts = runOn(io_.ioc(), g->facts(refs_[1], false, soon()));
  EXPECT_EQ(artifactCalls(refs_[1]), 2);
  EXPECT_EQ(facts->source, policy::ScanFacts::Source::kHarbor);
  ASSERT_EQ(facts->artifacts.size(), 1u);
  EXPECT_EQ(facts->artifacts[0].state, policy::ScanState::kSuccess);
}

TEST_F(ScanGateCacheTest, FailuresAreNotCached) {
  auto g = gate({});
  rig_->control("POST", "/sim/faults",
                R"({"path_prefix":"/api/v2.0/projects/shop","status":500,"count":-1})");
  auto down = runOn(io_.ioc(), g->facts(refs_[0], false, soon()));
  rig_->control("DELETE", "/sim/faults");
  EXPECT_EQ(down->source, policy::ScanFacts::Source::kUnreachable);
  EXPECT_THAT(down->error, ::testing::HasSubstr("HTTP 500"));
  auto up = runOn(io_.ioc(), g->facts(refs_[0], false, soon()));
  EXPECT_EQ(up->source, policy::ScanFacts::Source::kHarbor) << "the outage was not remembered";
}

TEST_F(ScanGateCacheTest, ImagesOutsideAProjectAreNotFound) {
  auto g = gate({});
  auto ref = imageref::parse(rig_->host() + "/lonely@sha256:" + std::string(64, 'c'));
  ASSERT_TRUE(ref.ok());
  auto facts = runOn(io_.ioc(), g->facts(*ref, false, soon()));
  EXPECT_EQ(facts->source, policy::ScanFacts::Source::kNotFound);
  EXPECT_THAT(facts->error, ::testing::HasSubstr("has no project"));
}

}  // namespace
}  // namespace hm::scangate
