#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harbormaster/registry/types.h"

namespace hm::registry {
namespace {

using ::testing::HasSubstr;

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');

std::string imageManifest(const std::string& extra = "") {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         kD1 +
         R"(","size":10},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
         kD2 + R"(","size":20,"annotations":{"a":"b"}}])" + extra + "}";
}

TEST(ManifestTest, ParsesAnImageManifest) {
  auto m = parseManifest(imageManifest(), "");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_FALSE(m->isIndex);
  ASSERT_TRUE(m->config.has_value());
  EXPECT_EQ(m->config->digest, kD1);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].size, 20);
  EXPECT_EQ(m->layers[0].annotations.at("a"), "b");
  EXPECT_EQ(m->body, imageManifest());
}

TEST(ManifestTest, ParsesAnIndexWithPlatformsAndASubject) {
  std::string body =
      R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("digest":")" +
      kD1 +
      R"(","size":5,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}],)"
      R"("subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      kD2 + R"(","size":7}})";
  auto m = parseManifest(body, "application/vnd.oci.image.index.v1+json; charset=utf-8");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_TRUE(m->isIndex);
  EXPECT_EQ(m->mediaType, "application/vnd.oci.image.index.v1+json");
  ASSERT_EQ(m->manifests.size(), 1u);
  EXPECT_EQ(m->manifests[0].platform->architecture, "arm64");
  EXPECT_EQ(m->manifests[0].platform->variant, "v8");
  ASSERT_TRUE(m->subject.has_value());
  EXPECT_EQ(m->subject->digest, kD2);
}

TEST(ManifestTest, RejectsHostileShapes) {
  struct Case {
    std::string body;
    std::string mentions;
  };
  std::vector<Case> cases = {
      {"", "not a JSON object"},
      {"[]", "not a JSON object"},
      {R"({"schemaVersion":1})", "schemaVersion"},
      {R"({"schemaVersion":"2"})", "schemaVersion"},
      {R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})", "config"},
      {R"({"schemaVersion":2,"mediaType":"text/html"})", "is not a manifest or index"},
      {R"({"schemaVersion":2,"mediaType":7})", "mediaType must be a string"},
      {imageManifest().replace(imageManifest().find("\"size\":10"), 9, "\"size\":-1"), "size"},
      {imageManifest().replace(imageManifest().find("\"size\":10"), 9, "\"size\":\"10\""), "size"},
      {imageManifest().replace(imageManifest().find(kD1), kD1.size(), "sha256:abc"), "digest"},
      {R"({"schemaVersion":2,"manifests":{}})", "manifests must be an array"},
      {R"({"schemaVersion":2,"manifests":[7]})", "manifests[0] must be an object"},
      {imageManifest(R"(,"annotations":{"x":1})"), "annotations.x"},
  };
  for (const auto& c : cases) {
    auto m = parseManifest(c.body, "");
    ASSERT_FALSE(m.ok()) << c.body;
    EXPECT_THAT(m.status().message(), HasSubstr(c.mentions)) << c.body;
  }
}

TEST(DigestTest, ComputesAndVerifies) {
  auto d = digestOf("sha256", "");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_TRUE(verifyDigest(*d, "", "empty").ok());
  Status bad = verifyDigest(*d, "x", "blob");
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad.message(), HasSubstr("blob does not match its digest"));
  auto d512 = digestOf("sha512", "abc");
  ASSERT_TRUE(d512.ok());
  EXPECT_EQ(d512->size(), 7u + 128u);
  EXPECT_TRUE(verifyDigest(*d512, "abc", "x").ok());
  EXPECT_FALSE(digestOf("md5", "").ok());
  EXPECT_FALSE(verifyDigest("sha256:zz", "", "x").ok());
}

}  // namespace
}  // namespace hm::registry
