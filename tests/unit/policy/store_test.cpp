#include "harbormaster/policy/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "harbormaster/base/files.h"
#include "support/temp_dir.h"

namespace hm::policy {
namespace {

std::string policyYaml(const std::string& name) {
  return "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: " + name +
         "}\nspec: {mode: Enforce}\n";
}

TEST(PolicyStoreTest, ReloadsChangesAndKeepsTheLastGoodPolicy) {
  hm::testing::TempDir dir;
  dir.write("policy.yaml", policyYaml("first"));
  auto store = PolicyStore::create(dir.file("policy.yaml"), {});
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_EQ((*store)->current()->policies.at(0).name, "first");
  EXPECT_FALSE((*store)->reloadIfChanged().has_value()) << "unchanged file, no reload";

  dir.write("policy.yaml", policyYaml("second"));
  auto ok = (*store)->reloadIfChanged();
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->ok());
  EXPECT_EQ((*store)->current()->policies.at(0).name, "second");

  dir.write("policy.yaml", "spec: [broken");
  auto bad = (*store)->reloadIfChanged();
  ASSERT_TRUE(bad.has_value());
  EXPECT_FALSE(bad->ok());
  EXPECT_EQ((*store)->current()->policies.at(0).name, "second") << "the previous policy stays";
  EXPECT_FALSE((*store)->reloadIfChanged().has_value()) << "the same bad file is reported once";

  // A stray ',' after '---' (yaml-cpp 0.7 loops forever on it): a fast, clear error.
  dir.write("policy.yaml", policyYaml("third") + "---\n,\n");
  auto comma = (*store)->reloadIfChanged();
  ASSERT_TRUE(comma.has_value());
  EXPECT_EQ(comma->code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(comma->message(), ::testing::HasSubstr("document 2, line 6"));
  EXPECT_EQ((*store)->current()->policies.at(0).name, "second");

  std::remove(dir.file("policy.yaml").c_str());
  auto missing = (*store)->reloadIfChanged();
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->code(), StatusCode::kNotFound);
  EXPECT_EQ((*store)->current()->policies.at(0).name, "second");
}

TEST(PolicyStoreTest, AChangedKeyFileReloadsThePolicy) {
  hm::testing::TempDir dir;
  const std::string keys = std::string(HM_SHARED_DIR) + "/sigstore/vectors/legacy-tag/keys/";
  dir.write("cosign.pub", readFile(keys + "cosign.pub", 65536).value());
  dir.write("policy.yaml",
            "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: signed}\n"
            "spec:\n  signatures:\n    tlog: Skip\n    attestors: [{name: ci, keys: [" +
                dir.file("cosign.pub") + "]}]\n");
  auto store = PolicyStore::create(dir.file("policy.yaml"), {});
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto keyOf = [&] { return (*store)->current()->policies.at(0).signatures->attestors[0].keys[0]; };
  EXPECT_EQ(keyOf(), readFile(keys + "cosign.pub", 65536).value());
  EXPECT_FALSE((*store)->reloadIfChanged().has_value());

  // The mounted Secret rotates the key: same policy file, new key.
  dir.write("cosign.pub", readFile(keys + "cosign2.pub", 65536).value());
  auto reloaded = (*store)->reloadIfChanged();
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_TRUE(reloaded->ok()) << reloaded->message();
  EXPECT_EQ(keyOf(), readFile(keys + "cosign2.pub", 65536).value());
  EXPECT_FALSE((*store)->reloadIfChanged().has_value());

  // A key file that goes bad makes the policy "cannot be enforced" (judged under its mode,
  // never skipped); the webhook then says so for every image it selects.
  dir.write("cosign.pub", "not a key");
  auto bad = (*store)->reloadIfChanged();
  ASSERT_TRUE(bad.has_value());
  EXPECT_TRUE(bad->ok()) << bad->message();
  EXPECT_THAT(
      (*store)->current()->policies.at(0).unenforceable,
      ::testing::HasSubstr("keys[0]: " + dir.file("cosign.pub") + " is not a usable public key"));
  // Gone altogether, then back: each is noticed, and the policy is in force again.
  std::filesystem::remove(dir.file("cosign.pub"));
  ASSERT_TRUE((*store)->reloadIfChanged().has_value());
  EXPECT_THAT((*store)->current()->policies.at(0).unenforceable,
              ::testing::HasSubstr("cannot open " + dir.file("cosign.pub")));
  EXPECT_FALSE((*store)->reloadIfChanged().has_value()) << "a missing file is one state";
  dir.write("cosign.pub", readFile(keys + "cosign.pub", 65536).value());
  ASSERT_TRUE((*store)->reloadIfChanged().has_value());
  EXPECT_TRUE((*store)->current()->policies.at(0).unenforceable.empty());
  EXPECT_EQ(keyOf(), readFile(keys + "cosign.pub", 65536).value());
}

TEST(PolicyStoreTest, RefusesToStartWithAnInvalidFile) {
  hm::testing::TempDir dir;
  dir.write("policy.yaml", "apiVersion: nope\n");
  auto store = PolicyStore::create(dir.file("policy.yaml"), {});
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), ::testing::HasSubstr("apiVersion"));
}

}  // namespace
}  // namespace hm::policy
