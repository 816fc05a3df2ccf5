// The compliance controller (reconciler.h). One reconcile is one namespace: its running Pods
// grouped by workload, each workload's images gathered by the engine (the kubelet's digest, not
// the tag's current one) and judged by the policies in force, its reports written when they
// changed, and Events for the images whose standing changed. The cluster summary follows.
#include "compliance/reconciler.h"

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "harbormaster/base/log.h"
#include "harbormaster/compliance/report.h"
#include "harbormaster/compliance/running.h"
#include "harbormaster/compliance/schedule.h"
#include "harbormaster/metrics/metrics.h"
#include "harbormaster/net/timers.h"
#include "harbormaster/policysource/cluster_policies.h"
#include "harbormaster/review/engine.h"

namespace hm::op::compliance {
namespace {

using boost::asio::awaitable;
using nlohmann::json;
namespace cmp = hm::compliance;

// What an owner cache keeps of a ReplicaSet or Job: who controls it.
json ownerOnly(const json& object) {
  json out = cmp::stripPod(object);  // metadata with the controller reference, and no spec
  out["kind"] = object.value("kind", "");
  out["apiVersion"] = object.value("apiVersion", "");
  out.erase("spec");
  out.erase("status");
  return out;
}

std::string namespaceOf(const json& object) {
  return object.contains("metadata") && object["metadata"].is_object()
             ? object["metadata"].value("namespace", "")
             : "";
}

// Results without their timestamps: a report is rewritten only when what it says changed.
json comparable(const json& report) {
  json out = {{"summary", report.value("summary", json::object())},
              {"results", report.value("results", json::array())}};
  for (auto& r : out["results"]) {
    if (r.is_object()) {
      r.erase("timestamp");
    }
  }
  return out;
}

// Images with the same text but different running digests (a tag that moved during a rollout)
// are gathered apart: the engine plans one digest per text.
std::vector<std::vector<const cmp::RunningImage*>> batches(const cmp::Subject& s) {
  std::vector<std::vector<const cmp::RunningImage*>> out;
  for (const cmp::RunningImage& image : s.images) {
    bool placed = false;
    for (auto& batch : out) {
      const bool clash = std::any_of(batch.begin(), batch.end(), [&](const cmp::RunningImage* b) {
        return b->use.image == image.use.image && b->digest != image.digest;
      });
      if (!clash) {
        batch.push_back(&image);
        placed = true;
        break;
      }
    }
    if (!placed) {
      out.push_back({&image});
    }
  }
  return out;
}

// What the controller reports about itself (registered on the shared registry by setup()).
struct Metrics {
  std::function<void(const cmp::Summary&)> results;         // every row, by result
  std::function<void(double seconds, WallTime at)> passed;  // one namespace judged
};

// What the namespaces' passes left for the cluster summary and the next pass's transitions.
struct Memory {
  std::mutex mu;
  std::map<std::string, std::vector<cmp::ResultRow>> rows;  // by namespace
  std::map<std::string, cmp::Standings> standings;          // by namespace
  // Set when leading starts: the next summary looks for reports that an earlier process wrote
  // in namespaces that run nothing now (this process's memory does not know them).
  bool sweep = false;
};

// One of ours: "harbormaster" or a split's "harbormaster-N" (a label alone could be copied).
bool ourReportName(const std::string& name) {
  const std::string base(cmp::kReportName);
  return name == base || name.rfind(base + "-", 0) == 0;
}

class ComplianceReconciler final : public Reconciler {
 public:
  ComplianceReconciler(Context& ctx, std::shared_ptr<kube::Informer> pods,
                       std::shared_ptr<kube::Informer> replicaSets,
                       std::shared_ptr<kube::Informer> jobs,
                       std::shared_ptr<policysource::ClusterPolicies> policies,
                       std::shared_ptr<Memory> memory, std::shared_ptr<ControllerQueue> queue,
                       Metrics metrics)
      : ctx_(ctx),
        pods_(std::move(pods)),
        replicaSets_(std::move(replicaSets)),
        jobs_(std::move(jobs)),
        policies_(std::move(policies)),
        memory_(std::move(memory)),
        queue_(std::move(queue)),
        metrics_(std::move(metrics)) {}

