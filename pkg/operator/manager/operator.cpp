// The shared loop: informers shared between controllers, one work queue per controller, leader
// election and its fences, metrics, and the shutdown order. Controllers come from their own
// folders' setup(Manager&) (manager.h); nothing here names one.
#include "manager.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <stdexcept>
#include "controller_metrics.h"
#include "harbormaster/base/log.h"
#include "harbormaster/kube/leader_election.h"
#include "harbormaster/kube/work_queue.h"
#include "harbormaster/net/task_group.h"

namespace hm::op {

namespace asio = boost::asio;
using asio::awaitable;
using nlohmann::json;

namespace {

// A controller's queue as its setup sees it: bound to the controller when complete() registers
// it, and dropping keys while this replica does not lead.
class BoundQueue final : public ControllerQueue {
 public:
  void add(const std::string& key) override {
    if (target_ != nullptr) {
      target_(key);
    }
  }
  void addAll() override {
    if (all_ != nullptr) {
      all_();
    }
  }
  void bind(std::function<void(const std::string&)> target, std::function<void()> all) {
    target_ = std::move(target);
    all_ = std::move(all);
  }

 private:
  std::function<void(const std::string&)> target_;
  std::function<void()> all_;
};

}  // namespace

struct ControllerBuilder::Spec {
  struct Watch {
    kube::Resource resource;
    std::string labelSelector;
    MapFunc map;
    WatchEvents events;
  };
  std::string name;
  std::optional<kube::Resource> forKind;
  std::vector<Watch> watches;
  std::function<std::vector<std::string>()> leadingKeys;
  int workers = 0;
  std::shared_ptr<Reconciler> reconciler;
  std::shared_ptr<BoundQueue> queue = std::make_shared<BoundQueue>();
};

ControllerBuilder::ControllerBuilder(Manager& manager, std::string name)
    : manager_(manager), spec_(std::make_shared<Spec>()) {
  spec_->name = std::move(name);
}

ControllerBuilder& ControllerBuilder::forResource(const kube::Resource& r) {
  spec_->forKind = r;
  return *this;
}

ControllerBuilder& ControllerBuilder::owns(const kube::Resource& r,
                                           const std::string& labelSelector, MapFunc owner) {
  WatchEvents events;
  events.add = false;
  return watches(r, std::move(owner), events, labelSelector);
}

ControllerBuilder& ControllerBuilder::watches(const kube::Resource& r, MapFunc map,
                                              WatchEvents events,
                                              const std::string& labelSelector) {
  spec_->watches.push_back({r, labelSelector, std::move(map), events});
  return *this;
}

ControllerBuilder& ControllerBuilder::onLeading(std::function<std::vector<std::string>()> keys) {
  spec_->leadingKeys = std::move(keys);
  return *this;
}

ControllerBuilder& ControllerBuilder::workers(int n) {
  spec_->workers = n;
  return *this;
}

std::shared_ptr<ControllerQueue> ControllerBuilder::queue() const {
  return spec_->queue;
}

void ControllerBuilder::complete(std::shared_ptr<Reconciler> reconciler) {
  spec_->reconciler = std::move(reconciler);
  manager_.addController(spec_);
}

struct Operator::State final : Manager {
  Context ctx;
  std::shared_ptr<hm::metrics::Registry> registry;
  std::shared_ptr<ControllerMetrics> loopMetrics;
  std::unique_ptr<kube::LeaderElector> elector;
  std::atomic<bool> leading{false};
  std::atomic<bool> stopping{false};
  // Set once every setup ran: from then on the informers, runnables and controllers are fixed,
  // and readiness (asked from the ops listener's thread) may read them.
  std::atomic<bool> setUp{false};
  // Closed when shutdown's grace is over (ctx.runFence).
  std::shared_ptr<kube::LeaseFence> runFence = kube::LeaseFence::open();

