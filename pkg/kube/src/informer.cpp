#include "harbormaster/kube/informer.h"

#include <malloc.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "harbormaster/base/log.h"
#include "harbormaster/net/task_group.h"

namespace hm::kube {

namespace asio = boost::asio;
using asio::awaitable;
using nlohmann::json;

namespace {

awaitable<void> sleepFor(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

std::string versionOf(const json& object) {
  return object.contains("metadata") && object["metadata"].is_object()
             ? object["metadata"].value("resourceVersion", "")
             : "";
}

}  // namespace

Informer::Informer(std::shared_ptr<Client> kube, InformerOptions options, InformerHandlers handlers)
    : kube_(std::move(kube)), options_(std::move(options)), handlers_(std::move(handlers)) {}

std::string Informer::keyOf(const json& object) {
  const json& meta = object.at("metadata");
  std::string ns = meta.value("namespace", "");
  return ns.empty() ? meta.value("name", "") : ns + "/" + meta.value("name", "");
}

std::optional<json> Informer::get(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = cache_.find(key);
  return it == cache_.end() ? std::nullopt : std::optional<json>(it->second);
}

std::vector<json> Informer::list() const {
  std::lock_guard lock(mu_);
  std::vector<json> out;
  for (const auto& [_, o] : cache_) {
    out.push_back(o);
  }
  return out;
}

void Informer::addIndex(std::string name,
                        std::function<std::vector<std::string>(const json&)> values) {
  std::lock_guard lock(mu_);
  auto& index = indexes_[name];
  index.clear();
  for (const auto& [key, o] : cache_) {
    for (const auto& v : values(o)) {
      index[v].insert(key);
    }
  }
  indexers_[std::move(name)] = std::move(values);
}

std::vector<json> Informer::byIndex(const std::string& name, const std::string& value) const {
  std::lock_guard lock(mu_);
  std::vector<json> out;
  auto index = indexes_.find(name);
  if (index == indexes_.end()) {
    return out;
  }
  auto keys = index->second.find(value);
  if (keys == index->second.end()) {
    return out;
  }
  for (const auto& key : keys->second) {
    out.push_back(cache_.at(key));
  }
  return out;
}

// Kept up to date on every change, so a lookup costs its result, not a scan of the cache.
void Informer::reindex(const std::string& key, const json* before, const json* after) {
  for (const auto& [name, values] : indexers_) {
    auto& index = indexes_[name];
    if (before) {
      for (const auto& v : values(*before)) {
        auto it = index.find(v);
        if (it != index.end()) {
          it->second.erase(key);
          if (it->second.empty()) {
            index.erase(it);
          }
        }
      }
    }
    if (after) {
      for (const auto& v : values(*after)) {
        index[v].insert(key);
      }
    }
  }
}

void Informer::upsert(const json& raw, bool transformed) {
  const json object = options_.transform && !transformed ? options_.transform(raw) : raw;
  std::optional<json> before;
  {
    std::lock_guard lock(mu_);
    const std::string key = keyOf(object);
    auto& slot = cache_[key];
    if (!slot.is_null()) {
      before = slot;
    }
    slot = object;
    reindex(key, before ? &*before : nullptr, &object);
  }
  if (!before) {
    if (handlers_.onAdd) {
      handlers_.onAdd(object);
    }
  } else if (versionOf(*before) != versionOf(object) && handlers_.onUpdate) {
    handlers_.onUpdate(*before, object);
  }
}

void Informer::erase(const std::string& key) {
  std::optional<json> gone;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      gone = std::move(it->second);
      cache_.erase(it);
      reindex(key, &*gone, nullptr);
    }
  }
  if (gone && handlers_.onDelete) {
    handlers_.onDelete(*gone);
  }
}

void Informer::apply(const WatchEvent& e) {
  std::string rv = versionOf(e.object);
  if (!rv.empty()) {
    resourceVersion_ = rv;
  }
  if (e.type == "ADDED" || e.type == "MODIFIED") {
    upsert(e.object);
  } else if (e.type == "DELETED") {
    erase(keyOf(e.object));
  }
}

