// Informer: list-then-watch into a local cache, with add/update/delete handlers.
//
// After a list, objects that vanished while no watch was open get a synthetic delete; a watch
// that ends (timeout, dropped) resumes from the last resourceVersion seen (events or
// bookmarks); a 410 Gone re-lists; failures back off exponentially. So handlers see every
// change once the cache has caught up, and never an object that no longer exists.
#pragma once

#include "harbormaster/kube/client.h"
#include "harbormaster/net/flight.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hm::kube {

struct InformerOptions {
  Resource resource;
  std::string nameSpace;  // empty: all namespaces (or a cluster-scoped resource)
  std::string labelSelector;
  std::chrono::milliseconds resync{600'000};  // onUpdate(obj, obj) for every cached object
  std::chrono::milliseconds initialBackoff{100};
  std::chrono::milliseconds maxBackoff{30'000};
  int watchTimeoutSeconds = 300;
  // What the cache keeps of each object (client-go's SetTransform): applied before caching and
  // before handlers see it, so a cache of every Pod holds only what its readers read. Updates
  // reach handlers when the transformed object's metadata.resourceVersion changes: a transform
  // that puts a digest of what it kept there hides changes its readers do not care about.
  std::function<nlohmann::json(const nlohmann::json&)> transform;
  // "metadata.name=X": one object, which RBAC can grant by resourceNames (list and watch are
  // authorized against them only with this selector).
  std::string fieldSelector;
};

struct InformerHandlers {
  std::function<void(const nlohmann::json&)> onAdd;
  std::function<void(const nlohmann::json& before, const nlohmann::json& after)> onUpdate;
  std::function<void(const nlohmann::json&)> onDelete;
};

class Informer {
 public:
  Informer(std::shared_ptr<Client> kube, InformerOptions options, InformerHandlers handlers);

  // Runs until stop(); spawn it once. Handlers run on its executor.
  boost::asio::awaitable<void> run();
  void stop();
  bool synced() const { return synced_; }
  // controller-runtime's WaitForCacheSync: true once the first list is in the cache, false if
  // stop() came first. No polling: the list wakes the waiters.
  boost::asio::awaitable<bool> waitForSync();
  // Fills the cache from one list (handlers run), without watching: what run() does first; for
  // tests and tools that need the cache but not its updates.
  boost::asio::awaitable<Status> listOnce() { return relist(); }

  // "namespace/name" (or "name" for cluster-scoped objects).
  static std::string keyOf(const nlohmann::json& object);
  std::optional<nlohmann::json> get(const std::string& key) const;
  std::vector<nlohmann::json> list() const;
  // A custom index: `values` maps an object to the index values it is found under.
  void addIndex(std::string name,
                std::function<std::vector<std::string>(const nlohmann::json&)> values);
  std::vector<nlohmann::json> byIndex(const std::string& name, const std::string& value) const;

 private:
  boost::asio::awaitable<Status> relist();
  boost::asio::awaitable<void> resyncLoop();
  void apply(const WatchEvent& e);
  // `transformed`: the list already applied options.transform.
  void upsert(const nlohmann::json& object, bool transformed = false);
  void erase(const std::string& key);
  // Moves `key` from the index values of `before` to those of `after` (either may be null).
  void reindex(const std::string& key, const nlohmann::json* before, const nlohmann::json* after);

  std::shared_ptr<Client> kube_;
  InformerOptions options_;
  InformerHandlers handlers_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> synced_{false};
  std::shared_ptr<net::Flight<bool>> syncFlight_ = std::make_shared<net::Flight<bool>>();
  std::string resourceVersion_;
  mutable std::mutex mu_;
  std::map<std::string, nlohmann::json> cache_;
  std::map<std::string, std::function<std::vector<std::string>(const nlohmann::json&)>> indexers_;
  // index name → value → keys
  std::map<std::string, std::map<std::string, std::set<std::string>>> indexes_;
};

}  // namespace hm::kube