  // One informer per kind and label selector, its events fanned out to every controller that
  // reads them. All handlers are added before the informer runs, so the list needs no lock.
  struct SharedInformer {
    kube::Resource resource;
    std::string labelSelector;
    std::shared_ptr<kube::Informer> informer;
    std::vector<kube::InformerHandlers> handlers;
    std::set<std::string> indexes;
  };
  std::vector<std::unique_ptr<SharedInformer>> informers;
  std::vector<Runnable> runnables;
  // By "group/version/resource": what the kind's informers keep (Manager::transform).
  std::map<std::string, std::function<json(const json&)>> transforms;

  static std::string kindKey(const kube::Resource& r) {
    return r.group + "/" + r.version + "/" + r.resource;
  }

  // One controller: its reconciler behind its own queue.
  struct Controller {
    std::shared_ptr<ControllerBuilder::Spec> spec;
    std::shared_ptr<kube::WorkQueue> queue;
    std::atomic<int> active{0};
    const std::string& name() const { return spec->name; }
  };
  std::vector<std::unique_ptr<Controller>> controllers;
  asio::any_io_executor executor;

  Context& context() override { return ctx; }
  hm::metrics::Registry& metricsRegistry() override { return *registry; }

  SharedInformer& shared(const kube::Resource& r, const std::string& labelSelector) {
    for (auto& s : informers) {
      if (s->resource.group == r.group && s->resource.version == r.version &&
          s->resource.resource == r.resource && s->labelSelector == labelSelector) {
        return *s;
      }
    }
    auto s = std::make_unique<SharedInformer>();
    s->resource = r;
    s->labelSelector = labelSelector;
    kube::InformerOptions o;
    o.resource = r;
    o.labelSelector = labelSelector;
    o.resync = ctx.options.resync;
    if (auto t = transforms.find(kindKey(r)); t != transforms.end()) {
      o.transform = t->second;
    }
    // Handlers and the queues' process function use plain pointers: the State outlives them,
    // because Operator holds it while the io_context runs. (A handler that locked a weak
    // pointer could end up the last owner and destroy the informer it is running in.)
    SharedInformer* self = s.get();
    kube::InformerHandlers fan;
    fan.onAdd = [self](const json& o) {
      for (const auto& h : self->handlers) {
        if (h.onAdd) {
          h.onAdd(o);
        }
      }
    };
    fan.onUpdate = [self](const json& before, const json& after) {
      for (const auto& h : self->handlers) {
        if (h.onUpdate) {
          h.onUpdate(before, after);
        }
      }
    };
    fan.onDelete = [self](const json& o) {
      for (const auto& h : self->handlers) {
        if (h.onDelete) {
          h.onDelete(o);
        }
      }
    };
    s->informer = std::make_shared<kube::Informer>(ctx.kube, o, std::move(fan));
    informers.push_back(std::move(s));
    return *informers.back();
  }

  std::shared_ptr<kube::Informer> informer(const kube::Resource& r,
                                           const std::string& labelSelector) override {
    return shared(r, labelSelector).informer;
  }

  void addIndex(const kube::Resource& r, const std::string& name, IndexFunc values,
                const std::string& labelSelector) override {
    SharedInformer& s = shared(r, labelSelector);
    if (s.indexes.insert(name).second) {
      s.informer->addIndex(name, std::move(values));
    }
  }

  void add(Runnable runnable) override { runnables.push_back(std::move(runnable)); }

  void transform(const kube::Resource& r, std::function<json(const json&)> fn) override {
    // Setups run once at start: a second transform, or one after the kind's informer exists,
    // would leave readers of one kind seeing different objects.
    for (const auto& s : informers) {
      if (kindKey(s->resource) == kindKey(r)) {
        throw std::logic_error("transform for " + kindKey(r) + " declared after its informer");
      }
    }
    if (!transforms.emplace(kindKey(r), std::move(fn)).second) {
      throw std::logic_error("a second transform for " + kindKey(r));
    }
  }

