// The relay's ConfigMap as pure functions: bounded, numbered, read from where a replica left off.
#include "harbormaster/eventrelay/relay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "support/async.h"
#include "support/mock_clients.h"
#include "support/process.h"

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

// A notice published while the previous one is being written is not lost: the publisher looks at
// its queue before it waits (a wake-up that came during the write would otherwise find nobody
// waiting).
TEST(EventRelayTest, ANoticePublishedDuringAWriteIsWrittenToo) {
  namespace asio = boost::asio;
  hm::testing::IoThreads io;
  auto kube = std::make_shared<::testing::NiceMock<hm::testing::MockKubeClient>>();
  std::mutex mu;
  json stored;  // the ConfigMap as the API server holds it
  std::atomic<int> writes{0};
  std::atomic<bool> writing{false};
  ON_CALL(*kube, get(::testing::_, ::testing::_, ::testing::_, ::testing::_))
      .WillByDefault([&](auto, auto, auto, auto) {
        std::lock_guard lock(mu);
        return hm::testing::ready(stored.is_null() ? StatusOr<json>(notFound("none"))
                                                   : StatusOr<json>(stored));
      });
  // Each write takes a while, as over a network.
  auto slowWrite = [&](auto, auto, json cm, auto) -> asio::awaitable<StatusOr<json>> {
    writing = true;
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(200));
    co_await t.async_wait(asio::use_awaitable);
    {
      std::lock_guard lock(mu);
      stored = cm;
    }
    ++writes;
    writing = false;
    co_return cm;
  };
  ON_CALL(*kube, create(::testing::_, ::testing::_, ::testing::_, ::testing::_))
      .WillByDefault(slowWrite);
  ON_CALL(*kube, update(::testing::_, ::testing::_, ::testing::_, ::testing::_))
      .WillByDefault(slowWrite);
  auto strand = asio::make_strand(io.ioc());
  Publisher publisher(strand, kube, "hm");
  asio::co_spawn(strand, publisher.run(), asio::detached);
  publisher.publish(notice("sha256:first"));
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return writing.load(); }));
  publisher.publish(notice("sha256:second"));  // while the first is being written
  ASSERT_TRUE(hm::testing::eventually(5, [&] {
    std::lock_guard lock(mu);
    const Received r = noticesAfter(stored, 0);
    return r.notices.size() == 2;
  })) << writes.load();
  {
    std::lock_guard lock(mu);
    const Received r = noticesAfter(stored, 0);
    EXPECT_EQ(r.notices[0].digests[0], "sha256:first");
    EXPECT_EQ(r.notices[1].digests[0], "sha256:second");
  }
  publisher.stop();
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return !writing.load(); }));
}

}  // namespace
}  // namespace hm::eventrelay
