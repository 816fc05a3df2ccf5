// The informer against kube-sim: after random writes, dropped watches and a 410 re-list, its
// cache and what its handlers saw both equal the server's state.
#include "harbormaster/kube/informer.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <future>
#include <random>
#include <set>

#include "support/async.h"
#include "support/kube_rig.h"

namespace hm::kube {
namespace {

namespace asio = boost::asio;
using hm::testing::runOn;
using nlohmann::json;

const Resource kConfigMaps{"", "v1", "configmaps"};

Deadline soon() {
  return std::chrono::steady_clock::now() + std::chrono::seconds(10);
}

struct Fixture {
  hm::testing::KubeSimRig rig;
  hm::testing::IoThreads io;
  std::shared_ptr<Client> kube;
  std::mutex mu;
  std::map<std::string, std::string> seen;  // what the handlers say exists: key → data.v
  std::unique_ptr<Informer> informer;
  std::promise<void> finished;
  std::map<std::string, int> resyncs;  // onUpdate with an unchanged object, by key

  int updates = 0;  // onUpdate with a changed object

  explicit Fixture(std::chrono::milliseconds resync = std::chrono::milliseconds(600'000),
                   std::function<json(const json&)> transform = {}) {
    auto config = loadKubeconfig({rig.kubeconfig()}, "");
    auto client = Client::create(io.ioc().get_executor(), *config);
    kube = std::shared_ptr<Client>(std::move(client).value());
    InformerHandlers h;
    h.onAdd = [this](const json& o) { note(o, false); };
    h.onUpdate = [this](const json& old, const json& o) {
      if (old == o) {
        std::lock_guard lock(mu);
        ++resyncs[Informer::keyOf(o)];
      } else {
        std::lock_guard lock(mu);
        ++updates;
      }
      note(o, false);
    };
    h.onDelete = [this](const json& o) { note(o, true); };
    InformerOptions o{kConfigMaps,
                      "default",
                      "",
                      resync,
                      std::chrono::milliseconds(20),
                      std::chrono::milliseconds(200),
                      2,
                      transform,
                      ""};
    informer = std::make_unique<Informer>(kube, o, h);
    asio::co_spawn(
        asio::make_strand(io.ioc()),
        [this]() -> asio::awaitable<void> {
          co_await informer->run();
          finished.set_value();
        },
        asio::detached);
  }
  ~Fixture() {
    informer->stop();
    finished.get_future().wait_for(std::chrono::seconds(5));
  }

  void note(const json& o, bool deleted) {
    std::lock_guard lock(mu);
    std::string key = Informer::keyOf(o);
    if (deleted) {
      seen.erase(key);
    } else {
      seen[key] = o.value("data", json::object()).value("v", "");
    }
  }

  // The server's truth: key → data.v.
  std::map<std::string, std::string> server() {
    auto list = runOn(io.ioc(), kube->list(kConfigMaps, "default", {}, soon()));
    std::map<std::string, std::string> out;
    for (const auto& item : (*list)["items"]) {
      out[Informer::keyOf(item)] = item.value("data", json::object()).value("v", "");
    }
    return out;
  }

  std::map<std::string, std::string> cached() {
    std::map<std::string, std::string> out;
    for (const auto& o : informer->list()) {
      out[Informer::keyOf(o)] = o.value("data", json::object()).value("v", "");
    }
    return out;
  }

  std::map<std::string, std::string> handled() {
    std::lock_guard lock(mu);
    return seen;
  }

  void randomWrites(std::mt19937& rng, int n) {
    for (int i = 0; i < n; ++i) {
      std::string name = "cm-" + std::to_string(rng() % 12);
      std::string v = std::to_string(rng() % 1000);
      auto current = runOn(io.ioc(), kube->get(kConfigMaps, "default", name, soon()));
      if (!current.ok()) {
        json cm = {{"metadata", {{"name", name}}}, {"data", {{"v", v}}}};
        ASSERT_TRUE(runOn(io.ioc(), kube->create(kConfigMaps, "default", cm, soon())).ok());
      } else if (rng() % 3 == 0) {
        ASSERT_TRUE(runOn(io.ioc(), kube->remove(kConfigMaps, "default", name, {}, soon())).ok());
      } else {
        (*current)["data"]["v"] = v;
        ASSERT_TRUE(runOn(io.ioc(), kube->update(kConfigMaps, "default", *current, soon())).ok());
      }
    }
  }
};

// A transform (client-go's SetTransform): the cache and the handlers see only what it keeps,
// and a change to nothing it keeps is no update when its resourceVersion says so.
TEST(InformerTest, ATransformKeepsWhatReadersReadAndHidesOtherChanges) {
  Fixture f(std::chrono::milliseconds(600'000), [](const json& o) {
    const std::string v = o.value("data", json::object()).value("v", "");
    return json{{"metadata",
                 {{"name", o["metadata"]["name"]},
                  {"namespace", o["metadata"]["namespace"]},
                  {"resourceVersion", "v=" + v}}},
                {"data", {{"v", v}}}};
  });
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return f.informer->synced(); }));
  json cm = {{"metadata", {{"name", "big"}}},
             {"data", {{"v", "1"}, {"blob", std::string(4096, 'x')}}}};
  ASSERT_TRUE(runOn(f.io.ioc(), f.kube->create(kConfigMaps, "default", cm, soon())).ok());
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return f.handled()["default/big"] == "1"; }));
  auto cached = f.informer->get("default/big");
  ASSERT_TRUE(cached.has_value());
  EXPECT_FALSE((*cached)["data"].contains("blob"));
  // A change to what the transform drops: no update.
  auto current = runOn(f.io.ioc(), f.kube->get(kConfigMaps, "default", "big", soon()));
  ASSERT_TRUE(current.ok());
  (*current)["data"]["blob"] = std::string(4096, 'y');
  ASSERT_TRUE(runOn(f.io.ioc(), f.kube->update(kConfigMaps, "default", *current, soon())).ok());
  // A change to what it keeps: one update, after the first (the watch delivers in order).
  current = runOn(f.io.ioc(), f.kube->get(kConfigMaps, "default", "big", soon()));
  ASSERT_TRUE(current.ok());
  (*current)["data"]["v"] = "2";
  ASSERT_TRUE(runOn(f.io.ioc(), f.kube->update(kConfigMaps, "default", *current, soon())).ok());
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return f.handled()["default/big"] == "2"; }));
  std::lock_guard lock(f.mu);
  EXPECT_EQ(f.updates, 1);
}