  void addController(std::shared_ptr<ControllerBuilder::Spec> spec) override {
    auto c = std::make_unique<Controller>();
    c->spec = std::move(spec);
    Controller* cp = c.get();
    State* self = this;
    const ControllerBuilder::Spec& sp = *cp->spec;
    kube::WorkQueueOptions qo;
    qo.name = sp.name;
    qo.metrics = loopMetrics;
    qo.workers = sp.workers > 0 ? sp.workers : ctx.options.workers;
    qo.maxBackoff = ctx.options.maxBackoff;
    qo.timers = ctx.options.timers;
    c->queue = kube::WorkQueue::create(executor, qo);
    c->queue->start(processor(*cp));
    loopMetrics->addController(sp.name, qo.workers);
    auto enqueue = [self, cp](const std::string& key) { self->enqueue(*cp, key); };
    auto enqueueMapped = [enqueue](const MapFunc& map, const json& o) {
      for (const auto& key : map(o)) {
        enqueue(key);
      }
    };
    if (sp.forKind) {
      // Every event, resyncs included: the resync is how a controller revisits what it owns.
      auto own = [enqueue](const json& o) { enqueue(kube::Informer::keyOf(o)); };
      shared(*sp.forKind, "")
          .handlers.push_back({own, [own](const json&, const json& after) { own(after); }, own});
    }
    for (const auto& w : sp.watches) {
      kube::InformerHandlers h;
      MapFunc map = w.map;
      const WatchEvents ev = w.events;
      if (ev.add) {
        h.onAdd = [enqueueMapped, map](const json& o) { enqueueMapped(map, o); };
      }
      if (ev.update) {
        h.onUpdate = [enqueueMapped, map, ev](const json& before, const json& after) {
          if (!ev.changesOnly || before["metadata"].value("resourceVersion", "") !=
                                     after["metadata"].value("resourceVersion", "")) {
            enqueueMapped(map, after);
          }
        };
      }
      if (ev.remove) {
        h.onDelete = [enqueueMapped, map](const json& o) { enqueueMapped(map, o); };
      }
      shared(w.resource, w.labelSelector).handlers.push_back(std::move(h));
    }
    cp->spec->queue->bind(enqueue, [self, cp] { self->enqueueAll(*cp); });
    controllers.push_back(std::move(c));
  }

  void enqueue(Controller& c, const std::string& key) {
    if (leading && !stopping) {
      c.queue->add(key);
    }
  }
  // A full pass: what a new leader does first.
  void enqueueAll(Controller& c) {
    if (c.spec->leadingKeys) {
      for (const auto& key : c.spec->leadingKeys()) {
        enqueue(c, key);
      }
    } else if (c.spec->forKind) {
      for (const auto& o : informer(*c.spec->forKind, "")->list()) {
        enqueue(c, kube::Informer::keyOf(o));
      }
    }
  }

  // The caches leading and readiness wait for: every shared informer. Runnables' caches only
  // when there is none (see Runnable::synced).
  bool synced() const {
    if (!setUp) {
      return false;
    }
    if (informers.empty()) {
      for (const auto& r : runnables) {
        if (r.synced && !r.synced()) {
          return false;
        }
      }
      return true;
    }
    for (const auto& s : informers) {
      if (!s->informer->synced()) {
        return false;
      }
    }
    return true;
  }
  awaitable<bool> waitForSync() {
    if (informers.empty()) {
      for (const auto& r : runnables) {
        if (r.waitForSync && !co_await r.waitForSync()) {
          co_return false;
        }
      }
      co_return true;
    }
    for (const auto& s : informers) {
      if (!co_await s->informer->waitForSync()) {
        co_return false;
      }
    }
    co_return true;
  }

