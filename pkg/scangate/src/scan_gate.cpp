#include "harbormaster/scangate/scan_gate.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <list>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "harbormaster/base/encoding.h"
#include "harbormaster/harbor/client.h"
#include "harbormaster/net/flight.h"
#include "harbormaster/registry/client.h"

namespace hm::scangate {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using policy::ScanFacts;
using Clock = std::chrono::steady_clock;
using FactsPtr = std::shared_ptr<const ScanFacts>;

using Flight = net::Flight<FactsPtr>;

ScanFacts::Source classify(const Status& s) {
  switch (s.code()) {
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
      return ScanFacts::Source::kCredentials;
    case StatusCode::kNotFound:
      return ScanFacts::Source::kNotFound;
    default:
      return ScanFacts::Source::kUnreachable;
  }
}

bool isTrue(const std::map<std::string, std::string>& metadata, const std::string& key,
            bool absent) {
  auto it = metadata.find(key);
  if (it == metadata.end()) {
    return absent;
  }
  std::string v = it->second;
  std::transform(v.begin(), v.end(), v.begin(), ::tolower);
  return v == "true" || v == "1";
}

policy::ArtifactScan toScan(const harbor::Artifact& a, std::string platform) {
  policy::ArtifactScan s;
  s.digest = a.digest;
  s.platform = std::move(platform);
  if (!a.scan) {
    s.state = a.scannable ? policy::ScanState::kNotScanned : policy::ScanState::kUnsupported;
    s.status = a.scannable ? "not scanned" : "not scannable";
    return s;
  }
  s.status = a.scan->status;
  if (s.status == "Success") {
    s.state = policy::ScanState::kSuccess;
  } else if (s.status == "Pending" || s.status == "Running" || s.status == "Scheduled") {
    s.state = policy::ScanState::kPending;
  } else {
    s.state = policy::ScanState::kFailed;  // Error, Stopped, and anything Harbor adds later
  }
  s.total = a.scan->total;
  s.counts = a.scan->counts;
  return s;
}

// Success facts (every artifact scanned, or unscannable) live `ttl`; the rest change soon.
bool positive(const ScanFacts& f) {
  return f.source == ScanFacts::Source::kHarbor &&
         std::all_of(f.artifacts.begin(), f.artifacts.end(), [](const policy::ArtifactScan& a) {
           return a.state == policy::ScanState::kSuccess ||
                  a.state == policy::ScanState::kUnsupported;
         });
}

class HarborScanGate final : public ScanGate {
 public:
  HarborScanGate(HarborConnection conn, CacheOptions cache, Observer observer, std::string host,
                 std::unique_ptr<harbor::Client> harbor, std::unique_ptr<registry::Client> registry)
      : conn_(std::move(conn)),
        cache_(cache),
        observer_(std::move(observer)),
        host_(std::move(host)),
        harbor_(std::move(harbor)),
        registry_(std::move(registry)) {}

  bool serves(const imageref::Reference& ref) const override {
    return ref.registry == host_ ||
           std::find(conn_.registryHosts.begin(), conn_.registryHosts.end(), ref.registry) !=
               conn_.registryHosts.end();
  }

  const std::string& harborUrl() const override { return conn_.url; }

  awaitable<FactsPtr> facts(imageref::Reference ref, bool triggerScan, Deadline deadline) override {
    std::string digest = ref.digest;
    if (digest.empty()) {
      auto resolve = registry_->resolveDigest(ref, deadline);
      auto resolved = co_await timed("resolve", std::move(resolve));
      if (!resolved.ok()) {
        co_return failure(resolved.status(), "", "resolving " + ref.familiar());
      }
      digest = *resolved;
    }
    const std::string key = ref.registry + "/" + ref.repository + "@" + digest;
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      std::lock_guard lock(mu_);
      if (FactsPtr cached = freshLocked(key, triggerScan)) {
        note(true);
        co_return cached;
      }
      auto& slot = flights_[key];
      if (!slot) {
        slot = std::make_shared<Flight>();
        leader = true;
      }
      flight = slot;
    }
    note(false);
    if (!leader) {
      co_await flight->wait();
      co_return flight->result();
    }
    FactsPtr looked = co_await lookUp(ref, digest, triggerScan, deadline);
    FactsPtr result = store(key, looked);
    {
      std::lock_guard lock(mu_);
      flights_.erase(key);
    }
    flight->finish(result);
    co_return result;
  }

