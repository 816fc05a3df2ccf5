// The relay's ConfigMap as pure functions: bounded, numbered, read from where a replica left off.
#include "harbormaster/eventrelay/relay.h"

#include <gtest/gtest.h>

namespace hm::eventrelay {
namespace {

using nlohmann::json;

harbor::Invalidation notice(const std::string& digest, const std::string& tag = "") {
  harbor::Invalidation i;
  i.digests = {digest};
  if (!tag.empty()) {
    i.tags = {tag};
  }
  return i;
}

TEST(EventRelayTest, NoticesAreNumberedAndBounded) {
  json cm = withNotice(nullptr, "hm", notice("sha256:1", "shop/web:1"));
  EXPECT_EQ(cm["metadata"]["name"], kConfigMapName);
  EXPECT_EQ(cm["metadata"]["namespace"], "hm");
  Received r = noticesAfter(cm, 0);
  EXPECT_EQ(r.lastSeq, 1);
  ASSERT_EQ(r.notices.size(), 1u);
  EXPECT_EQ(r.notices[0].digests, std::vector<std::string>{"sha256:1"});
  EXPECT_EQ(r.notices[0].tags, std::vector<std::string>{"shop/web:1"});
  for (int i = 2; i <= 100; ++i) {
    cm = withNotice(cm, "hm", notice("sha256:" + std::to_string(i)));
  }
  r = noticesAfter(cm, 0);
  EXPECT_EQ(r.lastSeq, 100);
  EXPECT_EQ(r.notices.size(), kMaxNotices) << "the oldest are dropped";
  EXPECT_EQ(r.notices.front().digests[0], "sha256:" + std::to_string(100 - kMaxNotices + 1));
  EXPECT_LT(cm["data"]["notices"].get<std::string>().size(), 64u * 1024);
}

TEST(EventRelayTest, AReplicaReadsWhatItMissedAndARecreatedConfigMapIsNews) {
  json cm;
  for (int i = 1; i <= 5; ++i) {
    cm = withNotice(cm, "hm", notice("sha256:" + std::to_string(i)));
  }
  Received r = noticesAfter(cm, 3);
  ASSERT_EQ(r.notices.size(), 2u) << "4 and 5, what a broken watch missed";
  EXPECT_EQ(r.notices[0].digests[0], "sha256:4");
  EXPECT_TRUE(noticesAfter(cm, 5).notices.empty());
  // Deleted and made anew: its numbers start again below what the replica saw.
  json fresh = withNotice(nullptr, "hm", notice("sha256:new"));
  r = noticesAfter(fresh, 5);
  ASSERT_EQ(r.notices.size(), 1u);
  EXPECT_EQ(r.notices[0].digests[0], "sha256:new");
  EXPECT_EQ(r.lastSeq, 1);
}

TEST(EventRelayTest, AnythingElseInTheConfigMapIsSkipped) {
  for (const json& cm :
       {json(nullptr), json::array(), json{{"data", 5}}, json{{"data", {{"notices", 5}}}},
        json{{"data", {{"notices", "not json"}}}},
        json{{"data", {{"notices", R"([{"seq":"1"},7,{"seq":2,"digests":[1,"sha256:x"]}])"}}}}}) {
    Received r = noticesAfter(cm, 0);
    for (const auto& n : r.notices) {
      for (const auto& d : n.digests) {
        EXPECT_EQ(d, "sha256:x") << cm;
      }
    }
  }
  // Appending to a malformed one starts a good list.
  json cm = withNotice(json{{"data", {{"notices", "{"}}}}, "hm", notice("sha256:1"));
  EXPECT_EQ(noticesAfter(cm, 0).lastSeq, 1);
}

}  // namespace
}  // namespace hm::eventrelay
