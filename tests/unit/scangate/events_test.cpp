// Harbor webhook notifications → digests to forget (API-NOTES §7 payloads).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harbormaster/harbor/model.h"

namespace hm::harbor {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

TEST(HarborEventsTest, DefaultFormatScanCompleted) {
  std::string body = R"({"type":"SCANNING_COMPLETED","occur_at":1767312000,"operator":"admin",
    "event_data":{"resources":[{"digest":")" +
                     kDigest + R"(","tag":"v1","resource_url":"harbor.example.com/team-a/app:v1",
    "scan_overview":{"application/vnd.security.vulnerability.report; version=1.1":{"severity":"","summary":null}}}],
    "repository":{"name":"app","namespace":"team-a","repo_full_name":"team-a/app","repo_type":"private"},
    "scan":{"scan_type":"vulnerability"}}})";
  auto d = digestsInvalidatedBy(body);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(*d, std::vector<std::string>{kDigest});
}

TEST(HarborEventsTest, CloudEventsPushAndDelete) {
  for (const char* type :
       {"harbor.artifact.pushed", "harbor.artifact.deleted", "harbor.scan.failed"}) {
    std::string body = std::string(R"({"specversion":"1.0","id":"1","source":"/projects/1",)") +
                       R"("type":")" + type + R"(","datacontenttype":"application/json",)" +
                       R"("data":{"resources":[{"digest":")" + kDigest + R"("}]}})";
    auto d = digestsInvalidatedBy(body);
    ASSERT_TRUE(d.ok()) << type;
    EXPECT_EQ(d->size(), 1u) << type;
  }
}

TEST(HarborEventsTest, OtherEventsInvalidateNothing) {
  auto d = digestsInvalidatedBy(R"({"type":"PULL_ARTIFACT","event_data":{"resources":[]}})");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->empty());
}

TEST(HarborEventsTest, HostileBodiesAreErrorsOrIgnored) {
  for (const char* bad :
       {"", "[]", "{", R"({"type":7})", R"({"event_data":{}})", R"({"type":"PUSH_ARTIFACT"})",
        R"({"type":"PUSH_ARTIFACT","event_data":{"resources":{}}})"}) {
    EXPECT_FALSE(digestsInvalidatedBy(bad).ok()) << bad;
  }
  // Resources without a well-formed digest are skipped, not trusted.
  auto d = digestsInvalidatedBy(
      R"({"type":"PUSH_ARTIFACT","event_data":{"resources":[{"digest":"sha256:short"},{"digest":5},{}]}})");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->empty());
}

}  // namespace
}  // namespace hm::harbor