  void invalidate(const std::string& digest) override {
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->first.size() > digest.size() &&
          it->first.compare(it->first.size() - digest.size(), digest.size(), digest) == 0) {
        lru_.erase(it->second.lru);
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    projects_.clear();  // cheap to refetch; an event may follow a project change
  }

 private:
  struct Entry {
    FactsPtr facts;
    Clock::time_point fetched;
    std::list<std::string>::iterator lru;
  };

  template <typename T>
  awaitable<T> timed(std::string_view endpoint, awaitable<T> call) {
    auto start = Clock::now();
    T result = co_await std::move(call);
    if (observer_.harborCall) {
      observer_.harborCall(endpoint, std::chrono::duration<double>(Clock::now() - start).count(),
                           result.ok());
    }
    co_return result;
  }

  void note(bool hit) {
    if (observer_.cacheLookup) {
      observer_.cacheLookup(hit);
    }
  }

  FactsPtr failure(const Status& s, const std::string& digest, const std::string& what) const {
    auto f = std::make_shared<ScanFacts>();
    f->source = classify(s);
    f->error = what + ": " + s.message();
    f->digest = digest;
    f->harborUrl = conn_.url;
    return f;
  }

  FactsPtr freshLocked(const std::string& key, bool triggerScan) {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      return nullptr;
    }
    const Entry& e = it->second;
    auto ttl = positive(*e.facts) ? cache_.ttl : cache_.negativeTtl;
    if (Clock::now() - e.fetched >= ttl) {
      return nullptr;
    }
    // A caller that wants a scan triggered does not settle for facts from before one was asked.
    const bool unscanned =
        std::any_of(e.facts->artifacts.begin(), e.facts->artifacts.end(),
                    [](const auto& a) { return a.state == policy::ScanState::kNotScanned; });
    if (triggerScan && unscanned && !e.facts->scanTriggered) {
      return nullptr;
    }
    lru_.splice(lru_.begin(), lru_, e.lru);
    return e.facts;
  }

  // Caches what Harbor said; on an outage, returns the last facts seen (marked stale) if any.
  FactsPtr store(const std::string& key, FactsPtr looked) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    const bool answered = looked->source == ScanFacts::Source::kHarbor ||
                          looked->source == ScanFacts::Source::kNotFound;
    if (!answered) {
      if (it != entries_.end() &&
          Clock::now() - it->second.fetched < cache_.ttl + cache_.keepStale &&
          it->second.facts->source == ScanFacts::Source::kHarbor) {
        auto stale = std::make_shared<ScanFacts>(*it->second.facts);
        stale->source = looked->source;
        stale->error = looked->error;
        stale->stale = true;
        return stale;
      }
      return looked;
    }
    if (it != entries_.end()) {
      lru_.erase(it->second.lru);
      entries_.erase(it);
    }
    lru_.push_front(key);
    entries_[key] = Entry{looked, Clock::now(), lru_.begin()};
    while (entries_.size() > cache_.maxEntries) {
      entries_.erase(lru_.back());
      lru_.pop_back();
    }
    return looked;
  }

  awaitable<StatusOr<policy::ProjectScanPolicy>> projectPolicy(std::string name,
                                                               Deadline deadline) {
    {
      std::lock_guard lock(mu_);
      auto it = projects_.find(name);
      if (it != projects_.end() && Clock::now() - it->second.first < cache_.ttl) {
        co_return it->second.second;
      }
    }
    auto get = harbor_->getProject(name, deadline);
    auto project = co_await timed("project", std::move(get));
    if (!project.ok()) {
      co_return project.status();
    }
    policy::ProjectScanPolicy p;
    p.name = project->name;
    p.id = project->id;
    p.preventVulnerable = isTrue(project->metadata, "prevent_vul", false);
    p.severity = project->metadata.count("severity") ? project->metadata.at("severity") : "";
    p.reuseSystemAllowlist = isTrue(project->metadata, "reuse_sys_cve_allowlist", true);
    p.allowlist = {project->allowlist.items, project->allowlist.expiresAt};
    std::lock_guard lock(mu_);
    projects_[name] = {Clock::now(), p};
    co_return p;
  }

  awaitable<StatusOr<policy::HarborCveAllowlist>> systemAllowlist(Deadline deadline) {
    {
      std::lock_guard lock(mu_);
      if (systemAllowlist_ && Clock::now() - systemAllowlist_->first < cache_.ttl) {
        co_return systemAllowlist_->second;
      }
    }
    auto get = harbor_->systemAllowlist(deadline);
    auto list = co_await timed("system_allowlist", std::move(get));
    if (!list.ok()) {
      co_return list.status();
    }
    policy::HarborCveAllowlist out{list->items, list->expiresAt};
    std::lock_guard lock(mu_);
    systemAllowlist_ = std::make_pair(Clock::now(), out);
    co_return out;
  }

  awaitable<FactsPtr> lookUp(imageref::Reference ref, std::string digest, bool triggerScan,
                             Deadline deadline) {
    const size_t slash = ref.repository.find('/');
    if (slash == std::string::npos) {
      co_return failure(notFound("Harbor repositories are <project>/<name>, " + ref.repository +
                                 " has no project"),
                        digest, ref.familiar());
    }
    const std::string projectName = ref.repository.substr(0, slash);
    const std::string repo = ref.repository.substr(slash + 1);
    auto facts = std::make_shared<ScanFacts>();
    facts->digest = digest;
    facts->harborUrl = conn_.url;
    auto project = co_await projectPolicy(projectName, deadline);
    if (!project.ok()) {
      co_return failure(project.status(), digest, "project " + projectName);
    }
    facts->project = *project;
    auto get = harbor_->getArtifact(projectName, repo, digest, deadline);
    auto artifact = co_await timed("artifact", std::move(get));
    if (!artifact.ok()) {
      co_return failure(artifact.status(), digest, ref.repository + "@" + digest);
    }
    facts->uiLink = conn_.url + "/harbor/projects/" + std::to_string(project->id) +
                    "/repositories/" + hm::percentEncode(repo) + "/artifacts-tab/artifacts/" +
                    digest;
    if (artifact->children.empty()) {
      facts->artifacts.push_back(toScan(*artifact, ""));
    } else {
      // An index: Harbor's merged overview can hide a failed child, so each is judged.
      facts->isIndex = true;
      for (size_t i = 0; i < artifact->children.size(); ++i) {
        auto getChild = harbor_->getArtifact(projectName, repo, artifact->children[i], deadline);
        auto child = co_await timed("artifact", std::move(getChild));
        if (!child.ok()) {
          co_return failure(child.status(), digest, "platform " + artifact->childPlatforms[i]);
        }
        facts->artifacts.push_back(toScan(*child, artifact->childPlatforms[i]));
      }
    }
    for (policy::ArtifactScan& scan : facts->artifacts) {
      if (scan.state != policy::ScanState::kSuccess || scan.total == 0) {
        continue;
      }
      auto getList = harbor_->vulnerabilities(projectName, repo, scan.digest, deadline);
      auto list = co_await timed("vulnerabilities", std::move(getList));
      if (!list.ok()) {
        co_return failure(list.status(), digest, "vulnerabilities of " + scan.digest);
      }
      if (*list) {
        for (const auto& v : (*list)->vulnerabilities) {
          scan.findings.push_back({v.id, v.package, v.version, v.fixVersion, v.severity});
        }
      }
    }
    if (project->reuseSystemAllowlist) {
      auto system = co_await systemAllowlist(deadline);
      if (!system.ok()) {
        co_return failure(system.status(), digest, "system CVE allowlist");
      }
      facts->systemAllowlist = *system;
    }
    const bool unscanned =
        std::any_of(facts->artifacts.begin(), facts->artifacts.end(),
                    [](const auto& a) { return a.state == policy::ScanState::kNotScanned; });
    if (triggerScan && unscanned) {
      auto scan = harbor_->scanArtifact(projectName, repo, digest, deadline);
      Status s = co_await timed("scan", std::move(scan));
      // 409: a scan is already running, which is what we asked for.
      facts->scanTriggered = s.ok() || s.code() == StatusCode::kConflict;
    }
    co_return facts;
  }

  HarborConnection conn_;
  CacheOptions cache_;
  Observer observer_;
  std::string host_;
  std::unique_ptr<harbor::Client> harbor_;
  std::unique_ptr<registry::Client> registry_;

  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recently used first
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
  std::unordered_map<std::string, std::pair<Clock::time_point, policy::ProjectScanPolicy>>
      projects_;
  std::optional<std::pair<Clock::time_point, policy::HarborCveAllowlist>> systemAllowlist_;
};

}  // namespace

