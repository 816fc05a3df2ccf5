// The policy status controller: ClusterImagePolicy, ImagePolicy and ImageException resources
// loaded as the webhook loads them, their status written (status.h builds it), and an Event when
// an object's Ready state changes.
#include "policystatus/reconciler.h"

#include "policystatus/status.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>

#include "harbormaster/base/log.h"
#include "harbormaster/net/timers.h"

namespace hm::op::policystatus {
namespace {

using boost::asio::awaitable;
using nlohmann::json;

class PolicyStatusReconciler final : public Reconciler {
 public:
  PolicyStatusReconciler(Context& ctx, std::shared_ptr<policysource::ClusterPolicies> policies,
                         StateMetric states)
      : ctx_(ctx), policies(std::move(policies)), stateMetric_(std::move(states)) {}

  // One policy or exception: load it as the webhook does, judge an exception's standing, and
  // write the status when it changed, with an Event when its state did.
  awaitable<Result> reconcile(std::string key) override {
    Context ctx = ctx_.forReconcile();
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
      co_return Result::done();
    }
    // What the cache loaded for this object (the loader runs once per generation, there).
    const auto cached = policies->state(key);
    if (!cached) {
      co_return Result::done();  // seen by the informer, not yet by the cache: its event follows
    }
    const WallTime now = ctx.clock->wallNow();
    const Status load = cached->error.empty() ? okStatus() : invalidArgument(cached->error);
    const auto& valid = cached->lastValid;
    Result out;
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
      state = conditionStatus(json{{"status", status}}, condition::kReady) == condition::kTrue
                  ? "Ready"
                  : "NotReady";
    }
    const std::string before = conditionReason(*object, condition::kReady);
    const std::string beforeStatus = conditionStatus(*object, condition::kReady);
    Status written = co_await writeStatus(ctx, resource, *object, status);
    if (!written.ok()) {
      co_return Result::retry(written);
    }
    noteState(key, state);
    const std::string reason = conditionReason(json{{"status", status}}, condition::kReady);
    const std::string ready = conditionStatus(json{{"status", status}}, condition::kReady);
    if (reason != before || ready != beforeStatus) {
      std::string message;
      for (const auto& c : status.value("conditions", json::array())) {
        if (c.value("type", "") == condition::kReady) {
          message = c.value("message", "");
        }
      }
      if (kind == "ImageException" && state == "Active" && valid && valid->exception) {
        // A waiver took effect: say what it waives and who may have applied it, in the Event
        // and the log (the API server's audit log names the user).
        message = waiverDescription(*object, *valid->exception);
        log::info("Exception took effect", {{"imageException", name}, {"waiver", message}});
      }
      const std::string type = ready == condition::kTrue ? eventtype::kNormal : eventtype::kWarning;
      co_await recordEvent(ctx, *object, type, reason, message);
    }
    co_return out;
  }

 private:
  void noteState(const std::string& key, const std::string& state) {
    std::map<std::string, std::map<std::string, double>> counts;  // kind → state → n
    {
      std::lock_guard lock(statesMu_);
      if (state.empty()) {
        states_.erase(key);
      } else {
        states_[key] = state;
      }
      for (const char* kind : {"ClusterImagePolicy", "ImagePolicy"}) {
        counts[kind] = {{"Ready", 0}, {"NotReady", 0}};
      }
      counts["ImageException"] = {{"Active", 0}, {"Expired", 0}, {"Rejected", 0}};
      for (const auto& [k, v] : states_) {
        counts[k.substr(0, k.find(' '))][v] += 1;
      }
    }
    for (const auto& [kind, byState] : counts) {
      for (const auto& [st, n] : byState) {
        if (stateMetric_) {
          stateMetric_(kind, st, n);
        }
      }
    }
  }

  Context& ctx_;
  std::shared_ptr<policysource::ClusterPolicies> policies;
  StateMetric stateMetric_;
  std::mutex statesMu_;
  std::map<std::string, std::string> states_;  // "Kind ns/name" → Ready/NotReady/Active/…
};

}  // namespace

std::shared_ptr<Reconciler> newReconciler(Context& ctx,
                                          std::shared_ptr<policysource::ClusterPolicies> policies,
                                          StateMetric states) {
  return std::make_shared<PolicyStatusReconciler>(ctx, std::move(policies), std::move(states));
}

