#include "context.h"  // first: it includes the Boost 1.74 workaround

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include "harbormaster/base/log.h"
#include "harbormaster/kube/leader_election.h"
#include "harbormaster/kube/work_queue.h"
#include "harbormaster/net/task_group.h"
#include "harbormaster/operator/policy_status.h"
#include "harbormaster/policysource/cluster_policies.h"

namespace hm::op {

namespace asio = boost::asio;
using asio::awaitable;
using nlohmann::json;

struct Operator::State {
  Context ctx;
  std::shared_ptr<metrics::OperatorMetrics> metrics;
  std::shared_ptr<kube::WorkQueue> projectQueue, robotQueue, statusQueue;
  // Policy and exception resources (their last valid generations, namespaces): the status
  // controller's cache, and the same merge the webhook judges by.
  std::shared_ptr<policysource::ClusterPolicies> policies;
  std::mutex statesMu;
  std::map<std::string, std::string> states;  // "Kind ns/name" → Ready/NotReady/Active/…
  std::unique_ptr<kube::LeaderElector> elector;
  std::atomic<bool> leading{false};
  std::atomic<bool> stopping{false};

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

  void addStatus(const std::string& key) {
    metrics->queueAdd("policystatus");
    statusQueue->add(key);
  }
  void addAllExceptions() {
    for (const auto& k : policies->keys(policysource::kImageExceptions)) {
      addStatus("ImageException " + k);
    }
  }
  // A policy's change can change every exception's standing; a namespace's labels those of
  // the exceptions that a namespaceSelector judges.
  void policyResourceChanged(const std::string& kind, const std::string& ns,
                             const std::string& name, bool specChanged) {
    if (!leading || statusQueue == nullptr) {
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
  void noteState(const std::string& key, const std::string& state) {
    std::map<std::string, std::map<std::string, double>> counts;  // kind → state → n
    {
      std::lock_guard lock(statesMu);
      if (state.empty()) {
        states.erase(key);
      } else {
        states[key] = state;
      }
      for (const char* kind : {"ClusterImagePolicy", "ImagePolicy"}) {
        counts[kind] = {{"Ready", 0}, {"NotReady", 0}};
      }
      counts["ImageException"] = {{"Active", 0}, {"Expired", 0}, {"Rejected", 0}};
      for (const auto& [k, v] : states) {
        counts[k.substr(0, k.find(' '))][v] += 1;
      }
    }
    for (const auto& [kind, byState] : counts) {
      for (const auto& [st, n] : byState) {
        metrics->policyStates(kind, st, n);
      }
    }
  }

  void addProject(const std::string& name) {
    metrics->queueAdd("harborproject");
    projectQueue->add(name);
  }
  void addRobot(const std::string& name) {
    metrics->queueAdd("robotaccount");
    robotQueue->add(name);
  }
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

  kube::WorkQueue::Process processor(std::string controller) {
    State* s = this;
    return [s, controller](std::string key) -> awaitable<Status> {
      if (s->stopping || !s->leading) {
        co_return okStatus();  // a new leader starts from a full enqueue
      }
      auto started = std::chrono::steady_clock::now();
      // GCC 12 miscompiles co_await inside ?:, hence the if.
      Outcome out;
      try {
        if (controller == "harborproject") {
          out = co_await reconcileProject(s->ctx, key);
        } else if (controller == "policystatus") {
          out = co_await s->reconcilePolicyStatus(key);
        } else {
          out = co_await reconcileRobot(s->ctx, key);
        }
      } catch (const std::exception& e) {
        // Counted and retried below like any failed reconcile.
        out = Outcome{};
        out.status = internalError(std::string("the reconcile threw: ") + e.what());
      }
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const bool ok = out.status.ok();
      s->metrics->reconcile(
          controller, ok ? (out.requeueAfter ? "requeue_after" : "success") : "error", seconds);
      auto& queue = controller == "harborproject"  ? s->projectQueue
                    : controller == "policystatus" ? s->statusQueue
                                                   : s->robotQueue;
      s->metrics->queueDepth(controller, static_cast<double>(queue->queued()));
      if (!ok) {
        s->metrics->queueRetry(controller);
        log::warn("Reconcile failed",
                  {{"controller", controller}, {"name", key}, {"error", out.status.message()}});
        co_return out.status;
      }
      if (out.requeueAfter) {
        queue->addAfter(key, *out.requeueAfter);
      }
      if (controller == "robotaccount") {
        s->noteExpiry(key);
      }
      co_return okStatus();
    };
  }

  // One policy or exception: load it as the webhook does, judge an exception's standing, and
  // write the status when it changed, with an Event when its state did.
  awaitable<Outcome> reconcilePolicyStatus(const std::string& key) {
    const size_t space = key.find(' ');
    const std::string kind = key.substr(0, space);
    const std::string name = key.substr(space + 1);
    const kube::Resource& resource = kind == "ClusterImagePolicy"
                                         ? policysource::kClusterImagePolicies
                                     : kind == "ImagePolicy" ? policysource::kImagePolicies
                                                             : policysource::kImageExceptions;
    auto object = policies->object(resource, name);
    auto set = policies->current();
    if (!object || set == nullptr) {
      noteState(key, "");
      co_return Outcome{};
    }
    // What the cache loaded for this object (the loader runs once per generation, there).
    const auto cached = policies->state(key);
    if (!cached) {
      co_return Outcome{};  // seen by the informer, not yet by the cache: its event follows
    }
    const WallTime now = std::chrono::system_clock::now();
    const Status load = cached->error.empty() ? okStatus() : invalidArgument(cached->error);
    const auto& valid = cached->lastValid;
    Outcome out;
    json status;
    std::string state;
    if (kind == "ImageException") {
      policy::ExceptionStanding standing;
      if (load.ok() && valid && valid->exception) {
        standing = policy::standing(*valid->exception, *set, now);
        if (standing.state == policy::ExceptionState::kActive) {
          // Look again when it ends, so its status says Expired at its time.
          out.requeueAfter = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 valid->exception->expiresAt - now) +
                             std::chrono::seconds(1);
        }
      }
      status = exceptionStatus(*object, load, standing, now);
      state = status.value("state", "");
    } else {
      const bool enforced = valid && valid->policy;
      status = policyStatus(*object, load, enforced ? cached->lastValidGeneration : 0,
                            enforced ? &*valid->policy : nullptr, now);
      state = load.ok() ? "Ready" : "NotReady";
    }
    const std::string before = conditionReason(*object, "Ready");
    const std::string beforeStatus = conditionStatus(*object, "Ready");
    Status written = co_await writeStatus(ctx, resource, *object, status);
    if (!written.ok()) {
      out.status = written;
      co_return out;
    }
    noteState(key, state);
    const std::string reason = conditionReason(json{{"status", status}}, "Ready");
    const std::string ready = conditionStatus(json{{"status", status}}, "Ready");
    if (reason != before || ready != beforeStatus) {
      std::string message;
      for (const auto& c : status.value("conditions", json::array())) {
        if (c.value("type", "") == "Ready") {
          message = c.value("message", "");
        }
      }
      const std::string type = ready == "True" ? "Normal" : "Warning";  // named: GCC 12
      co_await recordEvent(ctx, *object, type, reason, message);
    }
    co_return out;
  }

  void noteExpiry(const std::string& name) {
    auto r = ctx.robots->get(name);
    if (!r) {
      return;
    }
    auto expires = parseRfc3339(r->value("status", json::object()).value("expiresAt", ""));
    if (expires.ok()) {
      double days =
          std::chrono::duration<double>(*expires - std::chrono::system_clock::now()).count() /
          86400.0;
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
  state_->ctx.events =
      std::make_shared<kube::EventRecorder>(kube, "harbormaster-operator", options.identity);
  state_->metrics = std::move(metrics);
}

Operator::~Operator() {
  state_->stopping = true;
}

awaitable<void> Operator::run() {
  auto st = state_;
  auto ex = co_await asio::this_coro::executor;
  kube::WorkQueueOptions qo;
  qo.workers = st->ctx.options.workers;
  qo.maxBackoff = st->ctx.options.maxBackoff;
  if (st->ctx.harbor != nullptr) {
    st->buildInformers();
    st->projectQueue = kube::WorkQueue::create(ex, qo);
    st->robotQueue = kube::WorkQueue::create(ex, qo);
    st->projectQueue->start(st->processor("harborproject"));
    st->robotQueue->start(st->processor("robotaccount"));
  }
  for (const auto& inf : st->informers()) {
    asio::co_spawn(
        ex, [st, inf]() -> awaitable<void> { co_await inf->run(); }, net::LogFailure{"informer"});
  }
  if (st->ctx.options.policyStatus) {
    policysource::Options po;
    po.load.readFiles = false;  // key files are mounted on the webhook, not here
    po.resync = st->ctx.options.resync;
    policysource::Observer observer;
    State* self = st.get();
    observer.changed = [self](const std::string& kind, const std::string& ns,
                              const std::string& name, bool specChanged) {
      self->policyResourceChanged(kind, ns, name, specChanged);
    };
    st->policies = std::make_shared<policysource::ClusterPolicies>(st->ctx.kube, std::move(po),
                                                                   std::move(observer));
    st->statusQueue = kube::WorkQueue::create(ex, qo);
    st->statusQueue->start(st->processor("policystatus"));
    asio::co_spawn(
        ex, [st]() -> awaitable<void> { co_await st->policies->run(); },
        net::LogFailure{"policy informers"});
  }
  asio::steady_timer wait(ex);
  while (!st->stopping) {
    if (st->synced()) {
      break;
    }
    wait.expires_after(std::chrono::milliseconds(50));
    co_await wait.async_wait(asio::use_awaitable);
  }
  if (st->stopping) {
    co_return;
  }
  if (!st->ctx.options.leaderElect) {
    st->startLeading();
    co_return;
  }
  kube::LeaderElectionOptions lo;
  lo.nameSpace = st->ctx.options.nameSpace;
  lo.name = "harbormaster-operator";
  lo.identity = st->ctx.options.identity;
  st->elector = std::make_unique<kube::LeaderElector>(st->ctx.kube, lo);
  State* s = st.get();  // run() holds `st` for as long as the elector runs
  co_await st->elector->run([s] { s->startLeading(); }, [s] { s->stopLeading(); });
}

awaitable<void> Operator::shutdown() {
  auto st = state_;
  st->stopping = true;
  st->stopLeading();
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
  for (auto& q : {st->projectQueue, st->robotQueue, st->statusQueue}) {
    if (q) {
      q->shutdown([] {});
    }
  }
}

bool Operator::ready() const {
  return state_->synced();
}

bool Operator::leading() const {
  return state_->leading;
}

}  // namespace hm::op
