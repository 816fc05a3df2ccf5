#include "harbormaster/eventrelay/relay.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>

#include "harbormaster/base/log.h"

namespace hm::eventrelay {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

const kube::Resource kConfigMaps{"", "v1", "configmaps"};

json noticesOf(const json& configMap) {
  if (!configMap.is_object() || !configMap.contains("data") || !configMap["data"].is_object()) {
    return json::array();
  }
  const json& data = configMap["data"];
  if (!data.contains("notices") || !data["notices"].is_string()) {
    return json::array();
  }
  json list = json::parse(data["notices"].get<std::string>(), nullptr, false);
  return list.is_array() ? list : json::array();
}

std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array()) {
    for (const auto& s : j[key]) {
      if (s.is_string() && out.size() < kMaxNamesPerNotice) {
        out.push_back(s.get<std::string>());
      }
    }
  }
  return out;
}

// Several notices as one, each name once, at most kMaxNamesPerNotice of each kind.
std::vector<harbor::Invalidation> coalesce(const std::vector<harbor::Invalidation>& in) {
  std::vector<harbor::Invalidation> out;
  std::set<std::string> digests, tags;
  harbor::Invalidation current;
  for (const auto& n : in) {
    for (const auto& d : n.digests) {
      if (digests.insert(d).second) {
        if (current.digests.size() == kMaxNamesPerNotice) {
          out.push_back(std::move(current));
          current = {};
        }
        current.digests.push_back(d);
      }
    }
    for (const auto& t : n.tags) {
      if (tags.insert(t).second) {
        if (current.tags.size() == kMaxNamesPerNotice) {
          out.push_back(std::move(current));
          current = {};
        }
        current.tags.push_back(t);
      }
    }
  }
  if (!current.empty()) {
    out.push_back(std::move(current));
  }
  return out;
}

}  // namespace

