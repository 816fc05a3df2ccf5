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
#include "harbormaster/facts/fact_cache.h"
#include "harbormaster/harbor/client.h"
#include "harbormaster/net/task_group.h"

namespace hm::scangate {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using policy::ScanFacts;
using Steady = std::chrono::steady_clock;
using FactsPtr = std::shared_ptr<const ScanFacts>;

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

bool unscanned(const ScanFacts& f) {
  return std::any_of(f.artifacts.begin(), f.artifacts.end(),
                     [](const auto& a) { return a.state == policy::ScanState::kNotScanned; });
}

policy::ProjectScanPolicy toProjectPolicy(const harbor::Project& project) {
  policy::ProjectScanPolicy p;
  p.name = project.name;
  p.id = project.id;
  p.preventVulnerable = isTrue(project.metadata, "prevent_vul", false);
  p.severity = project.metadata.count("severity") ? project.metadata.at("severity") : "";
  p.reuseSystemAllowlist = isTrue(project.metadata, "reuse_sys_cve_allowlist", true);
  p.allowlist = {project.allowlist.items, project.allowlist.expiresAt};
  return p;
}

// What one manifest's calls found: the artifact and, fetched alongside, its vulnerability
// report (used only when the scan succeeded with findings).
struct ArtifactCalls {
  StatusOr<harbor::Artifact> artifact = internalError("not fetched");
  StatusOr<std::optional<harbor::VulnerabilityReport>> report = internalError("not fetched");
};

Status withWhat(const Status& s, const std::string& what) {
  return Status(s.code(), what + ": " + s.message());
}

class HarborScanGate final : public ScanGate {
 public:
  HarborScanGate(std::shared_ptr<harbor::Client> harbor, HarborEndpoint endpoint,
                 CacheOptions cache, Observer observer, const hm::Clock& clock)
      : endpoint_(std::move(endpoint)),
        observer_(std::move(observer)),
        harbor_(std::move(harbor)),
        facts_({cache.ttl, cache.negativeTtl, cache.keepStale, cache.maxEntries}, clock),
        projects_({cache.projectTtl, cache.projectTtl, std::chrono::seconds(0), 1000}, clock),
        systemAllowlist_({cache.projectTtl, cache.projectTtl, std::chrono::seconds(0), 1}, clock) {}

  bool serves(const imageref::Reference& ref) const override {
    return std::find(endpoint_.registryHosts.begin(), endpoint_.registryHosts.end(),
                     ref.registry) != endpoint_.registryHosts.end();
  }

  const std::string& harborUrl() const override { return endpoint_.url; }

  awaitable<FactsPtr> facts(imageref::Reference ref, bool triggerScan, Deadline deadline) override {
    if (!ref.isPinned()) {
      co_return failure(invalidArgument("a scan lookup needs a digest"), "", ref.familiar());
    }
    // Named first, awaited after: GCC 12 destroys temporaries inside a co_await expression
    // twice (the lambda's captures here).
    facts::FactCache<ScanFacts>::Lookup lookup = [this, ref, triggerScan, deadline] {
      return lookUp(ref, triggerScan, deadline);
    };
    auto call = facts_.get(key(ref), deadline, std::move(lookup), accept(triggerScan));
    auto got = co_await std::move(call);
    note(got.hit);
    if (got.status.ok()) {
      co_return got.value;
    }
    if (got.stale() && got.value->source == ScanFacts::Source::kHarbor) {
      auto stale = std::make_shared<ScanFacts>(*got.value);
      stale->source = classify(got.status);
      stale->error = got.status.message();
      stale->stale = true;
      co_return stale;
    }
    co_return failure(got.status, ref.digest, "");
  }

  FactsPtr cached(const imageref::Reference& pinned, bool triggerScan) override {
    FactsPtr hit = pinned.isPinned() ? facts_.peek(key(pinned), accept(triggerScan)) : nullptr;
    if (hit) {
      note(true);
    }
    return hit;
  }

  void invalidate(const std::string& digest) override {
    facts_.eraseIf([&](const std::string& key) {
      return key.size() > digest.size() &&
             key.compare(key.size() - digest.size(), digest.size(), digest) == 0;
    });
    projects_.clear();  // cheap to refetch; an event may follow a project change
    systemAllowlist_.clear();
  }

 private:
  static std::string key(const imageref::Reference& pinned) {
    return pinned.registry + "/" + pinned.repository + "@" + pinned.digest;
  }