  awaitable<Result> reconcile(std::string key) override {
    Context ctx = ctx_.forReconcile();
    if (key == kClusterKey) {
      co_return co_await summarise(ctx);
    }
    auto set = policies_->current();
    if (set == nullptr) {
      co_return Result::after(std::chrono::seconds(5));  // the policy caches are not synced
    }
    const std::string& ns = key;
    const auto& options = ctx.options.compliance;
    const auto started = ctx.clock->steadyNow();
    cmp::OwnerLookup owners = [this](std::string_view kind, std::string_view n,
                                     std::string_view name) -> std::optional<cmp::ObjectRef> {
      const auto& informer = kind == "Job" ? jobs_ : replicaSets_;
      auto object = informer->get(std::string(n) + "/" + std::string(name));
      return object ? cmp::controllerOf(*object) : std::nullopt;
    };
    std::vector<cmp::RunningPod> running;
    for (const json& pod : pods_->byIndex("namespace", ns)) {
      if (auto p = cmp::runningPod(pod, owners)) {
        running.push_back(std::move(*p));
      }
    }
    std::vector<cmp::ResultRow> rows;
    const WallTime now = ctx.clock->wallNow();
    for (const cmp::Subject& subject : cmp::subjects(running)) {
      for (const auto& batch : batches(subject)) {
        std::vector<policy::ImageUse> uses;
        review::GatherOptions gather;
        for (const cmp::RunningImage* image : batch) {
          uses.push_back(image->use);
          if (!image->digest.empty()) {
            gather.knownDigests[image->use.image] = image->digest;
          }
        }
        review::Gathered g =
            co_await options.engine->gather(std::move(uses), ns, set, ctx.deadline(), gather);
        const policy::Evaluation evaluation = policy::evaluate(*set, ns, g.images, g.plan, now);
        // What runs: the kubelet's digest or the spec's, else the tag's as the engine found it.
        std::vector<std::string> digests;
        for (size_t i = 0; i < g.images.size(); ++i) {
          digests.push_back(i < batch.size() && !batch[i]->digest.empty()
                                ? batch[i]->digest
                                : g.images[i].resolvedDigest);
        }
        for (auto& row :
             cmp::rowsOf(subject.workload, g.images, digests, *set, g.plan, evaluation)) {
          rows.push_back(std::move(row));
        }
      }
    }
    cmp::ReportOptions ro;
    ro.apiVersion = options.reportApiVersion;
    ro.now = now;
    std::vector<json> reports = cmp::namespaceReports(ns, rows, ro);
    const Status written = co_await write(ctx, ns, std::move(reports));
    if (!written.ok()) {
      co_return Result::retry(written);
    }
    std::vector<cmp::Transition> changes;
    {
      std::lock_guard lock(memory_->mu);
      cmp::Standings after;
      changes = cmp::transitions(memory_->standings[ns], rows, after);
      if (rows.empty()) {
        memory_->standings.erase(ns);
        memory_->rows.erase(ns);
      } else {
        memory_->standings[ns] = std::move(after);
        memory_->rows[ns] = std::move(rows);
      }
    }
    for (const cmp::Transition& t : changes) {
      json regarding = {{"apiVersion", t.workload.apiVersion},
                        {"kind", t.workload.kind},
                        {"metadata",
                         {{"name", t.workload.name},
                          {"namespace", t.workload.nameSpace},
                          {"uid", t.workload.uid}}}};
      // Named first: GCC 12 mishandles temporaries in a co_awaited call's arguments. An Event
      // that cannot be written does not undo the report.
      kube::EventSpec spec{t.type, t.reason, "Judge", t.note};
      const kube::Deadline deadline = ctx.deadline();
      const Status recorded = co_await ctx.events->record(std::move(regarding), spec, deadline);
      if (!recorded.ok()) {
        log::warn("Could not record an Event",
                  {{"workload", t.workload.nameSpace + "/" + t.workload.name},
                   {"reason", t.reason},
                   {"error", recorded.message()}});
      }
    }
    if (metrics_.passed) {
      metrics_.passed(std::chrono::duration<double>(ctx.clock->steadyNow() - started).count(),
                      ctx.clock->wallNow());
    }
    queue_->add(std::string(kClusterKey));
    co_return Result::done();
  }

