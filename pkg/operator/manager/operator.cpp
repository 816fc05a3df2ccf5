#include "context.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include "harbormaster/base/log.h"
#include "harbormaster/kube/leader_election.h"
#include "harbormaster/kube/work_queue.h"
#include "harbormaster/net/task_group.h"
#include "harbormaster/policysource/cluster_policies.h"
#include "harborproject/reconciler.h"
#include "policystatus/reconciler.h"
#include "robotaccount/reconciler.h"

namespace hm::op {

namespace asio = boost::asio;
using asio::awaitable;
using nlohmann::json;

inline constexpr const char* kProjectController = "harborproject";
inline constexpr const char* kRobotController = "robotaccount";
inline constexpr const char* kPolicyStatusController = "policystatus";

// client-go's workqueue metrics into the operator's registry.
class QueueMetrics final : public kube::WorkQueueMetrics {
 public:
  explicit QueueMetrics(std::shared_ptr<metrics::OperatorMetrics> m) : m_(std::move(m)) {}
  void added(const std::string& q) override { m_->queueAdd(q); }
  void depth(const std::string& q, size_t d) override { m_->queueDepth(q, static_cast<double>(d)); }
  void waited(const std::string& q, double s) override { m_->queueWaited(q, s); }
  void worked(const std::string& q, double s) override { m_->queueWorked(q, s); }
  void retried(const std::string& q) override { m_->queueRetry(q); }

 private:
  std::shared_ptr<metrics::OperatorMetrics> m_;
};

struct Operator::State {
  Context ctx;
  std::shared_ptr<metrics::OperatorMetrics> metrics;
  std::shared_ptr<kube::WorkQueueMetrics> queueMetrics;
  // Policy and exception resources (their last valid generations, namespaces): the status
  // controller's cache, and the same merge the webhook judges by.
  std::shared_ptr<policysource::ClusterPolicies> policies;
  std::unique_ptr<kube::LeaderElector> elector;
  std::atomic<bool> leading{false};
  std::atomic<bool> stopping{false};
  // Closed when shutdown's grace is over (ctx.runFence).
  std::shared_ptr<kube::LeaseFence> runFence = kube::LeaseFence::open();
  // The policy file check's wait (on the control strand).
  std::shared_ptr<net::TimerHandle> fileCheckSleep;

  // The Harbor controllers' informers; none without Harbor.
  std::vector<std::shared_ptr<kube::Informer>> informers() const {
    if (ctx.harbor == nullptr) {
      return {};
    }
    return {ctx.projects, ctx.robots, ctx.namespaces, ctx.secrets, ctx.serviceAccounts};
  }
  // The caches the operator waits for before it leads: the Harbor controllers'. Policy status
  // never holds them up (a cluster upgraded without the policy CRDs must still rotate robot
  // secrets); its own informers feed it as they sync. Without Harbor it is the only controller.
  bool synced() const {
    if (ctx.harbor == nullptr) {
      return policies == nullptr || policies->synced();
    }
    for (const auto& inf : informers()) {
      if (!inf || !inf->synced()) {
        return false;
      }
    }
    return true;
  }

  void addStatus(const std::string& key) { enqueue(kPolicyStatusController, key); }
  void addAllExceptions() {
    for (const auto& k : policies->keys(policysource::kImageExceptions)) {
      addStatus("ImageException " + k);
    }
  }
  // A policy's change can change every exception's standing; a namespace's labels those of
  // the exceptions that a namespaceSelector judges.
  void policyResourceChanged(const std::string& kind, const std::string& ns,
                             const std::string& name, bool specChanged) {
    if (!leading || controller(kPolicyStatusController) == nullptr) {
      return;  // a new leader starts from a full enqueue
    }
    if (kind == "ImageException") {
      addStatus(kind + " " + ns + "/" + name);
      return;
    }
    if (kind != "Namespace") {
      addStatus(kind + " " + (ns.empty() ? "" : ns + "/") + name);
    }
    if (specChanged) {
      addAllExceptions();
    }
  }
  void addAllPolicyResources() {
    for (const auto& k : policies->keys(policysource::kClusterImagePolicies)) {
      addStatus("ClusterImagePolicy " + k);
    }
    for (const auto& k : policies->keys(policysource::kImagePolicies)) {
      addStatus("ImagePolicy " + k);
    }
    addAllExceptions();
  }
  void addProject(const std::string& name) { enqueue(kProjectController, name); }
  void addRobot(const std::string& name) { enqueue(kRobotController, name); }
  void addAllRobots(bool onlyWithPullSecret) {
    for (const auto& r : ctx.robots->list()) {
      if (!onlyWithPullSecret || r.value("spec", json::object()).contains("pullSecret")) {
        addRobot(r["metadata"].value("name", ""));
      }
    }
  }

