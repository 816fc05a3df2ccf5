// The shared loop with controllers that register themselves (manager.h): informers shared per
// kind, For/Owns/Watches mapped to keys, the full pass on leading, runnables' caches. Kubernetes
// is a mock whose watches stream what the test feeds them.
#include "manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <mutex>

#include "harborproject/reconciler.h"
#include "policystatus/reconciler.h"
#include "robotaccount/reconciler.h"
#include "support/async.h"
#include "support/mock_clients.h"
#include "support/process.h"

namespace hm::op {
namespace {

using hm::testing::MockKubeClient;
using hm::testing::ready;
using hm::testing::runOn;
using nlohmann::json;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::NiceMock;
using ::testing::UnorderedElementsAre;

const kube::Resource kWidgets{"example.io", "v1", "widgets", false};
const kube::Resource kGadgets{"example.io", "v1", "gadgets", false};

json object(const std::string& name, const std::string& rv, json labels = json::object(),
            json spec = json::object()) {
  return {{"metadata", {{"name", name}, {"resourceVersion", rv}, {"labels", labels}}},
          {"spec", spec}};
}

// What the API server holds and streams, per resource.
struct Cluster {
  std::mutex mu;
  std::map<std::string, std::vector<json>> objects;
  std::map<std::string, std::deque<kube::WatchEvent>> pending;
  std::map<std::string, int> lists;
  std::atomic<bool> closed{false};

  void feed(const kube::Resource& r, std::string type, json o) {
    std::lock_guard lock(mu);
    pending[r.resource].push_back({std::move(type), std::move(o)});
  }
  int listsOf(const kube::Resource& r) {
    std::lock_guard lock(mu);
    return lists[r.resource];
  }
};

// A watch that streams the fed events until the test ends (a poll every few ms: the feed is
// the test's, not a server's).
boost::asio::awaitable<Status> streamFeed(Cluster* cluster, std::string resource,
                                          std::function<bool(const kube::WatchEvent&)> onEvent) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  while (!cluster->closed) {
    std::deque<kube::WatchEvent> events;
    {
      std::lock_guard lock(cluster->mu);
      events.swap(cluster->pending[resource]);
    }
    for (const auto& e : events) {
      if (!onEvent(e)) {
        co_return okStatus();
      }
    }
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
  co_return okStatus();
}

boost::asio::awaitable<bool> shutDown(Operator* op) {
  co_await op->shutdown();
  co_return true;
}

class RecordingReconciler final : public Reconciler {
 public:
  boost::asio::awaitable<Result> reconcile(std::string key) override {
    std::lock_guard lock(mu_);
    keys_.push_back(std::move(key));
    co_return Result::done();
  }
  std::vector<std::string> keys() {
    std::lock_guard lock(mu_);
    return keys_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    keys_.clear();
  }

 private:
  std::mutex mu_;
  std::vector<std::string> keys_;
};

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ON_CALL(*kube_, list(_, _, _, _)).WillByDefault([this](kube::Resource r, auto, auto, auto) {
      std::lock_guard lock(cluster_.mu);
      ++cluster_.lists[r.resource];
      json items = cluster_.objects[r.resource];
      return ready(
          StatusOr<json>(json{{"items", items}, {"metadata", {{"resourceVersion", "1"}}}}));
    });
    ON_CALL(*kube_, watch(_, _, _, _, _))
        .WillByDefault([this](kube::Resource r, auto, auto, auto onEvent, auto) {
          return streamFeed(&cluster_, r.resource, std::move(onEvent));
        });
    options_.leaderElect = false;
  }
  void TearDown() override {
    if (op_ != nullptr) {
      EXPECT_TRUE(runOn(io_.ioc(), shutDown(op_.get())));
    }
    cluster_.closed = true;
    io_.stop();
  }

  void start(std::vector<ControllerSetup> setups) {
    op_ = std::make_unique<Operator>(kube_, nullptr, metrics_, options_, std::move(setups));
    boost::asio::co_spawn(boost::asio::make_strand(io_.ioc()), op_->run(), boost::asio::detached);
  }