 private:
  // The namespace's reports: created, updated when what they say changed, and the ones no
  // longer needed (fewer results than before) deleted.
  awaitable<Status> write(Context& ctx, const std::string& ns, std::vector<json> reports) {
    const kube::Resource r = namespaceReports(ctx.options.compliance.reportApiVersion);
    kube::ListOptions lo;
    lo.labelSelector = std::string(cmp::kManagedByLabel) + "=harbormaster";
    auto existing = co_await ctx.kube->list(r, ns, lo, ctx.deadline());
    if (!existing.ok()) {
      co_return Status(existing.status().code(), "listing " + r.resource + " in " + ns + ": " +
                                                     existing.status().message() +
                                                     " (are the report CRDs installed?)");
    }
    std::map<std::string, json> have;
    for (auto& item : (*existing)["items"]) {
      const std::string name = item["metadata"].value("name", "");
      if (ourReportName(name)) {
        have[name] = item;
      }
    }
    for (json& report : reports) {
      const std::string name = report["metadata"]["name"];
      auto it = have.find(name);
      if (it == have.end()) {
        auto created = co_await ctx.kube->create(r, ns, report, ctx.deadline());
        if (!created.ok()) {
          co_return created.status();
        }
        continue;
      }
      json before = std::move(it->second);
      have.erase(it);
      if (comparable(before) == comparable(report) &&
          before["metadata"].value("annotations", json::object()) ==
              report["metadata"].value("annotations", json::object())) {
        continue;
      }
      report["metadata"]["resourceVersion"] = before["metadata"].value("resourceVersion", "");
      auto updated = co_await ctx.kube->update(r, ns, report, ctx.deadline());
      if (!updated.ok()) {
        co_return updated.status();
      }
    }
    for (const auto& [name, _] : have) {
      const kube::DeleteOptions remove;
      auto removed = co_await ctx.kube->remove(r, ns, name, remove, ctx.deadline());
      if (!removed.ok() && removed.status().code() != StatusCode::kNotFound) {
        co_return removed.status();
      }
    }
    co_return okStatus();
  }

  // Reports an earlier leader wrote where nothing runs now: their namespaces are judged (to no
  // results), which deletes them. Once per leadership; a failed list is tried at the next summary.
  awaitable<void> sweepStaleReports(Context& ctx) {
    bool sweep = false;
    {
      std::lock_guard lock(memory_->mu);
      std::swap(sweep, memory_->sweep);
    }
    if (!sweep) {
      co_return;
    }
    const kube::Resource r = namespaceReports(ctx.options.compliance.reportApiVersion);
    kube::ListOptions lo;
    lo.labelSelector = std::string(cmp::kManagedByLabel) + "=harbormaster";
    lo.transform = [](const json& report) {  // only where and what it is, not its results
      return json{{"metadata",
                   {{"namespace", report["metadata"].value("namespace", "")},
                    {"name", report["metadata"].value("name", "")}}}};
    };
    const std::string everywhere;
    auto all = co_await ctx.kube->list(r, everywhere, lo, ctx.deadline());
    if (!all.ok()) {
      log::warn("Could not list reports to find stale ones", {{"error", all.status().message()}});
      std::lock_guard lock(memory_->mu);
      memory_->sweep = true;
      co_return;
    }
    std::set<std::string> stale;
    for (const auto& item : (*all)["items"]) {
      const std::string ns = item["metadata"].value("namespace", "");
      if (ourReportName(item["metadata"].value("name", "")) &&
          pods_->byIndex("namespace", ns).empty()) {
        stale.insert(ns);
      }
    }
    for (const auto& ns : stale) {
      queue_->add(ns);
    }
  }

  awaitable<Result> summarise(Context& ctx) {
    co_await sweepStaleReports(ctx);
    const auto& options = ctx.options.compliance;
    cmp::ReportOptions ro;
    ro.apiVersion = options.reportApiVersion;
    ro.now = ctx.clock->wallNow();
    json report;
    {
      std::lock_guard lock(memory_->mu);
      report = cmp::clusterReport(memory_->rows, ro);
    }
    if (metrics_.results) {
      cmp::Summary all;
      const json& s = report["summary"];
      all.pass = s.value("pass", 0);
      all.fail = s.value("fail", 0);
      all.warn = s.value("warn", 0);
      all.error = s.value("error", 0);
      all.skip = s.value("skip", 0);
      metrics_.results(all);
    }
    const kube::Resource r = clusterReports(options.reportApiVersion);
    const std::string name(cmp::kReportName);
    auto existing = co_await ctx.kube->get(r, "", name, ctx.deadline());
    if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) {
      co_return Result::retry(existing.status());
    }
    if (!existing.ok()) {
      auto created = co_await ctx.kube->create(r, "", report, ctx.deadline());
      co_return created.ok() ? Result::done() : Result::retry(created.status());
    }
    if (comparable(*existing) == comparable(report)) {
      co_return Result::done();
    }
    report["metadata"]["resourceVersion"] = (*existing)["metadata"].value("resourceVersion", "");
    auto updated = co_await ctx.kube->update(r, "", report, ctx.deadline());
    co_return updated.ok() ? Result::done() : Result::retry(updated.status());
  }