  // Handlers and the queues' process function use a plain pointer: the State outlives them,
  // because Operator holds it while the io_context runs and every coroutine spawned here holds
  // it too. (A handler that locked a weak pointer could end up the last owner and destroy the
  // informer it is running in.)
  void buildInformers() {
    State* self = this;
    auto informer = [&](kube::Resource r, std::string selector, kube::InformerHandlers h) {
      kube::InformerOptions o;
      o.resource = std::move(r);
      o.labelSelector = std::move(selector);
      o.resync = ctx.options.resync;
      return std::make_shared<kube::Informer>(ctx.kube, o, std::move(h));
    };
    auto on = [self](auto fn) { return [self, fn](const json& o) { fn(*self, o); }; };
    auto onUpdate = [self](auto fn) {
      return [self, fn](const json&, const json& o) { fn(*self, o); };
    };
    // Only real changes: the periodic resync of the CR informers already revisits every object
    // once per period, and must not come back a second time through a related informer.
    auto onChange = [self](auto fn) {
      return [self, fn](const json& before, const json& after) {
        if (before["metadata"].value("resourceVersion", "") !=
            after["metadata"].value("resourceVersion", "")) {
          fn(*self, after);
        }
      };
    };
    auto project = [](State& s, const json& o) { s.addProject(o["metadata"].value("name", "")); };
    auto projectAndRobots = [project](State& s, const json& o) {
      project(s, o);
      for (const auto& r : s.ctx.robots->byIndex("project", o["metadata"].value("name", ""))) {
        s.addRobot(r["metadata"].value("name", ""));
      }
    };
    auto projectUpdate = [project, projectAndRobots, self](const json& before, const json& after) {
      if (before["metadata"].value("resourceVersion", "") ==
          after["metadata"].value("resourceVersion", "")) {
        project(*self, after);  // a resync: the robots have their own
      } else {
        projectAndRobots(*self, after);
      }
    };
    ctx.projects =
        informer(kProjects, "", {on(projectAndRobots), projectUpdate, on(projectAndRobots)});
    auto robot = [](State& s, const json& o) { s.addRobot(o["metadata"].value("name", "")); };
    auto robotGone = [](State& s, const json& o) {
      s.metrics->forgetRobot(o["metadata"].value("name", ""));
    };
    ctx.robots = informer(kRobots, "", {on(robot), onUpdate(robot), on(robotGone)});
    ctx.robots->addIndex("project", [](const json& o) {
      return std::vector<std::string>{o.value("spec", json::object()).value("project", "")};
    });
    auto everyFanOut = [](State& s, const json&) { s.addAllRobots(true); };
    ctx.namespaces =
        informer(kNamespaces, "", {on(everyFanOut), onChange(everyFanOut), on(everyFanOut)});
    // Managed Secrets only: a changed or deleted pull secret brings its owner back to repair it.
    auto owner = [](State& s, const json& o) {
      const std::string name = o["metadata"].value("labels", json::object()).value(kOwnerLabel, "");
      if (!name.empty()) {
        s.addRobot(name);
      }
    };
    ctx.secrets = informer(kSecrets, std::string(kManagedByLabel) + "=" + kManagedByValue,
                           {nullptr, onChange(owner), on(owner)});
    ctx.secrets->addIndex("pull-owner", [](const json& o) {
      const json labels = o["metadata"].value("labels", json::object());
      if (labels.value(kRoleLabel, "") != kRolePull) {
        return std::vector<std::string>{};
      }
      return std::vector<std::string>{labels.value(kOwnerLabel, "")};
    });
    ctx.serviceAccounts = informer(kServiceAccounts, "", {on(everyFanOut), nullptr, nullptr});
    ctx.serviceAccounts->addIndex("namespace", [](const json& o) {
      return std::vector<std::string>{o["metadata"].value("namespace", "")};
    });
  }

