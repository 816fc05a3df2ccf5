// The cluster policy cache's pure parts: a generation that does not load keeps the last valid
// one; the merge with the policy file.
#include "harbormaster/policysource/cluster_policies.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm::policysource {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

json policyObject(int64_t generation, std::string mode) {
  return {{"apiVersion", "harbormaster.io/v1alpha1"},
          {"kind", "ClusterImagePolicy"},
          {"metadata", {{"name", "production"}, {"generation", generation}}},
          {"spec", {{"mode", std::move(mode)}}}};
}

TEST(ObjectStateTest, AnInvalidGenerationKeepsTheLastValidOne) {
  ObjectState state;
  ASSERT_TRUE(update(state, policyObject(1, "Warn"), {}).ok());
  EXPECT_EQ(state.lastValidGeneration, 1);
  Status bad = update(state, policyObject(2, "warn"), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.message(), HasSubstr("spec.mode"));
  EXPECT_EQ(state.lastValidGeneration, 1);
  EXPECT_EQ(state.seenGeneration, 2);
  ASSERT_TRUE(state.lastValid && state.lastValid->policy);
  EXPECT_EQ(state.lastValid->policy->mode, policy::Mode::kWarn);
  EXPECT_THAT(state.error, HasSubstr("spec.mode"));

  ASSERT_TRUE(update(state, policyObject(3, "Audit"), {}).ok());
  EXPECT_EQ(state.lastValidGeneration, 3);
  EXPECT_TRUE(state.error.empty());
}

TEST(MergeTest, FilePoliciesComeFirstAndExceptionsGoToTheirNamespace) {
  auto file = policy::parsePolicies(R"(apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: from-file}
spec: {digest: Require}
)",
                                    "policy.yaml", {.ownNamespace = "hm"});
  ASSERT_TRUE(file.ok()) << file.status().message();
  std::map<std::string, ObjectState> objects;
  ASSERT_TRUE(update(objects["ClusterImagePolicy production"], policyObject(1, "Warn"), {}).ok());
  json ex = {{"apiVersion", "harbormaster.io/v1alpha1"},
             {"kind", "ImageException"},
             {"metadata", {{"name", "tags"}, {"namespace", "shop"}}},
             {"spec",
              {{"policies", {"production"}},
               {"images", {"**"}},
               {"checks", {"digest"}},
               {"expiresAt", "2027-01-01T00:00:00Z"},
               {"reason", "SHOP-1"}}}};
  ASSERT_TRUE(update(objects["ImageException shop/tags"], ex, {}).ok());
  objects["ClusterImagePolicy broken"];  // never loaded: not enforced
  auto labels = std::make_shared<const std::map<std::string, policy::Labels>>(
      std::map<std::string, policy::Labels>{{"shop", {{"env", "prod"}}}});

  policy::PolicySet set = merge(&*file, objects, labels, {.ownNamespace = "hm"});
  std::vector<std::string> names;
  for (const auto& p : set.policies) {
    names.push_back(p.name);
  }
  EXPECT_THAT(names, ElementsAre("from-file", "production"));
  ASSERT_EQ(set.exceptions.at("shop").size(), 1u);
  EXPECT_EQ(policy::labelsOf(set, "shop").at("env"), "prod");
  EXPECT_THAT(set.defaultExcludedNamespaces, ElementsAre("kube-system", "hm"));

  // Without a file, the protected namespaces are the same.
  policy::PolicySet clusterOnly = merge(nullptr, objects, labels, {.ownNamespace = "hm"});
  EXPECT_THAT(clusterOnly.defaultExcludedNamespaces, ElementsAre("kube-system", "hm"));
  EXPECT_EQ(clusterOnly.policies.size(), 1u);
}

TEST(NamespaceLabelsTest, ReadsLabelsAndIgnoresJunk) {
  json ns = {{"metadata", {{"name", "shop"}, {"labels", {{"env", "prod"}, {"bad", 3}}}}}};
  auto [name, labels] = namespaceLabels(ns);
  EXPECT_EQ(name, "shop");
  EXPECT_EQ(labels, (policy::Labels{{"env", "prod"}}));
  EXPECT_TRUE(namespaceLabels(json{{"metadata", {{"name", "x"}}}}).second.empty());
}

}  // namespace
}  // namespace hm::policysource
