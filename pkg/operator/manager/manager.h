// What a controller folder sees of the shared loop, in controller-runtime's builder shape. Each
// controller exports one `void setup(Manager&)`, and cmd/ lists the setups; the manager knows no
// controller by name.
//
//   void setup(Manager& mgr) {
//     auto things = mgr.informer(kThings);
//     mgr.controller("thing")
//         .forResource(kThings)                       // For: its own objects' keys
//         .owns(kSecrets, "app=thing", ownerLabel)    // a change to what it wrote: the owner
//         .watches(kNamespaces, everyThing)           // anything else, mapped to keys
//         .complete(newReconciler(mgr.context(), things));
//   }
//
// Informers are shared: one per kind and label selector however many controllers read or watch
// it, each controller's handlers fanned out from it. Everything is declared before the manager
// starts; afterwards only the queues' add() is used.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "context.h"
#include "harbormaster/metrics/metrics.h"

namespace hm::op {

// A watched object → the keys ("[namespace/]name") of the objects a controller reconciles.
using MapFunc = std::function<std::vector<std::string>(const nlohmann::json&)>;
// An object → the values an index finds it under.
using IndexFunc = std::function<std::vector<std::string>(const nlohmann::json&)>;

// Which events of a watched kind reach the mapping (controller-runtime's predicates).
struct WatchEvents {
  bool add = true;
  bool update = true;
  bool remove = true;
  // Updates only when the object really changed (its resourceVersion): the periodic resync of
  // the controller's own kind already revisits every object once per period and must not come
  // back a second time through a related kind.
  bool changesOnly = true;
};

// A controller's queue, for code outside the informers that must enqueue (a cache of its own,
// a file watch). Adds nothing unless this replica leads: a new leader starts from a full pass.
class ControllerQueue {
 public:
  virtual ~ControllerQueue() = default;
  virtual void add(const std::string& key) = 0;
  // The full pass the controller does when this replica starts leading.
  virtual void addAll() = 0;
};

// A process that runs beside the controllers (controller-runtime's mgr.Add): a cache that is
// not a plain informer, a periodic check. Started with the informers, stopped after the queues
// drained.
struct Runnable {
  std::string name;
  std::function<boost::asio::awaitable<void>()> run;
  std::function<void()> stop;
  // A cache that leading and readiness wait for when no controller's informer gates them (so a
  // cache whose CRDs may be missing never holds up the controllers that do not need it).
  std::function<bool()> synced;
  std::function<boost::asio::awaitable<bool>()> waitForSync;
};

// A cache with run(), stop(), synced() and waitForSync() of its own (policysource's
// ClusterPolicies) as a Runnable.
template <typename Cache>
Runnable cacheRunnable(std::string name, std::shared_ptr<Cache> cache) {
  Runnable r;
  r.name = std::move(name);
  r.run = [cache]() -> boost::asio::awaitable<void> { co_await cache->run(); };
  r.stop = [cache] { cache->stop(); };
  r.synced = [cache] { return cache->synced(); };
  r.waitForSync = [cache]() -> boost::asio::awaitable<bool> {
    co_return co_await cache->waitForSync();
  };
  return r;
}

class Manager;

class ControllerBuilder {
 public:
  // For: the kind reconciled. Every event of its objects enqueues their key, resyncs included,
  // and all of them are enqueued when this replica starts leading.
  ControllerBuilder& forResource(const kube::Resource& r);
  // Owns: objects the controller writes, found by label selector and mapped back to their owner
  // (pull secrets live in other namespaces than their owner, so labels, not ownerReferences).
  // A change or deletion brings the owner back to repair it; a creation is its own write.
  ControllerBuilder& owns(const kube::Resource& r, const std::string& labelSelector, MapFunc owner);
  // Watches: any other kind, with the mapping from its objects to keys.
  ControllerBuilder& watches(const kube::Resource& r, MapFunc map, WatchEvents events = {},
                             const std::string& labelSelector = "");
  // The full pass when leading starts, for a controller whose keys are not its For kind's.
  ControllerBuilder& onLeading(std::function<std::vector<std::string>()> keys);
  // Concurrent reconciles (MaxConcurrentReconciles); the operator's --workers by default.
  ControllerBuilder& workers(int n);
  // The queue, to enqueue from elsewhere (see ControllerQueue); usable once complete() ran.
  std::shared_ptr<ControllerQueue> queue() const;
  // Registers the controller with its reconciler.
  void complete(std::shared_ptr<Reconciler> reconciler);

  struct Spec;

 private:
  friend class Manager;
  ControllerBuilder(Manager& manager, std::string name);
  Manager& manager_;
  std::shared_ptr<Spec> spec_;
};

class Manager {
 public:
  // The shared clients and options every reconciler reads.
  virtual Context& context() = 0;
  // The process's registry: a controller registers its own metric families there (the loop's
  // controller-runtime metrics are the manager's).
  virtual metrics::Registry& metricsRegistry() = 0;
  // The shared informer of a kind (one per resource and label selector), created on first use
  // and started with the manager. Its cache gates leading and readiness.
  virtual std::shared_ptr<kube::Informer> informer(const kube::Resource& r,
                                                   const std::string& labelSelector = "") = 0;
  // An index on a shared informer (a name already there keeps its first definition: two
  // controllers asking for the same index share it).
  virtual void addIndex(const kube::Resource& r, const std::string& name, IndexFunc values,
                        const std::string& labelSelector = "") = 0;
  virtual void add(Runnable runnable) = 0;
  // What every informer of kind `r` keeps of an object (InformerOptions::transform); declared
  // before the kind's first informer() and by one controller only (a second one is an error
  // of the setups, reported by the manager's start).
  virtual void transform(const kube::Resource& r,
                         std::function<nlohmann::json(const nlohmann::json&)> fn) = 0;
  ControllerBuilder controller(std::string name) {
    return ControllerBuilder(*this, std::move(name));
  }

 protected:
  ~Manager() = default;

 private:
  friend class ControllerBuilder;
  virtual void addController(std::shared_ptr<ControllerBuilder::Spec> spec) = 0;
};

}  // namespace hm::op