  hm::testing::IoThreads io_;
  Cluster cluster_;
  std::shared_ptr<NiceMock<MockKubeClient>> kube_ = std::make_shared<NiceMock<MockKubeClient>>();
  std::shared_ptr<metrics::Registry> metrics_ = std::make_shared<metrics::Registry>();
  OperatorOptions options_;
  std::unique_ptr<Operator> op_;
};

TEST_F(ManagerTest, ControllersShareOneInformerPerKindAndEachGetsItsOwnKeys) {
  cluster_.objects["widgets"] = {object("w1", "1", json::object(), {{"gadget", "g1"}}),
                                 object("w2", "1", json::object(), {{"gadget", "g2"}})};
  cluster_.objects["gadgets"] = {object("g1", "1"), object("g2", "1")};
  auto widgets = std::make_shared<RecordingReconciler>();
  auto gadgets = std::make_shared<RecordingReconciler>();
  // "widget" reconciles widgets and is brought back by a change to the gadget a widget names;
  // "gadget" reconciles gadgets and reads widgets' cache through an index.
  auto widgetSetup = [widgets](Manager& mgr) {
    auto cache = mgr.informer(kWidgets);
    mgr.addIndex(kWidgets, "gadget", [](const json& o) {
      return std::vector<std::string>{o["spec"].value("gadget", "")};
    });
    mgr.controller("widget")
        .forResource(kWidgets)
        .watches(kGadgets,
                 [cache](const json& g) {
                   std::vector<std::string> keys;
                   for (const auto& w : cache->byIndex("gadget", g["metadata"].value("name", ""))) {
                     keys.push_back(w["metadata"].value("name", ""));
                   }
                   return keys;
                 })
        .complete(widgets);
  };
  auto gadgetSetup = [gadgets](Manager& mgr) {
    mgr.informer(kWidgets);  // read, not watched: the same informer
    mgr.controller("gadget").forResource(kGadgets).complete(gadgets);
  };
  EXPECT_FALSE(Operator(kube_, nullptr, metrics_, options_, {}).ready()) << "not before run";
  start({widgetSetup, gadgetSetup});

  // The full pass on leading: each controller its own kind.
  ASSERT_TRUE(hm::testing::eventually(
      10, [&] { return widgets->keys().size() == 2 && gadgets->keys().size() == 2; }));
  EXPECT_THAT(widgets->keys(), UnorderedElementsAre("w1", "w2"));
  EXPECT_THAT(gadgets->keys(), UnorderedElementsAre("g1", "g2"));
  EXPECT_TRUE(op_->ready());
  EXPECT_TRUE(op_->leading());
  EXPECT_EQ(cluster_.listsOf(kWidgets), 1) << "one informer however many controllers read it";
  EXPECT_EQ(cluster_.listsOf(kGadgets), 1);
  // The loop's controller-runtime metrics, per controller, on the process's registry.
  // (Counted once the reconcile has returned: a moment after the reconciler saw the key.)
  ASSERT_TRUE(hm::testing::eventually(10, [&] {
    return metrics_->serialize().find(
               "controller_runtime_reconcile_total{controller=\"gadget\","
               "result=\"success\"} 2") != std::string::npos;
  }));
  const std::string text = metrics_->serialize();
  EXPECT_THAT(text, HasSubstr("workqueue_adds_total{name=\"widget\"}"));
  EXPECT_THAT(text, HasSubstr("harbormaster_operator_leader 1"));

  // A gadget changes: the widget that names it, and the gadget itself.
  widgets->clear();
  gadgets->clear();
  cluster_.feed(kGadgets, "MODIFIED", object("g2", "2"));
  ASSERT_TRUE(hm::testing::eventually(
      10, [&] { return !widgets->keys().empty() && !gadgets->keys().empty(); }));
  EXPECT_THAT(widgets->keys(), ElementsAre("w2"));
  EXPECT_THAT(gadgets->keys(), ElementsAre("g2"));
}