  // The loop around every reconcile: skipped unless leading, bounded in time (every call the
  // reconciler makes gets the bound as its deadline at the latest), an exception boundary
  // (counted and retried like an error), metrics, and what the result asks of the queue.
  kube::WorkQueue::Process processor(Controller& c) {
    State* s = this;
    Controller* cp = &c;
    return [s, cp](std::string key) -> awaitable<Status> {
      if (s->stopping || !s->leading || !s->ctx.mayAct()) {
        co_return okStatus();  // a new leader starts from a full enqueue
      }
      const std::string& name = cp->name();
      const auto started = std::chrono::steady_clock::now();
      s->loopMetrics->activeWorkers(name, ++cp->active);
      Result out;
      try {
        out = co_await cp->spec->reconciler->reconcile(key);
      } catch (const std::exception& e) {
        out = Result::retry(internalError(std::string("the reconcile threw: ") + e.what()));
      } catch (...) {
        out = Result::retry(internalError("the reconcile threw"));
      }
      s->loopMetrics->activeWorkers(name, --cp->active);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const bool ok = out.error.ok();
      s->loopMetrics->reconcile(name,
                                ok ? (out.requeueAfter ? "requeue_after" : "success") : "error",
                                seconds, out.terminal);
      if (!ok) {
        log::warn(out.terminal ? "Reconcile failed; not retried until the object changes"
                               : "Reconcile failed",
                  {{"controller", name}, {"name", key}, {"error", out.error.message()}});
        // A terminal error is done with: the queue forgets its failures.
        co_return out.terminal ? okStatus() : out.error;
      }
      if (out.requeueAfter) {
        cp->queue->addAfter(key, *out.requeueAfter);
      }
      co_return okStatus();
    };
  }

  void reportInFlight() {
    for (auto& c : controllers) {
      const auto f = c->queue->inFlight();
      loopMetrics->queueInFlight(c->name(), f.unfinishedSeconds, f.longestSeconds);
    }
  }

  void startLeading() {
    log::info("Leading: reconcilers started", {{"identity", ctx.options.identity}});
    leading = true;
    loopMetrics->leading(true);
    for (auto& c : controllers) {
      enqueueAll(*c);
    }
  }