json withNotice(const json& current, const std::string& nameSpace,
                const harbor::Invalidation& notice) {
  json list = noticesOf(current);
  int64_t seq = 0;
  for (const auto& n : list) {
    if (n.is_object() && n.contains("seq") && n["seq"].is_number_integer()) {
      seq = std::max(seq, n["seq"].get<int64_t>());
    }
  }
  list.push_back({{"seq", seq + 1}, {"digests", notice.digests}, {"tags", notice.tags}});
  while (list.size() > kMaxNotices) {
    list.erase(list.begin());
  }
  json out = current.is_object() ? current : json::object();
  out["apiVersion"] = "v1";
  out["kind"] = "ConfigMap";
  out["metadata"]["name"] = kConfigMapName;
  out["metadata"]["namespace"] = nameSpace;
  out["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "harbormaster";
  out["data"] = {{"notices", list.dump()}};
  return out;
}

Received noticesAfter(const json& configMap, int64_t after) {
  Received r;
  const json list = noticesOf(configMap);
  for (const auto& n : list) {
    if (n.is_object() && n.contains("seq") && n["seq"].is_number_integer()) {
      r.lastSeq = std::max(r.lastSeq, n["seq"].get<int64_t>());
    }
  }
  // Made anew: its numbers started again, so everything in it is news.
  const int64_t from = r.lastSeq < after ? 0 : after;
  for (const auto& n : list) {
    if (!n.is_object() || !n.contains("seq") || !n["seq"].is_number_integer() ||
        n["seq"].get<int64_t>() <= from) {
      continue;
    }
    harbor::Invalidation i;
    i.digests = strings(n, "digests");
    i.tags = strings(n, "tags");
    r.notices.push_back(std::move(i));
  }
  return r;
}

Publisher::Publisher(asio::any_io_executor executor, std::shared_ptr<kube::Client> kube,
                     std::string nameSpace)
    : executor_(executor),
      kube_(std::move(kube)),
      nameSpace_(std::move(nameSpace)),
      wake_(executor, asio::steady_timer::time_point::max()) {}

void Publisher::publish(harbor::Invalidation notice) {
  if (notice.empty()) {
    return;
  }
  {
    std::lock_guard lock(mu_);
    pending_.push_back(std::move(notice));
    // Bounded whatever the API server does: the oldest are dropped (each is also in the
    // caches' own TTLs, so a dropped notice costs freshness, not correctness).
    if (pending_.size() > kMaxNotices * 4) {
      pending_.erase(pending_.begin());
    }
  }
  asio::post(executor_, [this] { wake_.cancel(); });
}

void Publisher::stop() {
  asio::post(executor_, [this] {
    stopped_ = true;
    wake_.cancel();
  });
}

asio::awaitable<void> Publisher::run() {
  std::chrono::milliseconds backoff{200};
  while (!stopped_) {
    boost::system::error_code ec;
    bool queued = false;
    {
      std::lock_guard lock(mu_);
      queued = !pending_.empty();
    }
    if (!queued) {
      // publish() posts the wake-up to this strand: it runs after this wait began (or found the
      // queue non-empty above), so none is lost.
      co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      wake_.expires_at(asio::steady_timer::time_point::max());
      continue;
    }
    // A moment for the notifications of one push (an index and its children) to come together.
    asio::steady_timer gather(executor_, std::chrono::milliseconds(50));
    co_await gather.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::vector<harbor::Invalidation> taken;
    {
      std::lock_guard lock(mu_);
      taken.swap(pending_);
    }
    std::vector<harbor::Invalidation> failed;
    for (auto& notice : coalesce(taken)) {
      Status s = co_await write(notice);
      if (!s.ok()) {
        log::warn("Could not relay a Harbor notification to the webhook replicas",
                  {{"error", s.message()}});
        failed.push_back(std::move(notice));
      }
    }
    if (failed.empty()) {
      backoff = std::chrono::milliseconds(200);
      continue;
    }
    {
      std::lock_guard lock(mu_);
      pending_.insert(pending_.begin(), failed.begin(), failed.end());
      while (pending_.size() > kMaxNotices * 4) {
        pending_.erase(pending_.begin());  // the oldest go first, as in publish()
      }
    }
    asio::steady_timer wait(executor_, backoff);
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(10'000));
  }
}

asio::awaitable<Status> Publisher::write(harbor::Invalidation notice) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    auto current = co_await kube_->get(kConfigMaps, nameSpace_, kConfigMapName, deadline);
    if (!current.ok() && current.status().code() != StatusCode::kNotFound) {
      co_return current.status();
    }
    const json base = current.ok() ? *current : json();
    json next = withNotice(base, nameSpace_, notice);
    Status written = okStatus();
    if (current.ok()) {
      auto updated = co_await kube_->update(kConfigMaps, nameSpace_, std::move(next), deadline);
      written = updated.status();
    } else {
      auto created = co_await kube_->create(kConfigMaps, nameSpace_, std::move(next), deadline);
      written = created.status();
    }
    if (written.ok()) {
      co_return okStatus();
    }
    // Another replica wrote first: read again.
    if (written.code() != StatusCode::kConflict && written.code() != StatusCode::kAlreadyExists) {
      co_return written;
    }
  }
  co_return conflict("the ConfigMap " + std::string(kConfigMapName) + " kept changing");
}

Subscriber::Subscriber(std::shared_ptr<kube::Client> kube, std::string nameSpace,
                       std::function<void(const harbor::Invalidation&)> apply)
    : apply_(std::move(apply)) {
  kube::InformerOptions o;
  o.resource = kConfigMaps;
  o.nameSpace = std::move(nameSpace);
  o.fieldSelector = std::string("metadata.name=") + kConfigMapName;
  kube::InformerHandlers h;
  h.onAdd = [this](const json& cm) { seen(cm); };
  h.onUpdate = [this](const json&, const json& cm) { seen(cm); };
  informer_ = std::make_shared<kube::Informer>(std::move(kube), o, h);
}

void Subscriber::seen(const json& configMap) {
  Received r = noticesAfter(configMap, std::max<int64_t>(lastSeq_, 0));
  if (lastSeq_ < 0 && !informer_->synced()) {
    // In the first list: there before this replica started, and its caches hold nothing older.
    lastSeq_ = r.lastSeq;
    return;
  }
  if (r.lastSeq == lastSeq_) {
    return;  // a resync, or a change that added nothing
  }
  lastSeq_ = r.lastSeq;
  for (const auto& n : r.notices) {
    apply_(n);
  }
}

asio::awaitable<void> Subscriber::run() {
  co_await informer_->run();
}

void Subscriber::stop() {
  informer_->stop();
}

}  // namespace hm::eventrelay