  Context& ctx_;
  std::shared_ptr<kube::Informer> pods_, replicaSets_, jobs_;
  std::shared_ptr<policysource::ClusterPolicies> policies_;
  std::shared_ptr<Memory> memory_;
  std::shared_ptr<ControllerQueue> queue_;
  Metrics metrics_;
};

Metrics registerMetrics(Manager& mgr, std::function<void()>* harborEvent) {
  auto registry = mgr.metricsRegistry().registry();
  auto& results = prometheus::BuildGauge()
                      .Name("harbormaster_compliance_results")
                      .Help(
                          "Results of running workload images in the compliance reports, by "
                          "result (pass, fail, warn, error, skip).")
                      .Register(*registry);
  auto& last = prometheus::BuildGauge()
                   .Name("harbormaster_compliance_last_pass_timestamp_seconds")
                   .Help("When a namespace's running images were last judged (Unix time).")
                   .Register(*registry);
  auto& duration = prometheus::BuildHistogram()
                       .Name("harbormaster_compliance_namespace_pass_duration_seconds")
                       .Help("How long judging one namespace's running images took.")
                       .Register(*registry);
  auto& events = prometheus::BuildCounter()
                     .Name("harbormaster_compliance_harbor_events_total")
                     .Help(
                         "Harbor notifications that made compliance judge running images "
                         "again.")
                     .Register(*registry);
  // Every series from the start, so dashboards see them before the first pass.
  for (const char* r : {"pass", "fail", "warn", "error", "skip"}) {
    results.Add({{"result", r}});
  }
  last.Add({});
  duration.Add({}, hm::metrics::latencyBuckets());
  events.Add({});
  *harborEvent = [registry, &events] { events.Add({}).Increment(); };
  Metrics m;
  // Each hook holds the registry its families live in.
  m.results = [registry, &results](const cmp::Summary& s) {
    results.Add({{"result", "pass"}}).Set(static_cast<double>(s.pass));
    results.Add({{"result", "fail"}}).Set(static_cast<double>(s.fail));
    results.Add({{"result", "warn"}}).Set(static_cast<double>(s.warn));
    results.Add({{"result", "error"}}).Set(static_cast<double>(s.error));
    results.Add({{"result", "skip"}}).Set(static_cast<double>(s.skip));
  };
  m.passed = [registry, &last, &duration](double seconds, WallTime at) {
    duration.Add({}, hm::metrics::latencyBuckets()).Observe(seconds);
    last.Add({}).Set(std::chrono::duration<double>(at.time_since_epoch()).count());
  };
  return m;
}

}  // namespace

kube::Resource namespaceReports(const std::string& apiVersion) {
  if (apiVersion.rfind("openreports.io/", 0) == 0) {
    return {"openreports.io", apiVersion.substr(apiVersion.find('/') + 1), "reports"};
  }
  return {"wgpolicyk8s.io", apiVersion.substr(apiVersion.find('/') + 1), "policyreports"};
}

kube::Resource clusterReports(const std::string& apiVersion) {
  if (apiVersion.rfind("openreports.io/", 0) == 0) {
    return {"openreports.io", apiVersion.substr(apiVersion.find('/') + 1), "clusterreports", false};
  }
  return {"wgpolicyk8s.io", apiVersion.substr(apiVersion.find('/') + 1), "clusterpolicyreports",
          false};
}

json podForCompliance(const json& pod) {
  json out = cmp::stripPod(pod);
  out["metadata"].erase("resourceVersion");
  out["metadata"]["resourceVersion"] = std::to_string(std::hash<std::string>{}(out.dump()));
  return out;
}