  // A caller that wants a scan triggered does not settle for facts from before one was asked.
  static facts::FactCache<ScanFacts>::Accept accept(bool triggerScan) {
    if (!triggerScan) {
      return {};
    }
    return [](const ScanFacts& f) { return !unscanned(f) || f.scanTriggered; };
  }

  template <typename T>
  awaitable<T> timed(std::string_view endpoint, awaitable<T> call) {
    auto start = Steady::now();
    T result = co_await std::move(call);
    if (observer_.harborCall) {
      observer_.harborCall(endpoint, std::chrono::duration<double>(Steady::now() - start).count(),
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
    f->error = what.empty() ? s.message() : what + ": " + s.message();
    f->digest = digest;
    f->harborUrl = endpoint_.url;
    return f;
  }

  awaitable<StatusOr<policy::ProjectScanPolicy>> projectPolicy(std::string name,
                                                               Deadline deadline) {
    facts::FactCache<policy::ProjectScanPolicy>::Lookup lookup = [this, name, deadline] {
      return fetchProject(name, deadline);
    };
    auto call = projects_.get(name, deadline, std::move(lookup));
    auto got = co_await std::move(call);
    if (!got.status.ok()) {
      co_return got.status;
    }
    co_return *got.value;
  }

  awaitable<StatusOr<facts::Looked<policy::ProjectScanPolicy>>> fetchProject(std::string name,
                                                                             Deadline deadline) {
    auto get = harbor_->getProject(name, deadline);
    auto project = co_await timed("project", std::move(get));
    if (!project.ok()) {
      co_return project.status();
    }
    co_return facts::Looked<policy::ProjectScanPolicy>{
        std::make_shared<policy::ProjectScanPolicy>(toProjectPolicy(*project)), true};
  }

  awaitable<StatusOr<policy::HarborCveAllowlist>> systemAllowlist(Deadline deadline) {
    facts::FactCache<policy::HarborCveAllowlist>::Lookup lookup = [this, deadline] {
      return fetchSystemAllowlist(deadline);
    };
    auto call = systemAllowlist_.get("system", deadline, std::move(lookup));
    auto got = co_await std::move(call);
    if (!got.status.ok()) {
      co_return got.status;
    }
    co_return *got.value;
  }

  awaitable<StatusOr<facts::Looked<policy::HarborCveAllowlist>>> fetchSystemAllowlist(
      Deadline deadline) {
    auto get = harbor_->systemAllowlist(deadline);
    auto list = co_await timed("system_allowlist", std::move(get));
    if (!list.ok()) {
      co_return list.status();
    }
    co_return facts::Looked<policy::HarborCveAllowlist>{
        std::make_shared<policy::HarborCveAllowlist>(
            policy::HarborCveAllowlist{list->items, list->expiresAt}),
        true};
  }

  // The artifact and its vulnerability report, asked together.
  net::Task artifactCalls(std::string project, std::string repo, std::string digest,
                          std::shared_ptr<ArtifactCalls> out, Deadline deadline) {
    return [=, this]() -> awaitable<void> {
      auto both = net::tasks(
          [=, this]() -> awaitable<void> {
            auto get = harbor_->getArtifact(project, repo, digest, deadline);
            out->artifact = co_await timed("artifact", std::move(get));
          },
          [=, this]() -> awaitable<void> {
            auto get = harbor_->vulnerabilities(project, repo, digest, deadline);
            out->report = co_await timed("vulnerabilities", std::move(get));
          });
      co_await net::runConcurrently(std::move(both));
    };
  }

  // The findings of a scan that succeeded with some; the report was fetched with the artifact.
  static Status addFindings(policy::ArtifactScan& scan, const ArtifactCalls& calls) {
    if (scan.state != policy::ScanState::kSuccess || scan.total == 0) {
      return okStatus();
    }
    if (!calls.report.ok()) {
      return withWhat(calls.report.status(), "vulnerabilities of " + scan.digest);
    }
    if (*calls.report) {
      for (const auto& v : (*calls.report)->vulnerabilities) {
        scan.findings.push_back({v.id, v.package, v.version, v.fixVersion, v.severity});
      }
    }
    return okStatus();
  }

  // Harbor's answers (kHarbor, kNotFound) are values; outages are errors, never cached.
  awaitable<StatusOr<facts::Looked<ScanFacts>>> lookUp(imageref::Reference ref, bool triggerScan,
                                                       Deadline deadline) {
    const std::string digest = ref.digest;
    const size_t slash = ref.repository.find('/');
    if (slash == std::string::npos) {
      co_return answered(failure(notFound("Harbor repositories are <project>/<name>, " +
                                          ref.repository + " has no project"),
                                 digest, ref.familiar()));
    }
    const std::string projectName = ref.repository.substr(0, slash);
    const std::string repo = ref.repository.substr(slash + 1);
    // Round one: nothing here depends on anything else (the project and the system allowlist
    // are usually cached).
    auto top = std::make_shared<ArtifactCalls>();
    auto project = std::make_shared<StatusOr<policy::ProjectScanPolicy>>(internalError("unset"));
    auto system = std::make_shared<StatusOr<policy::HarborCveAllowlist>>(internalError("unset"));
    auto round = net::tasks(
        artifactCalls(projectName, repo, digest, top, deadline),
        [=, this]() -> awaitable<void> {
          *project = co_await projectPolicy(projectName, deadline);
        },
        [=, this]() -> awaitable<void> { *system = co_await systemAllowlist(deadline); });
    co_await net::runConcurrently(std::move(round));
    if (!project->ok()) {
      co_return outcome(withWhat(project->status(), "project " + projectName), digest);
    }
    if (!top->artifact.ok()) {
      co_return outcome(withWhat(top->artifact.status(), ref.repository + "@" + digest), digest);
    }
    auto facts = std::make_shared<ScanFacts>();
    facts->digest = digest;
    facts->harborUrl = endpoint_.url;
    facts->project = **project;
    facts->uiLink = endpoint_.url + "/harbor/projects/" + std::to_string((*project)->id) +
                    "/repositories/" + hm::percentEncode(repo) + "/artifacts-tab/artifacts/" +
                    digest;
    const harbor::Artifact& artifact = *top->artifact;
    if (artifact.children.empty()) {
      facts->artifacts.push_back(toScan(artifact, ""));
      if (Status s = addFindings(facts->artifacts.back(), *top); !s.ok()) {
        co_return outcome(s, digest);
      }
    } else {
      // An index: Harbor's merged overview can hide a failed child, so each is judged. Round
      // two: every platform at once.
      facts->isIndex = true;
      std::vector<std::shared_ptr<ArtifactCalls>> children;
      std::vector<net::Task> tasks;
      for (const std::string& child : artifact.children) {
        children.push_back(std::make_shared<ArtifactCalls>());
        tasks.push_back(artifactCalls(projectName, repo, child, children.back(), deadline));
      }
      co_await net::runConcurrently(std::move(tasks));
      for (size_t i = 0; i < children.size(); ++i) {
        if (!children[i]->artifact.ok()) {
          co_return outcome(
              withWhat(children[i]->artifact.status(), "platform " + artifact.childPlatforms[i]),
              digest);
        }
        facts->artifacts.push_back(toScan(*children[i]->artifact, artifact.childPlatforms[i]));
        if (Status s = addFindings(facts->artifacts.back(), *children[i]); !s.ok()) {
          co_return outcome(s, digest);
        }
      }
    }
    if ((*project)->reuseSystemAllowlist) {
      if (!system->ok()) {
        co_return outcome(withWhat(system->status(), "system CVE allowlist"), digest);
      }
      facts->systemAllowlist = **system;
    }
    if (triggerScan && unscanned(*facts)) {
      auto scan = harbor_->scanArtifact(projectName, repo, digest, deadline);
      Status s = co_await timed("scan", std::move(scan));
      // 409: a scan is already running, which is what we asked for.
      facts->scanTriggered =
          s.ok() || s.code() == StatusCode::kConflict || s.code() == StatusCode::kAlreadyExists;
    }
    co_return facts::Looked<ScanFacts>{facts, positive(*facts)};
  }

  static facts::Looked<ScanFacts> answered(FactsPtr f) { return {std::move(f), false}; }

  // NotFound is Harbor's answer (cached briefly); anything else is an outage.
  StatusOr<facts::Looked<ScanFacts>> outcome(const Status& s, const std::string& digest) const {
    if (s.code() == StatusCode::kNotFound) {
      return answered(failure(s, digest, ""));
    }
    return s;
  }

  HarborEndpoint endpoint_;
  Observer observer_;
  std::shared_ptr<harbor::Client> harbor_;
  facts::FactCache<ScanFacts> facts_;
  facts::FactCache<policy::ProjectScanPolicy> projects_;
  facts::FactCache<policy::HarborCveAllowlist> systemAllowlist_;
};

// One image's scan lookup for the pipeline.
class ScanLookup final : public facts::Lookup {
 public:
  ScanLookup(std::shared_ptr<ScanGate> gate, bool triggerScan, bool dryRunWouldTrigger)
      : gate_(std::move(gate)), trigger_(triggerScan), wouldTrigger_(dryRunWouldTrigger) {}

  awaitable<facts::Attach> run(imageref::Reference pinned, facts::Deadline deadline) override {
    FactsPtr f = co_await gate_->facts(std::move(pinned), trigger_, deadline);
    co_return attach(f);
  }

  std::optional<facts::Attach> cached(const imageref::Reference& pinned) override {
    if (FactsPtr f = gate_->cached(pinned, trigger_)) {
      return attach(f);
    }
    return std::nullopt;
  }

  facts::Attach unfinished(const Status& why) const override {
    auto f = std::make_shared<ScanFacts>();
    f->source = classify(why);
    f->error = why.message();
    f->harborUrl = gate_->harborUrl();
    return attach(f);
  }

 private:
  facts::Attach attach(FactsPtr f) const {
    if (wouldTrigger_ && f->source == ScanFacts::Source::kHarbor && unscanned(*f)) {
      auto copy = std::make_shared<ScanFacts>(*f);
      copy->scanWouldBeRequested = true;
      f = copy;
    }
    return [f](policy::ImageUse& use) { use.scan = f; };
  }

  std::shared_ptr<ScanGate> gate_;
  bool trigger_;
  bool wouldTrigger_;
};

// Facts known without asking anyone: the image is on another registry.
class NotHarborLookup final : public facts::Lookup {
 public:
  explicit NotHarborLookup(FactsPtr facts) : facts_(std::move(facts)) {}
  bool needsDigest() const override { return false; }
  awaitable<facts::Attach> run(imageref::Reference, facts::Deadline) override {
    co_return unfinished(okStatus());
  }
  std::optional<facts::Attach> cached(const imageref::Reference&) override {
    return unfinished(okStatus());
  }
  facts::Attach unfinished(const Status&) const override {
    return [f = facts_](policy::ImageUse& use) { use.scan = f; };
  }

 private:
  FactsPtr facts_;
};

class ScanSource final : public facts::Source {
 public:
  explicit ScanSource(std::shared_ptr<ScanGate> gate) : gate_(std::move(gate)) {}

  std::string_view name() const override { return "scan"; }

  std::vector<std::shared_ptr<facts::Lookup>> plan(const facts::ImageQuery& q) override {
    const policy::ScanNeed need = policy::scanNeed(q.image);
    if (!q.image.ref.ok()) {
      return {};  // evaluate() reports an unparseable reference itself
    }
    const imageref::Reference& ref = *q.image.ref;
    if (!need.needed && !(q.inspect && gate_->serves(ref))) {
      return {};
    }
    if (!gate_->serves(ref)) {
      auto f = std::make_shared<ScanFacts>();
      f->source = ScanFacts::Source::kNotHarbor;
      f->error = "registry " + ref.registry + " is not the Harbor at " + gate_->harborUrl();
      return {std::make_shared<NotHarborLookup>(f)};
    }
    return {std::make_shared<ScanLookup>(gate_, need.triggerScan && !q.dryRun,
                                         need.triggerScan && q.dryRun)};
  }

  void invalidate(const std::string& digest) override { gate_->invalidate(digest); }

 private:
  std::shared_ptr<ScanGate> gate_;
};

}  // namespace

std::shared_ptr<facts::Source> makeScanSource(std::shared_ptr<ScanGate> gate) {
  return std::make_shared<ScanSource>(std::move(gate));
}

StatusOr<std::unique_ptr<ScanGate>> ScanGate::create(std::shared_ptr<harbor::Client> harbor,
                                                     HarborEndpoint endpoint, CacheOptions cache,
                                                     Observer observer, const hm::Clock& clock) {
  if (!harbor) {
    return invalidArgument("a scan gate needs a Harbor client");
  }
  auto url = net::parseUrl(endpoint.url);
  if (!url.ok()) {
    return url.status().withContext("--harbor-url");
  }
  // Compared with Reference::registry, which is normalised (imageref::normalizeHost).
  for (std::string& h : endpoint.registryHosts) {
    h = imageref::normalizeHost(h);
  }
  const std::string own = imageref::normalizeHost(url->authority());
  if (std::find(endpoint.registryHosts.begin(), endpoint.registryHosts.end(), own) ==
      endpoint.registryHosts.end()) {
    endpoint.registryHosts.push_back(own);
  }
  return std::unique_ptr<ScanGate>(new HarborScanGate(std::move(harbor), std::move(endpoint), cache,
                                                      std::move(observer), clock));
}

}  // namespace hm::scangate