TEST_F(ManagerTest, OwnedObjectsBringTheirOwnerBackOnChangeAndDeletionOnly) {
  cluster_.objects["widgets"] = {object("w1", "1")};
  auto widgets = std::make_shared<RecordingReconciler>();
  start({[widgets](Manager& mgr) {
    mgr.controller("widget")
        .forResource(kWidgets)
        .owns(kGadgets, "owned=yes",
              [](const json& g) {
                return std::vector<std::string>{g["metadata"]["labels"].value("owner", "")};
              })
        .complete(widgets);
  }});
  ASSERT_TRUE(hm::testing::eventually(10, [&] { return widgets->keys().size() == 1; }));
  widgets->clear();

  const json owned = object("g1", "5", {{"owner", "w1"}, {"owned", "yes"}});
  cluster_.feed(kGadgets, "ADDED", owned);  // the controller's own write
  cluster_.feed(kWidgets, "MODIFIED", object("w1", "2"));
  ASSERT_TRUE(hm::testing::eventually(10, [&] { return widgets->keys().size() == 1; }));
  widgets->clear();
  cluster_.feed(kGadgets, "MODIFIED", object("g1", "6", {{"owner", "w1"}, {"owned", "yes"}}));
  ASSERT_TRUE(hm::testing::eventually(10, [&] { return widgets->keys().size() == 1; }));
  widgets->clear();
  cluster_.feed(kGadgets, "DELETED", object("g1", "7", {{"owner", "w1"}, {"owned", "yes"}}));
  ASSERT_TRUE(hm::testing::eventually(10, [&] { return widgets->keys().size() == 1; }));
  EXPECT_THAT(widgets->keys(), ElementsAre("w1"));
  EXPECT_EQ(cluster_.listsOf(kGadgets), 1);
}

TEST_F(ManagerTest, ARunnablesCacheGatesLeadingOnlyWhenNoInformerDoes) {
  auto keys = std::make_shared<RecordingReconciler>();
  auto synced = std::make_shared<std::atomic<bool>>(false);
  // Set on the operator's strand, read here: the queue lives as long as its controller.
  auto queue = std::make_shared<std::atomic<ControllerQueue*>>(nullptr);
  start({[keys, synced, queue](Manager& mgr) {
    Runnable cache;
    cache.name = "cache";
    cache.run = []() -> boost::asio::awaitable<void> { co_return; };
    cache.synced = [synced] { return synced->load(); };
    cache.waitForSync = [synced]() -> boost::asio::awaitable<bool> {
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
      while (!*synced) {
        t.expires_after(std::chrono::milliseconds(5));
        co_await t.async_wait(boost::asio::use_awaitable);
      }
      co_return true;
    };
    mgr.add(std::move(cache));
    auto b = mgr.controller("cached");
    *queue = b.queue().get();
    b.onLeading([] { return std::vector<std::string>{"a", "b"}; }).complete(keys);
  }});
  ASSERT_TRUE(hm::testing::eventually(10, [&] { return queue->load() != nullptr; }));
  queue->load()->add("early");  // not leading yet: dropped, the full pass covers it
  EXPECT_FALSE(op_->ready());
  EXPECT_FALSE(op_->leading());
  *synced = true;
  ASSERT_TRUE(hm::testing::eventually(10, [&] { return keys->keys().size() == 2; }));
  EXPECT_THAT(keys->keys(), UnorderedElementsAre("a", "b"));
  EXPECT_TRUE(op_->ready());
  queue->load()->add("later");
  ASSERT_TRUE(hm::testing::eventually(10, [&] { return keys->keys().size() == 3; }));
  EXPECT_EQ(keys->keys().back(), "later");
}

TEST_F(ManagerTest, WithoutHarborTheHarborControllersRegisterNothing) {
  // The real setups: with no Harbor client only policy status would run, and it is off.
  options_.policyStatus = false;
  start({harborproject::setup, robotaccount::setup, policystatus::setup});
  ASSERT_TRUE(hm::testing::eventually(10, [&] { return op_->leading(); }));
  std::lock_guard lock(cluster_.mu);
  EXPECT_THAT(cluster_.lists, IsEmpty());
}

}  // namespace
}  // namespace hm::op
