// The fact source modules cmd/ lists (sources.cpp), built as the engine builds them: on the
// shared clients, each registering its own metric families. (A file of its own: the Harbor
// connection header's connect() confuses Boost 1.74's executor traits in GoogleMock's mocks.)
#include "sources.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "support/mock_clients.h"

namespace hm::cli {
namespace {

using ::testing::IsSupersetOf;

std::set<std::string> familyNames(prometheus::Registry& registry) {
  std::set<std::string> names;
  for (const auto& family : registry.Collect()) {
    names.insert(family.name);
  }
  return names;
}

TEST(SourceModulesTest, ModulesBuildOnTheSharedClientsAndRegisterTheirOwnMetrics) {
  facts::SharedClients clients;
  clients.registry = std::make_shared<::testing::NiceMock<hm::testing::MockRegistryClient>>();
  clients.metrics = std::make_shared<prometheus::Registry>();
  std::vector<std::string> built;
  for (const auto& module : sourceModules()) {
    auto source = module->create(clients);
    ASSERT_TRUE(source.ok()) << source.status().message();
    if (*source != nullptr) {
      built.emplace_back((*source)->name());
    }
  }
  EXPECT_EQ(built, std::vector<std::string>{"signatures"}) << "no scan source without Harbor";

  clients.harbor = std::make_shared<::testing::NiceMock<hm::testing::MockHarborClient>>();
  clients.harborUrl = "https://harbor.example.com";
  clients.harborHosts = {"harbor.example.com"};
  clients.metrics = std::make_shared<prometheus::Registry>();
  built.clear();
  for (const auto& module : sourceModules()) {
    auto source = module->create(clients);
    ASSERT_TRUE(source.ok()) << source.status().message();
    ASSERT_NE(*source, nullptr);
    built.emplace_back((*source)->name());
  }
  EXPECT_EQ(built, (std::vector<std::string>{"scan", "signatures"}));
  EXPECT_THAT(familyNames(*clients.metrics),
              IsSupersetOf({"harbormaster_scan_cache_lookups_total",
                            "harbormaster_harbor_request_duration_seconds",
                            "harbormaster_signature_cache_lookups_total",
                            "harbormaster_signature_lookup_duration_seconds"}));
}

}  // namespace
}  // namespace hm::cli
