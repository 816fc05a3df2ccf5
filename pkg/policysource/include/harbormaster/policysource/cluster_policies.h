// Policies and exceptions from the Kubernetes API — ClusterImagePolicy, ImagePolicy and
// ImageException resources — merged with the policy file into the PolicySet reviews judge by.
//
//   ClusterPolicies cluster(kube, {.load = {.ownNamespace = "hm"}, .filePolicies = file});
//   co_spawn(executor, cluster.run(), net::LogFailure{"cluster policies"});
//   auto set = cluster.current();  // null until every informer has synced: not ready
//
// Webhook replicas only read (get/list/watch). An object whose new generation does not load
// keeps being enforced at its last valid generation; a deleted one stops at once. Namespace
// labels come from an informer, so namespaceSelectors cost nothing per review.
#pragma once

#include "harbormaster/kube/client.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "harbormaster/policy/policy.h"

namespace hm::kube {
class Informer;
}

namespace hm::policysource {

inline const kube::Resource kClusterImagePolicies{"harbormaster.io", "v1alpha1",
                                                  "clusterimagepolicies", false};
inline const kube::Resource kImagePolicies{"harbormaster.io", "v1alpha1", "imagepolicies", true};
inline const kube::Resource kImageExceptions{"harbormaster.io", "v1alpha1", "imageexceptions",
                                             true};
inline const kube::Resource kNamespaces{"", "v1", "namespaces", false};

using FilePolicies = std::function<std::shared_ptr<const policy::PolicySet>()>;

// One resource as last seen: the last generation that loaded, and the error of a newer one.
struct ObjectState {
  std::shared_ptr<const policy::ParsedObject> lastValid;
  int64_t lastValidGeneration = 0;
  int64_t seenGeneration = -1;  // the newest generation loaded or refused
  std::string error;            // empty when the newest generation loaded
};

// The policy file's set (may be null) plus every cluster object's last valid generation.
policy::PolicySet merge(const policy::PolicySet* file,
                        const std::map<std::string, ObjectState>& objects,
                        std::shared_ptr<const std::map<std::string, policy::Labels>> namespaces,
                        const policy::LoadOptions& load);

// Loads `object` into `state`: a new valid generation replaces the last one, an invalid one
// only records its error. Returns the load's status.
Status update(ObjectState& state, const nlohmann::json& object, const policy::LoadOptions& load);

// "Kind ns/name": how the cache knows an object.
std::string objectKey(const nlohmann::json& object);

// The namespace's labels as a map (name → labels) entry.
std::pair<std::string, policy::Labels> namespaceLabels(const nlohmann::json& ns);

struct Options {
  policy::LoadOptions load;
  FilePolicies filePolicies;  // null: cluster policies only
  std::chrono::milliseconds resync{600'000};
};

struct Observer {
  // A generation that does not load ("ClusterImagePolicy x: spec.mode: …"); the last valid
  // generation stays in force.
  std::function<void(const std::string& object, const Status& error)> rejected;
  // An object was added, updated or deleted (after the cache took it): kind
  // ClusterImagePolicy, ImagePolicy, ImageException or Namespace (only when its labels
  // changed). `specChanged`: a new generation, an addition or a deletion, not a status write
  // or a resync. The operator's status controller enqueues from here.
  std::function<void(const std::string& kind, const std::string& ns, const std::string& name,
                     bool specChanged)>
      changed;
};

class ClusterPolicies {
 public:
  ClusterPolicies(std::shared_ptr<kube::Client> kube, Options options, Observer observer = {});
  ~ClusterPolicies();

  // Runs the informers until stop(); spawn once.
  boost::asio::awaitable<void> run();
  void stop();
  bool synced() const;
  // Fills every cache from one list each, without watching (tests, tools): as run() starts.
  boost::asio::awaitable<Status> listOnce();
  // True once every informer has synced; false if stop() came first.
  boost::asio::awaitable<bool> waitForSync();
  // The merged set; null until every informer has synced (reviews are then not answered).
  std::shared_ptr<const policy::PolicySet> current();
  // Key and trusted-root files that loaded policies read: when one changed on disk (a rotated
  // key in a mounted Secret), the policies that read it are loaded again. Returns how many were.
  size_t reloadChangedFiles();
  // What the cache holds of one resource ("ClusterImagePolicy name", "ImagePolicy ns/name").
  std::optional<ObjectState> state(const std::string& key) const;
  // The object as last listed or watched (kind set); nullopt when it does not exist.
  std::optional<nlohmann::json> object(const kube::Resource& resource,
                                       const std::string& key) const;
  // "ns/name" (or "name") of every cached object of a resource.
  std::vector<std::string> keys(const kube::Resource& resource) const;

 private:
  void onObject(const nlohmann::json& object, bool deleted);
  void onNamespace(const nlohmann::json& ns, bool deleted);
  bool absorb(const nlohmann::json& object, bool deleted);       // the spec changed
  bool absorbNamespace(const nlohmann::json& ns, bool deleted);  // labels changed

  std::shared_ptr<kube::Client> kube_;
  Options options_;
  Observer observer_;
  std::vector<std::shared_ptr<kube::Informer>> informers_;
  mutable std::mutex mu_;
  std::map<std::string, ObjectState> objects_;  // "Kind ns/name"
  std::map<std::string, policy::Labels> namespaces_;
  // Per object, the file contents that last failed to load (so each failure is reported once).
  std::map<std::string, std::string> refusedFiles_;
  std::shared_ptr<const std::map<std::string, policy::Labels>> namespaceSnapshot_;
  bool dirty_ = true;
  std::shared_ptr<const policy::PolicySet> lastFile_;
  std::shared_ptr<const policy::PolicySet> current_;
};

// Lists every policy, exception and namespace once and merges them with `file` (may be null):
// `harbormaster check --kubeconfig`. Objects that do not load are errors here.
boost::asio::awaitable<StatusOr<policy::PolicySet>> listClusterPolicies(
    kube::Client& kube, const policy::PolicySet* file, policy::LoadOptions load,
    kube::Deadline deadline);

}  // namespace hm::policysource
