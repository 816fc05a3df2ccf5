#include "harbormaster/policysource/cluster_policies.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include "harbormaster/base/log.h"
#include "harbormaster/kube/informer.h"
#include "harbormaster/net/task_group.h"

namespace hm::policysource {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// Items of a list may come without apiVersion and kind (built-in lists omit them; a CR list
// carries them, but nothing promises it): the resource says which kind it is.
json withKind(json object, const kube::Resource& r) {
  static const std::map<std::string, std::string> kinds{
      {"clusterimagepolicies", "ClusterImagePolicy"},
      {"imagepolicies", "ImagePolicy"},
      {"imageexceptions", "ImageException"}};
  object["apiVersion"] = r.group + "/" + r.version;
  object["kind"] = kinds.at(r.resource);
  return object;
}

size_t indexOf(const kube::Resource& r) {
  return r.resource == kClusterImagePolicies.resource ? 0
         : r.resource == kImagePolicies.resource      ? 1
                                                      : 2;
}

}  // namespace

namespace {

// A string field, or "" when absent or of another type (json::value() would throw).
std::string text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
json metadataOf(const json& object) {
  auto m = object.find("metadata");
  return m != object.end() && m->is_object() ? *m : json::object();
}
int64_t generationOf(const json& object) {
  const json meta = metadataOf(object);
  auto g = meta.find("generation");
  return g != meta.end() && g->is_number_integer() ? g->get<int64_t>() : 0;
}

}  // namespace

std::string objectKey(const json& object) {
  const json meta = metadataOf(object);
  const std::string ns = text(meta, "namespace");
  return text(object, "kind") + " " + (ns.empty() ? "" : ns + "/") + text(meta, "name");
}

Status update(ObjectState& state, const json& object, const policy::LoadOptions& load) {
  state.seenGeneration = generationOf(object);
  auto parsed = policy::parseObject(object, load);
  if (!parsed.ok()) {
    state.error = parsed.status().message();
    return parsed.status();
  }
  if (parsed->policy && !parsed->policy->unenforceable.empty()) {
    // Loaded and judged under its mode: every image it selects is "cannot be enforced".
    log::warn("Loaded policy that cannot be enforced: a file it reads does not load",
              {{"object", objectKey(object)}, {"reason", parsed->policy->unenforceable}});
  }
  state.lastValid = std::make_shared<const policy::ParsedObject>(std::move(*parsed));
  state.lastValidGeneration = state.seenGeneration;
  state.error.clear();
  return okStatus();
}

std::pair<std::string, policy::Labels> namespaceLabels(const json& ns) {
  const json meta = metadataOf(ns);
  policy::Labels labels;
  auto given = meta.find("labels");
  if (given != meta.end() && given->is_object()) {
    for (const auto& [k, v] : given->items()) {
      if (v.is_string()) {
        labels[k] = v.get<std::string>();
      }
    }
  }
  return {text(meta, "name"), std::move(labels)};
}

policy::PolicySet merge(const policy::PolicySet* file,
                        const std::map<std::string, ObjectState>& objects,
                        std::shared_ptr<const std::map<std::string, policy::Labels>> namespaces,
                        const policy::LoadOptions& load) {
  policy::PolicySet set;
  if (file != nullptr) {
    set = *file;
  } else {
    set.defaultExcludedNamespaces.push_back("kube-system");
    if (!load.ownNamespace.empty() && load.ownNamespace != "kube-system") {
      set.defaultExcludedNamespaces.push_back(load.ownNamespace);
    }
  }
  for (const auto& [key, state] : objects) {
    if (!state.lastValid) {
      continue;  // never loaded: nothing to enforce (its status says why)
    }
    if (state.lastValid->policy) {
      set.policies.push_back(*state.lastValid->policy);
    } else if (state.lastValid->exception) {
      const auto& ex = *state.lastValid->exception;
      set.exceptions[ex.nameSpace].push_back(ex);
    }
    for (const auto& [path, text] : state.lastValid->files) {
      set.files.emplace(path, text);
    }
  }
  set.namespaceLabels = std::move(namespaces);
  return set;
}