void setup(Manager& mgr) {
  Context& ctx = mgr.context();
  if (ctx.options.compliance.engine == nullptr) {
    return;
  }
  mgr.transform(kPods, podForCompliance);
  mgr.transform(kReplicaSets, ownerOnly);
  mgr.transform(kJobs, ownerOnly);
  auto pods = mgr.informer(kPods);
  auto replicaSets = mgr.informer(kReplicaSets);
  auto jobs = mgr.informer(kJobs);
  mgr.addIndex(kPods, "namespace",
               [](const json& pod) { return std::vector<std::string>{namespaceOf(pod)}; });
  // The digests a Pod runs (the kubelet's, and those its spec names): where a Harbor event about
  // a digest finds the namespaces to judge again.
  mgr.addIndex(kPods, "digest", [](const json& pod) {
    std::vector<std::string> out;
    if (auto p = cmp::runningPod(pod, nullptr)) {
      for (const auto& image : p->images) {
        if (!image.digest.empty()) {
          out.push_back(image.digest);
        }
      }
    }
    return out;
  });
  auto builder = mgr.controller("compliance");
  std::shared_ptr<ControllerQueue> queue = builder.queue();
  auto memory = std::make_shared<Memory>();
  std::function<void()> harborEvent;
  Metrics metrics = registerMetrics(mgr, &harborEvent);
  if (const auto& changes = ctx.options.compliance.changes) {
    // The engine has already forgotten these digests' facts (the endpoint does that first).
    changes->subscribe([pods, queue, harborEvent](const std::vector<std::string>& digests) {
      harborEvent();
      std::set<std::string> namespaces;
      for (const auto& digest : digests) {
        for (const json& pod : pods->byIndex("digest", digest)) {
          namespaces.insert(namespaceOf(pod));
        }
      }
      for (const auto& ns : namespaces) {
        queue->add(ns);
      }
    });
  }

  // Policies and exceptions as the webhook reads them: any change of what is in force is a new
  // pass everywhere.
  policysource::Observer observer;
  observer.changed = [queue](const std::string&, const std::string&, const std::string&,
                             bool specChanged) {
    if (specChanged) {
      queue->addAll();
    }
  };
  policysource::Options po;
  po.resync = ctx.options.resync;
  auto policies =
      std::make_shared<policysource::ClusterPolicies>(ctx.kube, std::move(po), std::move(observer));
  mgr.add(cacheRunnable("compliance policy informers", policies));

  // The schedule: the periodic pass, or an expiry's instant when that comes first. Woken at
  // least every minute to see expiries that policies added since.
  auto sleep = std::make_shared<std::shared_ptr<net::TimerHandle>>();
  auto stopped = std::make_shared<std::atomic<bool>>(false);
  Runnable passes;
  passes.name = "compliance passes";
  const net::Timers* timers = ctx.options.timers;
  const cmp::PassSchedule schedule{ctx.options.compliance.interval};
  passes.run = [weak = std::weak_ptr<policysource::ClusterPolicies>(policies), queue, sleep,
                stopped, timers, schedule]() -> awaitable<void> {
    WallTime last = timers->wallNow();
    while (!*stopped) {
      WallTime due = last + schedule.interval;
      if (auto p = weak.lock()) {
        if (auto set = p->current()) {
          due = cmp::nextPass(*set, last, schedule);
        }
      }
      const auto wait = std::min<std::chrono::nanoseconds>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(due - timers->wallNow()),
          std::chrono::minutes(1));
      if (wait.count() > 0) {
        co_await net::sleepUntil(*timers, timers->steadyNow() + wait, sleep.get());
        continue;  // recompute: policies may have changed
      }
      if (*stopped) {
        co_return;
      }
      last = timers->wallNow();
      queue->addAll();
    }
  };
  passes.stop = [sleep, stopped] {
    *stopped = true;
    if (*sleep) {
      (*sleep)->cancel();
    }
  };
  mgr.add(std::move(passes));

  auto inNamespace = [](const json& o) { return std::vector<std::string>{namespaceOf(o)}; };
  // An owner that appears after its Pods regroups them under their workload.
  WatchEvents additions;
  additions.update = false;
  additions.remove = false;
  builder.watches(kPods, inNamespace)
      .watches(kReplicaSets, inNamespace, additions)
      .watches(kJobs, inNamespace, additions)
      .onLeading([pods, memory] {
        {
          std::lock_guard lock(memory->mu);
          memory->sweep = true;
        }
        std::set<std::string> keys;
        for (const json& pod : pods->list()) {
          keys.insert(namespaceOf(pod));
        }
        {
          std::lock_guard lock(memory->mu);
          for (const auto& [ns, _] : memory->rows) {
            keys.insert(ns);  // where reports were written and Pods have gone since
          }
        }
        std::vector<std::string> out(keys.begin(), keys.end());
        out.emplace_back(kClusterKey);
        return out;
      })
      .complete(std::make_shared<ComplianceReconciler>(ctx, pods, replicaSets, jobs, policies,
                                                       memory, queue, std::move(metrics)));
}

}  // namespace hm::op::compliance