awaitable<Status> Informer::relist() {
  ListOptions lo;
  lo.labelSelector = options_.labelSelector;
  lo.fieldSelector = options_.fieldSelector;
  // Page by page, so the whole list is never held untransformed; a client that does not apply
  // it (a test's) leaves it to upsert().
  auto applied = std::make_shared<bool>(false);
  if (options_.transform) {
    lo.transform = [transform = options_.transform, applied](const json& item) {
      *applied = true;
      return transform(item);
    };
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto listed = co_await kube_->list(options_.resource, options_.nameSpace, lo, deadline);
  if (!listed.ok()) {
    co_return listed.status();
  }
  std::map<std::string, json> fresh;
  for (auto& item : (*listed)["items"]) {
    // The key first: json's operator= takes its argument by value, and C++17 evaluates the
    // right side of an assignment first, so the move would come before keyOf() reads it.
    std::string key = keyOf(item);
    fresh[std::move(key)] = std::move(item);
  }
  const std::string listedVersion = (*listed)["metadata"].value("resourceVersion", "");
  listed->clear();
  // What vanished while we were not watching gets its delete now.
  std::vector<std::string> vanished;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, _] : cache_) {
      if (!fresh.count(key)) {
        vanished.push_back(key);
      }
    }
  }
  for (const auto& key : vanished) {
    erase(key);
  }
  for (const auto& [_, item] : fresh) {
    upsert(item, *applied);
  }
  resourceVersion_ = listedVersion;
  synced_ = true;
  syncFlight_->finish(true);
  co_return okStatus();
}

void Informer::stop() {
  stopping_ = true;
  syncFlight_->finish(false);  // a first result stands: a synced cache stays synced
}

awaitable<bool> Informer::waitForSync() {
  auto flight = syncFlight_;
  co_await flight->wait();
  co_return flight->result();
}

awaitable<void> Informer::resyncLoop() {
  while (!stopping_) {
    co_await sleepFor(options_.resync);
    if (stopping_ || !handlers_.onUpdate) {
      continue;
    }
    // One object at a time: a copy of the whole cache (10,000 Secrets) every period is what
    // grew the operator's memory at steady state (glibc keeps the freed pages).
    std::vector<std::string> keys;
    {
      std::lock_guard lock(mu_);
      keys.reserve(cache_.size());
      for (const auto& [key, _] : cache_) {
        keys.push_back(key);
      }
    }
    for (const auto& key : keys) {
      if (auto o = get(key)) {
        handlers_.onUpdate(*o, *o);
      }
    }
    keys = {};
    ::malloc_trim(0);  // give what the pass freed back to the system
  }
}

awaitable<void> Informer::run() {
  auto executor = co_await asio::this_coro::executor;
  asio::co_spawn(executor, resyncLoop(),
                 net::LogFailure{"informer resync " + options_.resource.resource});
  auto backoff = options_.initialBackoff;
  bool needList = true;
  while (!stopping_) {
    if (needList) {
      Status listed = co_await relist();
      if (!listed.ok()) {
        log::warn("Informer list failed; retrying",
                  {{"resource", options_.resource.resource}, {"error", listed.message()}});
        co_await sleepFor(backoff);
        backoff = std::min(backoff * 2, options_.maxBackoff);
        continue;
      }
      needList = false;
    }
    WatchOptions wo;
    wo.resourceVersion = resourceVersion_;
    wo.labelSelector = options_.labelSelector;
    wo.fieldSelector = options_.fieldSelector;
    wo.timeoutSeconds = options_.watchTimeoutSeconds;
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(options_.watchTimeoutSeconds + 30);
    bool sawEvent = false;
    Status watched = co_await kube_->watch(
        options_.resource, options_.nameSpace, wo,
        [&](const WatchEvent& e) {
          sawEvent = true;
          apply(e);
          return !stopping_;
        },
        deadline);
    if (watched.ok()) {
      backoff = options_.initialBackoff;  // ended normally: resume from the last version
      continue;
    }
    if (watched.code() == StatusCode::kGone) {
      needList = true;  // history moved on: list again, deleting what vanished
      continue;
    }
    if (sawEvent) {
      backoff = options_.initialBackoff;
    }
    log::warn("Informer watch failed; retrying",
              {{"resource", options_.resource.resource}, {"error", watched.message()}});
    co_await sleepFor(backoff);
    backoff = std::min(backoff * 2, options_.maxBackoff);
  }
}

}  // namespace hm::kube