StatusOr<std::vector<std::string>> digestsInvalidatedBy(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false, /*ignore_comments=*/false);
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return invalidArgument("not a Harbor event: a JSON object with a string \"type\" is expected");
  }
  const std::string type = j["type"].get<std::string>();
  // CloudEvents carry event_data as "data" and dotted type names.
  const bool cloudEvent = j.contains("specversion");
  static const std::set<std::string> relevant = {
      "SCANNING_COMPLETED",     "SCANNING_FAILED",     "SCANNING_STOPPED",
      "PUSH_ARTIFACT",          "DELETE_ARTIFACT",     "harbor.scan.completed",
      "harbor.scan.failed",     "harbor.scan.stopped", "harbor.artifact.pushed",
      "harbor.artifact.deleted"};
  if (!relevant.count(type)) {
    return std::vector<std::string>{};
  }
  const char* dataKey = cloudEvent ? "data" : "event_data";
  if (!j.contains(dataKey) || !j[dataKey].is_object() || !j[dataKey].contains("resources") ||
      !j[dataKey]["resources"].is_array()) {
    return invalidArgument(std::string("Harbor event ") + type + " has no " + dataKey +
                           ".resources list");
  }
  std::vector<std::string> digests;
  for (const auto& r : j[dataKey]["resources"]) {
    if (r.is_object() && r.contains("digest") && r["digest"].is_string() &&
        imageref::validateDigest(r["digest"].get<std::string>()).ok()) {
      digests.push_back(r["digest"].get<std::string>());
    }
  }
  return digests;
}