  // `lost`: the lease went (a warning); otherwise this replica is shutting down.
  void stopLeading(bool lost) {
    if (leading.exchange(false)) {
      if (lost) {
        log::warn("Lost the leader lease: reconcilers stopped",
                  {{"identity", ctx.options.identity}});
      } else {
        log::info("Shutting down: reconcilers stopped", {{"identity", ctx.options.identity}});
      }
    }
    loopMetrics->leading(false);
  }
};

Operator::Operator(std::shared_ptr<kube::Client> kube, std::shared_ptr<harbor::Client> harbor,
                   std::shared_ptr<metrics::Registry> metrics, OperatorOptions options,
                   std::vector<ControllerSetup> controllers)
    : state_(std::make_shared<State>()), setups_(std::move(controllers)) {
  state_->ctx.kube = kube;
  state_->ctx.harbor = std::move(harbor);
  state_->ctx.options = options;
  state_->ctx.clock = options.timers;
  state_->ctx.runFence = state_->runFence;
  state_->ctx.events =
      std::make_shared<kube::EventRecorder>(kube, "harbormaster-operator", options.identity);
  state_->loopMetrics = std::make_shared<ControllerMetrics>(*metrics);
  state_->registry = std::move(metrics);
}

Operator::~Operator() {
  state_->stopping = true;
}

awaitable<void> Operator::run() {
  auto st = state_;
  auto ex = co_await asio::this_coro::executor;
  st->executor = ex;
  if (st->ctx.options.leaderElect) {
    // Before the controllers: every call they make stays inside the lease's fence.
    kube::LeaderElectionOptions lo;
    lo.nameSpace = st->ctx.options.nameSpace;
    lo.name = "harbormaster-operator";
    lo.identity = st->ctx.options.identity;
    lo.leaseDuration = st->ctx.options.leaseDuration;
    lo.renewDeadline = st->ctx.options.renewDeadline;
    lo.retryPeriod = st->ctx.options.retryPeriod;
    lo.timers = st->ctx.options.timers;
    st->elector = std::make_unique<kube::LeaderElector>(st->ctx.kube, lo);
    st->ctx.leaseFence = st->elector->fence();
  }
  for (const auto& setup : setups_) {
    setup(*st);
  }
  st->setUp = true;
  // The informers' coroutines hold their informer, not the state: a watch still in flight when
  // the io_context stops is destroyed with it, and must not take the state (its strands,
  // timers and clients) down inside asio's shutdown. Their handlers' State* stays valid as long
  // as they can run: the Operator holds the state until the io_context has stopped.
  for (const auto& s : st->informers) {
    asio::co_spawn(
        ex, [inf = s->informer]() -> awaitable<void> { co_await inf->run(); },
        net::LogFailure{"informer"});
  }
  for (const auto& r : st->runnables) {
    asio::co_spawn(
        ex, [run = r.run]() -> awaitable<void> { co_await run(); }, net::LogFailure{r.name});
  }
  st->registry->onScrape([weak = std::weak_ptr<State>(st)] {
    if (auto s = weak.lock()) {
      s->reportInFlight();
    }
  });
  if (!co_await st->waitForSync() || st->stopping) {
    co_return;  // stopped before the caches synced
  }
  if (st->elector == nullptr) {
    st->startLeading();
    co_return;
  }
  State* s = st.get();  // run() holds `st` for as long as the elector runs
  co_await st->elector->run([s] { s->startLeading(); }, [s] { s->stopLeading(true); });
}

// controller-runtime's order: stop handing out work, wait for what runs (with a grace), and
// only then give the lease away, so no standby leads while this process may still write.
awaitable<void> Operator::shutdown() {
  auto st = state_;
  st->stopping = true;
  std::vector<std::shared_ptr<kube::WorkQueue>> queues;
  for (auto& c : st->controllers) {
    queues.push_back(c->queue);
  }
  // Each queue's `done` (on its own strand) counts down on this strand; the last one wakes the
  // wait, which also ends when the grace does. Plain asio (a timer as the signal, everything
  // on this strand) keeps the shutdown path free of hand-invoked completion handlers.
  struct Drain {
    explicit Drain(asio::any_io_executor ex) : wake(ex, asio::steady_timer::time_point::max()) {}
    size_t left = 0;
    asio::steady_timer wake;
  };
  auto ex = co_await asio::this_coro::executor;
  auto drain = std::make_shared<Drain>(ex);
  drain->left = queues.size();
  for (auto& q : queues) {
    q->shutdown([drain, ex] {
      asio::post(ex, [drain] {
        if (--drain->left == 0) {
          drain->wake.cancel();
        }
      });
    });
  }
  const auto graceEnd = std::chrono::steady_clock::now() + st->ctx.options.shutdownGrace;
  bool fenceClosed = false;
  while (drain->left > 0) {
    drain->wake.expires_at(fenceClosed ? asio::steady_timer::time_point::max() : graceEnd);
    boost::system::error_code ec;
    co_await drain->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec && !fenceClosed) {
      // Out of grace: no call starts any more; those in flight end by their own deadlines.
      log::warn(
          "Reconciles still running at the end of the shutdown grace; their remaining "
          "calls are refused",
          {{"grace", std::to_string(st->ctx.options.shutdownGrace.count()) + "ms"}});
      st->runFence->close();
      fenceClosed = true;
    }
  }
  st->stopLeading(false);
  for (const auto& r : st->runnables) {
    if (r.stop) {
      r.stop();
    }
  }
  for (const auto& s : st->informers) {
    s->informer->stop();
  }
  if (st->elector) {
    (void)co_await st->elector->release();
  }
}

bool Operator::ready() const {
  return state_->synced();
}

bool Operator::leading() const {
  return state_->leading;
}

}  // namespace hm::op
