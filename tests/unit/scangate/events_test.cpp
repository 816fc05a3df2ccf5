// Harbor webhook notifications → digests to forget (API-NOTES §7 payloads).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tuple>

#include "harbormaster/harbor/model.h"

namespace hm::harbor {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

StatusOr<std::vector<std::string>> digestsOf(std::string_view body) {
  auto found = invalidationOf(body);
  if (!found.ok()) {
    return found.status();
  }
  return found->digests;
}

TEST(HarborEventsTest, DefaultFormatScanCompleted) {
  std::string body = R"({"type":"SCANNING_COMPLETED","occur_at":1767312000,"operator":"admin",
    "event_data":{"resources":[{"digest":")" +
                     kDigest + R"(","tag":"v1","resource_url":"harbor.example.com/team-a/app:v1",
    "scan_overview":{"application/vnd.security.vulnerability.report; version=1.1":{"severity":"","summary":null}}}],
    "repository":{"name":"app","namespace":"team-a","repo_full_name":"team-a/app","repo_type":"private"},
    "scan":{"scan_type":"vulnerability"}}})";
  auto d = digestsOf(body);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(*d, std::vector<std::string>{kDigest});
}

TEST(HarborEventsTest, CloudEventsPushAndDelete) {
  for (const char* type :
       {"harbor.artifact.pushed", "harbor.artifact.deleted", "harbor.scan.failed"}) {
    std::string body = std::string(R"({"specversion":"1.0","id":"1","source":"/projects/1",)") +
                       R"("type":")" + type + R"(","datacontenttype":"application/json",)" +
                       R"("data":{"resources":[{"digest":")" + kDigest + R"("}]}})";
    auto d = digestsOf(body);
    ASSERT_TRUE(d.ok()) << type;
    EXPECT_EQ(d->size(), 1u) << type;
  }
}

TEST(HarborEventsTest, OtherEventsInvalidateNothing) {
  auto d = digestsOf(R"({"type":"PULL_ARTIFACT","event_data":{"resources":[]}})");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->empty());
}

TEST(HarborEventsTest, HostileBodiesAreErrorsOrIgnored) {
  for (const char* bad :
       {"", "[]", "{", R"({"type":7})", R"({"event_data":{}})", R"({"type":"PUSH_ARTIFACT"})",
        R"({"type":"PUSH_ARTIFACT","event_data":{"resources":{}}})"}) {
    EXPECT_FALSE(digestsOf(bad).ok()) << bad;
  }
  // Resources without a well-formed digest are skipped, not trusted.
  auto d = digestsOf(
      R"({"type":"PUSH_ARTIFACT","event_data":{"resources":[{"digest":"sha256:short"},{"digest":5},{}]}})");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->empty());
}

// A push moves a tag: its resolution is stale too. A push by digest names the digest as "tag" and
// moves none; a scan never moves one; a repository or tag that is no such name is not trusted.
TEST(HarborEventsTest, PushesAndDeletionsNameTheTagsTheyMoved) {
  auto event = [](const std::string& type, const std::string& tag, const std::string& repo) {
    return R"({"type":")" + type + R"(","event_data":{"resources":[{"digest":")" + kDigest +
           R"(","tag":")" + tag + R"("}],"repository":{"repo_full_name":")" + repo + R"("}}})";
  };
  auto pushed = invalidationOf(event("PUSH_ARTIFACT", "v1", "team-a/app"));
  ASSERT_TRUE(pushed.ok());
  EXPECT_EQ(pushed->digests, std::vector<std::string>{kDigest});
  EXPECT_EQ(pushed->tags, std::vector<std::string>{"team-a/app:v1"});
  auto deleted = invalidationOf(event("DELETE_ARTIFACT", "release-2.1_x", "team-a/sub/app"));
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->tags, std::vector<std::string>{"team-a/sub/app:release-2.1_x"});
  for (const auto& [type, tag, repo] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"PUSH_ARTIFACT", kDigest, "team-a/app"},
           {"SCANNING_COMPLETED", "v1", "team-a/app"},
           {"PUSH_ARTIFACT", "v1", "app"},
           {"PUSH_ARTIFACT", "v1", "Team-A/app"},
           {"PUSH_ARTIFACT", "v1", "team-a//app"},
           {"PUSH_ARTIFACT", ".v1", "team-a/app"},
           {"PUSH_ARTIFACT", std::string(129, 'a'), "team-a/app"}}) {
    auto found = invalidationOf(event(type, tag, repo));
    ASSERT_TRUE(found.ok()) << type << " " << tag << " " << repo;
    EXPECT_TRUE(found->tags.empty()) << type << " " << tag << " " << repo;
    EXPECT_EQ(found->digests.size(), 1u) << "the digest still counts";
  }
}

}  // namespace
}  // namespace hm::harbor