ClusterPolicies::ClusterPolicies(std::shared_ptr<kube::Client> kube, Options options,
                                 Observer observer)
    : kube_(std::move(kube)), options_(std::move(options)), observer_(std::move(observer)) {
  auto informer = [this](const kube::Resource& r, kube::InformerHandlers h) {
    kube::InformerOptions o;
    o.resource = r;
    o.resync = options_.resync;
    // Until the CRDs exist a list fails; a replica should be ready soon after they do.
    o.maxBackoff = std::chrono::seconds(5);
    return std::make_shared<kube::Informer>(kube_, o, std::move(h));
  };
  for (const auto* r : {&kClusterImagePolicies, &kImagePolicies, &kImageExceptions}) {
    informers_.push_back(
        informer(*r, {[this, r](const json& o) { onObject(withKind(o, *r), false); },
                      [this, r](const json&, const json& o) { onObject(withKind(o, *r), false); },
                      [this, r](const json& o) { onObject(withKind(o, *r), true); }}));
  }
  informers_.push_back(
      informer(kNamespaces, {[this](const json& o) { onNamespace(o, false); },
                             [this](const json&, const json& o) { onNamespace(o, false); },
                             [this](const json& o) { onNamespace(o, true); }}));
}

ClusterPolicies::~ClusterPolicies() {
  stop();
}

asio::awaitable<void> ClusterPolicies::run() {
  auto ex = co_await asio::this_coro::executor;
  for (const auto& inf : informers_) {
    // The coroutine holds its informer; its handlers use this object, which its owner keeps
    // until the io_context has stopped (as the webhook and the operator do).
    asio::co_spawn(
        ex, [inf]() -> asio::awaitable<void> { co_await inf->run(); },
        net::LogFailure{"policy informer"});
  }
}

asio::awaitable<Status> ClusterPolicies::listOnce() {
  for (const auto& inf : informers_) {
    if (Status s = co_await inf->listOnce(); !s.ok()) {
      co_return s;
    }
  }
  co_return okStatus();
}

void ClusterPolicies::stop() {
  for (const auto& inf : informers_) {
    inf->stop();
  }
}

asio::awaitable<bool> ClusterPolicies::waitForSync() {
  for (const auto& inf : informers_) {
    if (!co_await inf->waitForSync()) {
      co_return false;
    }
  }
  co_return true;
}

bool ClusterPolicies::synced() const {
  for (const auto& inf : informers_) {
    if (!inf->synced()) {
      return false;
    }
  }
  return true;
}

void ClusterPolicies::onObject(const json& object, bool deleted) {
  const bool specChanged = absorb(object, deleted);
  if (observer_.changed) {
    const json meta = metadataOf(object);
    observer_.changed(text(object, "kind"), text(meta, "namespace"), text(meta, "name"),
                      specChanged);
  }
}

bool ClusterPolicies::absorb(const json& object, bool deleted) {
  const std::string key = objectKey(object);
  std::lock_guard lock(mu_);
  if (deleted) {
    dirty_ = true;
    objects_.erase(key);
    return true;
  }
  ObjectState& state = objects_[key];
  const int64_t generation = generationOf(object);
  if (generation != 0 && generation == state.seenGeneration) {
    return false;  // a status write or a resync: this spec was loaded (or refused) already
  }
  dirty_ = true;
  Status s = update(state, object, options_.load);
  if (!s.ok()) {
    log::warn("Rejected invalid policy resource; its last valid generation stays in force",
              {{"object", key},
               {"enforcedGeneration", state.lastValid ? state.lastValidGeneration : 0},
               {"error", s.message()}});
    if (observer_.rejected) {
      observer_.rejected(key, s);
    }
  }
  return true;
}

void ClusterPolicies::onNamespace(const json& ns, bool deleted) {
  if (absorbNamespace(ns, deleted) && observer_.changed) {
    observer_.changed("Namespace", "", text(metadataOf(ns), "name"), true);
  }
}

bool ClusterPolicies::absorbNamespace(const json& ns, bool deleted) {
  auto [name, labels] = namespaceLabels(ns);
  std::lock_guard lock(mu_);
  auto it = namespaces_.find(name);
  if (deleted) {
    if (it == namespaces_.end()) {
      return false;
    }
    namespaces_.erase(it);
  } else if (it != namespaces_.end() && it->second == labels) {
    return false;  // labels unchanged: nothing a selector sees
  } else {
    namespaces_[name] = std::move(labels);
  }
  namespaceSnapshot_.reset();
  dirty_ = true;
  return true;
}