  // One controller: its reconciler behind its own queue.
  struct Controller {
    std::string name;
    std::shared_ptr<Reconciler> reconciler;
    std::shared_ptr<kube::WorkQueue> queue;
    std::atomic<int> active{0};
  };
  std::vector<std::unique_ptr<Controller>> controllers;

  Controller& addController(const std::string& name, std::shared_ptr<Reconciler> reconciler,
                            asio::any_io_executor ex) {
    auto c = std::make_unique<Controller>();
    c->name = name;
    c->reconciler = std::move(reconciler);
    kube::WorkQueueOptions qo;
    qo.name = name;
    qo.metrics = queueMetrics;
    qo.workers = ctx.options.workers;
    qo.maxBackoff = ctx.options.maxBackoff;
    qo.timers = ctx.options.timers;
    c->queue = kube::WorkQueue::create(ex, qo);
    c->queue->start(processor(*c));
    metrics->addController(name, ctx.options.workers);
    controllers.push_back(std::move(c));
    return *controllers.back();
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
      const auto started = std::chrono::steady_clock::now();
      s->metrics->activeWorkers(cp->name, ++cp->active);
      Result out;
      try {
        out = co_await cp->reconciler->reconcile(key);
      } catch (const std::exception& e) {
        out = Result::retry(internalError(std::string("the reconcile threw: ") + e.what()));
      } catch (...) {
        out = Result::retry(internalError("the reconcile threw"));
      }
      s->metrics->activeWorkers(cp->name, --cp->active);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const bool ok = out.error.ok();
      s->metrics->reconcile(cp->name,
                            ok ? (out.requeueAfter ? "requeue_after" : "success") : "error",
                            seconds, out.terminal);
      if (!ok) {
        log::warn(out.terminal ? "Reconcile failed; not retried until the object changes"
                               : "Reconcile failed",
                  {{"controller", cp->name}, {"name", key}, {"error", out.error.message()}});
        // A terminal error is done with: the queue forgets its failures.
        co_return out.terminal ? okStatus() : out.error;
      }
      if (out.requeueAfter) {
        cp->queue->addAfter(key, *out.requeueAfter);
      }
      if (cp->name == kRobotController) {
        s->noteExpiry(key);
      }
      co_return okStatus();
    };
  }

  void reportInFlight() {
    for (auto& c : controllers) {
      const auto f = c->queue->inFlight();
      metrics->queueInFlight(c->name, f.unfinishedSeconds, f.longestSeconds);
    }
  }

  Controller* controller(const std::string& name) {
    for (auto& c : controllers) {
      if (c->name == name) {
        return c.get();
      }
    }
    return nullptr;
  }
  void enqueue(const std::string& name, const std::string& key) {
    if (Controller* c = controller(name)) {
      c->queue->add(key);
    }
  }

  void noteExpiry(const std::string& name) {
    auto r = ctx.robots->get(name);
    if (!r) {
      return;
    }
    auto expires = parseRfc3339(r->value("status", json::object()).value("expiresAt", ""));
    if (expires.ok()) {
      double days =
          std::chrono::duration<double>(*expires - ctx.clock->wallNow()).count() / 86400.0;
      metrics->robotDaysToExpiry(name, days);
    }
  }

  void startLeading() {
    log::info("Leading: reconcilers started", {{"identity", ctx.options.identity}});
    leading = true;
    metrics->leading(true);
    if (ctx.harbor != nullptr) {
      for (const auto& p : ctx.projects->list()) {
        addProject(p["metadata"].value("name", ""));
      }
      addAllRobots(false);
    }
    if (policies != nullptr) {
      addAllPolicyResources();
    }
  }

  void stopLeading() {
    if (leading.exchange(false)) {
      log::warn("Lost the leader lease: reconcilers stopped", {{"identity", ctx.options.identity}});
    }
    metrics->leading(false);
  }
};

Operator::Operator(std::shared_ptr<kube::Client> kube, std::shared_ptr<harbor::Client> harbor,
                   std::shared_ptr<metrics::OperatorMetrics> metrics, OperatorOptions options)
    : state_(std::make_shared<State>()) {
  state_->ctx.kube = kube;
  state_->ctx.harbor = std::move(harbor);
  state_->ctx.options = options;
  state_->ctx.clock = options.timers;
  state_->ctx.runFence = state_->runFence;
  state_->ctx.events =
      std::make_shared<kube::EventRecorder>(kube, "harbormaster-operator", options.identity);
  state_->ctx.newSecret = robotaccount::randomSecret;
  state_->queueMetrics = std::make_shared<QueueMetrics>(metrics);
  state_->metrics = std::move(metrics);
}