namespace {

// Keys are "<Kind> [namespace/]name".
std::vector<std::string> exceptionKeys(const policysource::ClusterPolicies& policies) {
  std::vector<std::string> keys;
  for (const auto& k : policies.keys(policysource::kImageExceptions)) {
    keys.push_back("ImageException " + k);
  }
  return keys;
}

std::vector<std::string> allKeys(const policysource::ClusterPolicies& policies) {
  std::vector<std::string> keys;
  for (const auto& k : policies.keys(policysource::kClusterImagePolicies)) {
    keys.push_back("ClusterImagePolicy " + k);
  }
  for (const auto& k : policies.keys(policysource::kImagePolicies)) {
    keys.push_back("ImagePolicy " + k);
  }
  for (auto& k : exceptionKeys(policies)) {
    keys.push_back(std::move(k));
  }
  return keys;
}

}  // namespace

void setup(Manager& mgr) {
  Context& ctx = mgr.context();
  if (!ctx.options.policyStatus) {
    return;
  }
  auto builder = mgr.controller("policystatus");
  std::shared_ptr<ControllerQueue> queue = builder.queue();
  // Filled in below; the observer runs only once the cache does, after setup.
  auto cache = std::make_shared<std::weak_ptr<policysource::ClusterPolicies>>();
  policysource::Observer observer;
  // A policy's change can change every exception's standing; a namespace's labels those of
  // the exceptions that a namespaceSelector judges.
  observer.changed = [queue, cache](const std::string& kind, const std::string& ns,
                                    const std::string& name, bool specChanged) {
    if (kind == "ImageException") {
      queue->add(kind + " " + ns + "/" + name);
      return;
    }
    if (kind != "Namespace") {
      queue->add(kind + " " + (ns.empty() ? "" : ns + "/") + name);
    }
    auto policies = cache->lock();
    if (specChanged && policies != nullptr) {
      for (const auto& key : exceptionKeys(*policies)) {
        queue->add(key);
      }
    }
  };
  policysource::Options po;
  // The files policies name are read here as in the webhook (the chart mounts them into both),
  // so a policy whose key is missing is reported Ready=False, not in force.
  po.resync = ctx.options.resync;
  auto policies =
      std::make_shared<policysource::ClusterPolicies>(ctx.kube, std::move(po), std::move(observer));
  *cache = policies;

  mgr.add(cacheRunnable("policy informers", policies));

  // The files policies name, compared as the webhook compares them: the status written here
  // follows what the webhook enforces when a mounted key appears, changes or goes.
  auto sleep = std::make_shared<std::shared_ptr<net::TimerHandle>>();
  auto stopped = std::make_shared<std::atomic<bool>>(false);
  Runnable files;
  files.name = "policy file checks";
  const net::Timers* timers = ctx.options.timers;
  const auto interval = ctx.options.policyCheckInterval;
  // Holds the cache only between waits: a wait still pending when the io_context stops is
  // destroyed with it and must not take the cache down inside asio's shutdown.
  files.run = [weak = std::weak_ptr<policysource::ClusterPolicies>(policies), queue, sleep, stopped,
               timers, interval]() -> boost::asio::awaitable<void> {
    while (!*stopped) {
      // shutdown (stop below) wakes this early.
      co_await net::sleepUntil(*timers, timers->steadyNow() + interval, sleep.get());
      auto p = weak.lock();
      if (p == nullptr || *stopped) {
        co_return;
      }
      if (p->reloadChangedFiles() > 0) {
        queue->addAll();
      }
    }
  };
  files.stop = [sleep, stopped] {
    *stopped = true;
    if (*sleep) {
      (*sleep)->cancel();
    }
  };
  mgr.add(std::move(files));

  builder.onLeading([cache] {
    auto p = cache->lock();
    return p == nullptr ? std::vector<std::string>{} : allKeys(*p);
  });
  auto registry = mgr.metricsRegistry().registry();
  auto& resources =
      prometheus::BuildGauge()
          .Name("harbormaster_policy_resources")
          .Help(
              "Policy resources by kind and state: ClusterImagePolicy and ImagePolicy Ready or "
              "NotReady, ImageException Active, Expired or Rejected.")
          .Register(*registry);
  // The hook holds the registry its family lives in.
  StateMetric states = [registry, &resources](std::string_view kind, std::string_view state,
                                              double n) {
    resources.Add({{"kind", std::string(kind)}, {"state", std::string(state)}}).Set(n);
  };
  builder.complete(newReconciler(ctx, policies, std::move(states)));
}

}  // namespace hm::op::policystatus