awaitable<void> attachScanFacts(ScanGate* gate, const policy::PolicySet& policies, std::string ns,
                                std::vector<policy::ImageUse>& images, Deadline deadline) {
  if (gate == nullptr) {
    co_return;
  }
  struct Lookup {
    imageref::Reference ref;
    bool triggerScan = false;
    FactsPtr facts;
  };
  std::map<std::string, Lookup> byImage;  // a Pod often repeats an image
  for (const policy::ImageUse& use : images) {
    policy::ScanNeed need = policy::scanNeed(policies, ns, use);
    auto ref = imageref::parse(use.image);
    if (!need.needed || !ref.ok()) {
      continue;  // evaluate() reports an unparseable reference itself
    }
    Lookup& l = byImage[use.image];
    l.ref = *ref;
    l.triggerScan = l.triggerScan || need.triggerScan;
    if (!gate->serves(*ref)) {
      auto f = std::make_shared<ScanFacts>();
      f->source = ScanFacts::Source::kNotHarbor;
      f->error = "registry " + ref->registry + " is not the Harbor at " + gate->harborUrl();
      l.facts = f;
    }
  }
  std::vector<std::function<awaitable<void>()>> tasks;
  for (auto& [_, l] : byImage) {
    if (!l.facts) {
      Lookup* slot = &l;
      tasks.push_back([gate, slot, deadline]() -> awaitable<void> {
        auto lookup = gate->facts(slot->ref, slot->triggerScan, deadline);
        slot->facts = co_await std::move(lookup);
      });
    }
  }
  co_await net::runConcurrently(std::move(tasks));
  for (policy::ImageUse& use : images) {
    auto it = byImage.find(use.image);
    if (it == byImage.end()) {
      continue;
    }
    use.scan = it->second.facts;
    if (use.resolvedDigest.empty() && use.scan->source == ScanFacts::Source::kHarbor) {
      use.resolvedDigest = use.scan->digest;
    }
  }
}

StatusOr<std::unique_ptr<ScanGate>> ScanGate::create(asio::any_io_executor executor,
                                                     HarborConnection harbor, CacheOptions cache,
                                                     Observer observer) {
  auto url = net::parseUrl(harbor.url);
  if (!url.ok()) {
    return url.status().withContext("--harbor-url");
  }
  net::ClientOptions co;
  if (!harbor.caFile.empty()) {
    co.caFile = harbor.caFile;
  }
  auto http = net::HttpClient::create(executor, co);
  if (!http.ok()) {
    return http.status();
  }
  std::shared_ptr<net::HttpClient> shared(std::move(*http));
  const std::string host = url->authority();
  registry::RegistryOptions ro;
  std::vector<std::string> hosts = harbor.registryHosts;
  hosts.push_back(host);
  for (const auto& h : hosts) {
    if (!harbor.username.empty()) {
      ro.credentials[h] = {harbor.username, harbor.password};
    }
    if (url->scheme == "http") {
      ro.plainHttpHosts.insert(h);
    }
  }
  auto registryClient = std::make_unique<registry::Client>(shared, ro);
  auto harborClient = std::make_unique<harbor::Client>(
      shared, harbor::HarborOptions{harbor.url, harbor.username, harbor.password});
  return std::unique_ptr<ScanGate>(new HarborScanGate(std::move(harbor), cache, std::move(observer),
                                                      host, std::move(harborClient),
                                                      std::move(registryClient)));
}

}  // namespace hm::scangate