Operator::~Operator() {
  state_->stopping = true;
}

awaitable<void> Operator::run() {
  auto st = state_;
  auto ex = co_await asio::this_coro::executor;
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
  if (st->ctx.harbor != nullptr) {
    st->buildInformers();
    st->addController(kProjectController, harborproject::newReconciler(st->ctx), ex);
    st->addController(kRobotController, robotaccount::newReconciler(st->ctx), ex);
  }
  // The informers' coroutines hold their informer, not the state: a watch still in flight when
  // the io_context stops is destroyed with it, and must not take the state (its strands,
  // timers and clients) down inside asio's shutdown. Their handlers' State* stays valid as long
  // as they can run: the Operator holds the state until the io_context has stopped.
  for (const auto& inf : st->informers()) {
    asio::co_spawn(
        ex, [inf]() -> awaitable<void> { co_await inf->run(); }, net::LogFailure{"informer"});
  }
  if (st->ctx.options.policyStatus) {
    policysource::Options po;
    // The files policies name are read here as in the webhook (the chart mounts them into
    // both), so a policy whose key is missing is reported Ready=False, not in force.
    po.resync = st->ctx.options.resync;
    policysource::Observer observer;
    State* self = st.get();
    observer.changed = [self](const std::string& kind, const std::string& ns,
                              const std::string& name, bool specChanged) {
      self->policyResourceChanged(kind, ns, name, specChanged);
    };
    st->policies = std::make_shared<policysource::ClusterPolicies>(st->ctx.kube, std::move(po),
                                                                   std::move(observer));
    st->addController(kPolicyStatusController,
                      policystatus::newReconciler(st->ctx, st->policies, st->metrics), ex);
    asio::co_spawn(
        ex, [st]() -> awaitable<void> { co_await st->policies->run(); },
        net::LogFailure{"policy informers"});
    // The files policies name, compared as the webhook compares them: the status written here
    // follows what the webhook enforces when a mounted key appears, changes or goes.
    asio::co_spawn(
        ex,
        [weak = std::weak_ptr<State>(st)]() -> awaitable<void> {
          // Holds the state only between waits (see the informers above).
          for (;;) {
            auto state = weak.lock();
            if (!state || state->stopping) {
              co_return;
            }
            const net::Timers& timers = *state->ctx.options.timers;
            const auto due = timers.steadyNow() + state->ctx.options.policyCheckInterval;
            std::shared_ptr<net::TimerHandle>* handle = &state->fileCheckSleep;
            state.reset();
            // shutdown() wakes this early (on this strand).
            co_await net::sleepUntil(timers, due, handle);
            state = weak.lock();
            if (state && !state->stopping && state->policies->reloadChangedFiles() > 0 &&
                state->leading) {
              state->addAllPolicyResources();
            }
          }
        },
        net::LogFailure{"policy file checks"});
  }
  st->metrics->onScrape([weak = std::weak_ptr<State>(st)] {
    if (auto s = weak.lock()) {
      s->reportInFlight();
    }
  });
  // The Harbor controllers' caches, or (without Harbor) the policy ones: see synced().
  bool synced = true;
  for (const auto& inf : st->informers()) {
    if (!co_await inf->waitForSync()) {
      synced = false;
      break;
    }
  }
  if (synced && st->ctx.harbor == nullptr && st->policies != nullptr) {
    synced = co_await st->policies->waitForSync();
  }
  if (!synced) {
    co_return;  // stopped before the caches synced
  }
  if (st->stopping) {
    co_return;
  }
  if (st->elector == nullptr) {
    st->startLeading();
    co_return;
  }
  State* s = st.get();  // run() holds `st` for as long as the elector runs
  co_await st->elector->run([s] { s->startLeading(); }, [s] { s->stopLeading(); });
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
  st->stopLeading();
  if (st->fileCheckSleep) {
    st->fileCheckSleep->cancel();
  }
  for (const auto& inf : st->informers()) {
    if (inf) {
      inf->stop();
    }
  }
  if (st->policies) {
    st->policies->stop();
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