size_t ClusterPolicies::reloadChangedFiles() {
  // Which objects read a file that now differs; the files are read outside the lock.
  std::map<std::string, std::map<std::string, std::string>> read;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, state] : objects_) {
      if (state.lastValid && !state.lastValid->files.empty()) {
        read[key] = state.lastValid->files;
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> stale;  // key, what the files hold now
  for (const auto& [key, files] : read) {
    bool changed = false;
    std::string contents;
    for (const auto& [path, text] : files) {
      const std::string now = policy::snapshotReferencedFile(path);
      changed = changed || now != text;
      contents += path + '\0' + now + '\0';
    }
    std::lock_guard lock(mu_);
    if (changed && refusedFiles_[key] != contents) {
      stale.emplace_back(key, std::move(contents));
    }
  }
  size_t reloaded = 0;
  for (const auto& [key, contents] : stale) {
    const std::string kind = key.substr(0, key.find(' '));
    const kube::Resource& r = kind == "ClusterImagePolicy" ? kClusterImagePolicies
                              : kind == "ImagePolicy"      ? kImagePolicies
                                                           : kImageExceptions;
    auto o = object(r, key.substr(key.find(' ') + 1));
    if (!o) {
      continue;
    }
    std::lock_guard lock(mu_);
    ObjectState& state = objects_[key];
    ObjectState next = state;
    // A file that is missing or does not load makes the policy "cannot be enforced" (judged
    // per its mode, never skipped); only a spec the loader refuses keeps the previous load.
    if (Status s = update(next, *o, options_.load); !s.ok()) {
      log::warn("Kept policy in force: it no longer loads after a file it reads changed",
                {{"object", key}, {"error", s.message()}});
      if (observer_.rejected) {
        observer_.rejected(key, s);
      }
      state.error = next.error;
      refusedFiles_[key] = contents;  // reported once, not on every pass
      continue;
    }
    refusedFiles_.erase(key);
    state = std::move(next);
    dirty_ = true;
    ++reloaded;
  }
  return reloaded;
}

std::optional<ObjectState> ClusterPolicies::state(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<json> ClusterPolicies::object(const kube::Resource& resource,
                                            const std::string& key) const {
  auto o = informers_[indexOf(resource)]->get(key);
  if (!o) {
    return std::nullopt;
  }
  return withKind(std::move(*o), resource);
}

std::vector<std::string> ClusterPolicies::keys(const kube::Resource& resource) const {
  std::vector<std::string> out;
  for (const json& o : informers_[indexOf(resource)]->list()) {
    out.push_back(kube::Informer::keyOf(o));
  }
  return out;
}

std::shared_ptr<const policy::PolicySet> ClusterPolicies::current() {
  std::shared_ptr<const policy::PolicySet> file;
  if (options_.filePolicies) {
    file = options_.filePolicies();
    if (file == nullptr) {
      return nullptr;
    }
  }
  std::lock_guard lock(mu_);
  if (current_ == nullptr && !synced()) {
    return nullptr;
  }
  // Rebuilt on the first review after a change, so a burst of events costs one merge.
  if (dirty_ || file != lastFile_ || current_ == nullptr) {
    if (namespaceSnapshot_ == nullptr) {
      namespaceSnapshot_ =
          std::make_shared<const std::map<std::string, policy::Labels>>(namespaces_);
    }
    current_ = std::make_shared<const policy::PolicySet>(
        merge(file.get(), objects_, namespaceSnapshot_, options_.load));
    lastFile_ = std::move(file);
    dirty_ = false;
  }
  return current_;
}

asio::awaitable<StatusOr<policy::PolicySet>> listClusterPolicies(kube::Client& kube,
                                                                 const policy::PolicySet* file,
                                                                 policy::LoadOptions load,
                                                                 kube::Deadline deadline) {
  // Arguments of co_awaited calls are named variables (GCC 12: docs/architecture.md).
  const kube::ListOptions all;
  const std::string everyNamespace;
  std::map<std::string, ObjectState> objects;
  for (const auto* r : {&kClusterImagePolicies, &kImagePolicies, &kImageExceptions}) {
    StatusOr<json> list = co_await kube.list(*r, everyNamespace, all, deadline);
    if (!list.ok()) {
      co_return list.status().withContext("listing " + r->resource);
    }
    for (const json& listed : list->value("items", json::array())) {
      const json item = withKind(listed, *r);
      ObjectState& state = objects[objectKey(item)];
      if (Status s = update(state, item, load); !s.ok()) {
        co_return s;
      }
    }
  }
  StatusOr<json> namespaces = co_await kube.list(kNamespaces, everyNamespace, all, deadline);
  if (!namespaces.ok()) {
    co_return namespaces.status().withContext("listing namespaces");
  }
  auto labels = std::make_shared<std::map<std::string, policy::Labels>>();
  for (const json& item : namespaces->value("items", json::array())) {
    labels->insert(namespaceLabels(item));
  }
  policy::PolicySet merged = merge(file, objects, std::move(labels), load);
  co_return merged;
}

}  // namespace hm::policysource