TEST(InformerTest, CacheAndHandlersMatchTheServerAcrossDroppedWatches) {
  Fixture f;
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return f.informer->synced(); }));
  std::mt19937 rng(42);
  f.randomWrites(rng, 20);
  // An index added to a populated cache is filled from it, then kept up to date.
  f.informer->addIndex("v", [](const json& o) {
    return std::vector<std::string>{o.value("data", json::object()).value("v", "")};
  });
  for (int round = 0; round < 4; ++round) {
    f.randomWrites(rng, 40);
    f.rig.control("POST", "/sim/drop-watches");
  }
  auto truth = f.server();
  ASSERT_TRUE(hm::testing::eventually(10, [&] { return f.cached() == truth; }))
      << "cache never caught up";
  EXPECT_EQ(f.handled(), truth) << "a handler saw a phantom or missed a change";
  std::map<std::string, std::set<std::string>> want, got;
  for (const auto& [key, v] : truth) {
    want[v].insert(key);
  }
  for (int v = 0; v < 1000; ++v) {
    for (const auto& o : f.informer->byIndex("v", std::to_string(v))) {
      got[std::to_string(v)].insert(Informer::keyOf(o));
    }
  }
  EXPECT_EQ(got, want) << "the index lists exactly the cached objects with each value";
}

TEST(InformerTest, A410RelistsAndDeletesWhatVanishedMeanwhile) {
  Fixture f;
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return f.informer->synced(); }));
  std::mt19937 rng(7);
  f.randomWrites(rng, 20);
  ASSERT_TRUE(hm::testing::eventually(10, [&] { return f.cached() == f.server(); }));
  // Watches and lists fail while more changes than the history holds go by; the informer's
  // next watch is then from a version the server no longer has.
  f.rig.control("POST", "/sim/faults", R"({"method":"GET","status":500,"count":-1})");
  f.rig.control("POST", "/sim/drop-watches");
  for (int i = 0; i < 6; ++i) {
    std::string name = "cm-" + std::to_string(i);
    (void)runOn(f.io.ioc(), f.kube->remove(kConfigMaps, "default", name, {}, soon()));
  }
  for (int i = 0; i < 1100; ++i) {  // past the server's 1000-event history
    json cm = {{"metadata", {{"name", "churn"}}}};
    ASSERT_TRUE(runOn(f.io.ioc(), f.kube->create(kConfigMaps, "default", cm, soon())).ok());
    ASSERT_TRUE(
        runOn(f.io.ioc(), f.kube->remove(kConfigMaps, "default", "churn", {}, soon())).ok());
  }
  f.rig.control("DELETE", "/sim/faults");
  auto truth = f.server();
  ASSERT_TRUE(hm::testing::eventually(15, [&] { return f.cached() == truth; }));
  EXPECT_EQ(f.handled(), truth) << "vanished objects got their synthetic deletes";
}

TEST(InformerTest, ResyncRedeliversEveryCachedObject) {
  Fixture f(std::chrono::milliseconds(100));
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return f.informer->synced(); }));
  for (const char* name : {"a", "b"}) {
    json cm = {{"metadata", {{"name", name}}}, {"data", {{"v", "1"}}}};
    ASSERT_TRUE(runOn(f.io.ioc(), f.kube->create(kConfigMaps, "default", cm, soon())).ok());
  }
  ASSERT_TRUE(hm::testing::eventually(10, [&] {
    std::lock_guard lock(f.mu);
    return f.resyncs["default/a"] >= 3 && f.resyncs["default/b"] >= 3;
  })) << "each cached object comes back as onUpdate(obj, obj) every period";
  EXPECT_EQ(f.handled(), f.server());
}

}  // namespace
}  // namespace hm::kube
