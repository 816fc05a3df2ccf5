// `harbormaster check`: the webhook's engine from a shell or a CI job. Manifests (files,
// folders, stdin) or image references in; the webhook's verdict per workload image out, as text,
// JSON or JUnit XML (check_report.h).
#include "harbormaster/net/client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <future>
#include <iostream>
#include <iterator>

#include "check_report.h"
#include "commands.h"
#include "flags.h"
#include "harbor_flags.h"
#include "harbormaster/admission/review.h"
#include "harbormaster/base/log.h"
#include "harbormaster/kube/config.h"
#include "harbormaster/manifest/manifest.h"
#include "harbormaster/policy/evaluate.h"
#include "harbormaster/policysource/cluster_policies.h"
#include "harbormaster/review/engine.h"
#include "sources.h"

namespace hm::cli {
namespace {

namespace asio = boost::asio;

// Runs one coroutine to completion on a private io_context.
template <typename T>
T runSync(asio::io_context& ioc, asio::awaitable<T> work) {
  std::promise<T> result;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        T value = co_await std::move(work);
        result.set_value(std::move(value));
      },
      // An exception reaches the caller through the promise instead of ending run().
      [&result](std::exception_ptr e) {
        if (e) {
          result.set_exception(e);
        }
      });
  ioc.restart();
  ioc.run();
  return result.get_future().get();
}

// Every ClusterImagePolicy, ImagePolicy and ImageException in the cluster, with the file's
// policies merged in as the webhook merges them.
StatusOr<policy::PolicySet> clusterPolicies(asio::io_context& ioc, const Flags& flags,
                                            const policy::PolicySet* file) {
  kube::LoadOptions load;
  load.kubeconfig = flags.get("kubeconfig");
  load.context = flags.get("context");
  auto config = kube::loadConfig(load);
  if (!config.ok()) {
    return config.status();
  }
  auto client = kube::Client::create(ioc.get_executor(), *config);
  if (!client.ok()) {
    return client.status();
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  return runSync(ioc, policysource::listClusterPolicies(**client, file, {}, deadline));
}

// One review's worth: a workload's images (or the command line's), judged in one namespace.
struct Subject {
  const manifest::Workload* workload = nullptr;  // null for image arguments
  std::string nameSpace;
  std::vector<policy::ImageUse> uses;
  review::Gathered gathered;
};

// Gathers every subject's facts, a few reviews at once as admission would see them arrive; the
// engine's cache serves an image a second workload repeats.
void gatherAll(asio::io_context& ioc, review::Engine& engine, std::vector<Subject>& subjects,
               const std::shared_ptr<const policy::PolicySet>& policies,
               std::chrono::steady_clock::time_point deadline) {
  constexpr size_t kReviewsAtOnce = 8;
  size_t next = 0;
  for (size_t w = 0; w < kReviewsAtOnce && w < subjects.size(); ++w) {
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          while (next < subjects.size()) {
            Subject& s = subjects[next++];
            review::GatherOptions options{.dryRun = false, .inspect = true, .knownDigests = {}};
            s.gathered = co_await engine.gather(s.uses, s.nameSpace, policies, deadline, options);
          }
        },
        // gather() never throws by contract; were it to, the subject stays unjudged (denied).
        [](std::exception_ptr e) {
          if (e) {
            log::error("check: a lookup failed unexpectedly", {});
          }
        });
  }
  ioc.restart();
  ioc.run();
}

int fail(const std::string& message) {
  std::cerr << "harbormaster check: " << message << "\n";
  return 2;
}

}  // namespace

FlagSpec checkFlagSpec() {
  FlagSpec spec{
      "check",
      "check (--policy FILE | --kubeconfig FILE | --in-cluster) [-f FILE|DIR|-]... [IMAGE]... "
      "[flags]",
      "Judges workloads and images as the admission webhook would, with the same engine and\n"
      "policies: every image of every Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,\n"
      "CronJob and ReplicationController in the manifests, as the Pod its controller creates.\n"
      "Other kinds are skipped and counted. IMAGE arguments are judged as a Pod's containers.\n"
      "\n"
      "Exit status: 0 allowed (warnings included), 1 denied (or warned with --enforce-warn),\n"
      "2 an error (unreadable manifest or policy, bad flag).\n"
      "\n"
      "Harbor: --harbor-url, else $HARBOR_URL (GitLab's Harbor integration sets it in every job;\n"
      "then $HARBOR_HOST is one more registry name). Credentials: --harbor-credentials-file,\n"
      "else $HARBOR_USERNAME and $HARBOR_PASSWORD. The password is never printed.\n"
      "docs/ci.md has GitLab and GitHub jobs and the JSON and JUnit formats.\n",
      {}};
  spec.add(
      "Input",
      {{"filename", "FILE|DIR|-",
        "manifests: YAML (multi-document) or JSON, List objects; a directory's .yaml, .yml "
        "and .json files; - for stdin",
        "", "f", true},
       {"recursive", "", "with a directory, its subdirectories too", "", "R"},
       {"namespace", "NS", "the namespace of objects without metadata.namespace", "default", "n"}});
  spec.add("Policies",
           {{"policy", "FILE", "ClusterImagePolicy, ImagePolicy and ImageException documents"},
            {"kubeconfig", "FILE", "read the cluster's policies and exceptions too"},
            {"context", "NAME", "kubeconfig context"},
            {"in-cluster", "", "read the cluster's policies with the Pod's ServiceAccount"}});
  spec.add("Output", {{"output", "FORMAT",
                       "text, json or junit (to stdout; the summary line to stderr "
                       "for json and junit)",
                       "text", "o"},
                      {"enforce-warn", "", "fail (exit 1) on Warn-mode findings too"},
                      {"timeout", "DURATION", "every lookup of the run ends by then", "2m"}});
  return addEngineFlags(spec);
}

int runCheck(const std::vector<std::string>& argsIn) {
  if (helpRequested(argsIn)) {
    std::cout << helpText(checkFlagSpec());
    return 0;
  }
  if (Status s = registerPolicySections(); !s.ok()) {
    return fail(s.message());
  }
  const FlagSpec spec = checkFlagSpec();
  auto flags = parseFlags(argsIn, spec);
  if (!flags.ok()) {
    return fail(flags.status().message() + " (see harbormaster check --help)");
  }
  const std::vector<std::string> args = withHarborEnvironment(argsIn, *flags, harborEnvironment());
  flags = parseFlags(args, spec);
  if (!flags.ok()) {
    return fail(flags.status().message());
  }
  const bool fromCluster = flags->has("kubeconfig") || flags->has("in-cluster");
  const std::vector<std::string> paths =
      flags->values.count("filename") ? flags->values.at("filename") : std::vector<std::string>{};
  if (!flags->has("policy") && !fromCluster) {
    return fail("needs --policy FILE, --kubeconfig FILE or --in-cluster (see --help)");
  }
  if (paths.empty() && flags->positional.empty()) {
    return fail("nothing to check: give manifests with -f FILE|DIR|- or image references");
  }
  const std::string output = flags->get("output");
  if (output != "text" && output != "json" && output != "junit") {
    return fail("--output must be text, json or junit");
  }
  auto timeout = parseDuration("timeout", flags->get("timeout"));
  if (!timeout.ok()) {
    return fail(timeout.status().message());
  }
  const std::string ns = flags->get("namespace");

  // Manifests first: a typo there is found before anything is asked of Harbor.
  std::string stdinText;
  if (std::count(paths.begin(), paths.end(), "-") > 1) {
    return fail("-f - (stdin) may be given once");
  }
  if (std::find(paths.begin(), paths.end(), "-") != paths.end()) {
    stdinText.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  auto objects = manifest::load(paths, flags->has("recursive"), stdinText);
  if (!objects.ok()) {
    return fail(objects.status().message());
  }
  if (!paths.empty() && objects->empty()) {
    return fail("no Kubernetes objects in " + (paths.front() == "-" ? "stdin" : paths.front()) +
                (paths.size() > 1 ? " and the other inputs" : "") +
                (paths.front() == "-" ? " (did the command before the pipe fail?)" : ""));
  }
  const manifest::Workloads found = manifest::workloads(*objects, ns);

  std::optional<policy::PolicySet> file;
  if (flags->has("policy")) {
    auto loaded = policy::loadPolicyFile(flags->get("policy"), {});
    if (!loaded.ok()) {
      return fail(loaded.status().message());
    }
    file = std::move(*loaded);
  }
  auto harborFlags = parseHarborFlags(*flags);
  if (!harborFlags.ok()) {
    return fail(harborFlags.status().message());
  }
  asio::io_context ioc;
  auto policies = fromCluster ? clusterPolicies(ioc, *flags, file ? &*file : nullptr)
                              : StatusOr<policy::PolicySet>(std::move(*file));
  if (!policies.ok()) {
    return fail(policies.status().message());
  }
  if (!found.namespaceLabels.empty()) {
    // Namespaces the manifests create carry the labels they declare once applied: policies'
    // namespaceSelectors see those.
    auto labels =
        policies->namespaceLabels
            ? std::make_shared<std::map<std::string, policy::Labels>>(*policies->namespaceLabels)
            : std::make_shared<std::map<std::string, policy::Labels>>();
    for (const auto& [name, l] : found.namespaceLabels) {
      (*labels)[name] = l;
    }
    policies->namespaceLabels = std::move(labels);
  }
  auto engine = review::connect(ioc.get_executor(), harborFlags->engineOptions());
  if (!engine.ok()) {
    return fail(engine.status().message());
  }
  // What loads but deserves a look, and what cannot be enforced, before any verdict: a CI log
  // shows it where the policy's author reads.
  for (const policy::ImagePolicy& p : policies->policies) {
    for (const std::string& w : p.warnings) {
      std::cerr << "harbormaster check: warning: policy \"" << p.name << "\": " << w << "\n";
    }
    if (!p.unenforceable.empty()) {
      std::cerr << "harbormaster check: warning: policy \"" << p.name << "\" " << p.unenforceable
                << "; the images it selects are judged as not checked\n";
    }
  }

  std::vector<Subject> subjects;
  for (const manifest::Workload& w : found.workloads) {
    Subject& s = subjects.emplace_back();
    s.workload = &w;
    s.nameSpace = w.nameSpace;
    s.uses = w.images;
    for (policy::ImageUse& use : s.uses) {
      // Judged as the Pod the controller creates: the last gate a deploy meets, where
      // digest: Pin pins (and denies what it cannot pin).
      use.pod = true;
    }
  }
  if (!flags->positional.empty()) {
    Subject& s = subjects.emplace_back();
    s.nameSpace = ns;
    for (const std::string& image : flags->positional) {
      policy::ImageUse& use = s.uses.emplace_back();
      use.image = image;
      use.pod = true;
    }
  }
  auto shared = std::make_shared<const policy::PolicySet>(std::move(*policies));
  gatherAll(ioc, **engine, subjects, shared, std::chrono::steady_clock::now() + *timeout);

  CheckRun run;
  run.enforceWarn = flags->has("enforce-warn");
  run.workloads = found.workloads.size();
  run.skipped = found.skipped;
  const WallTime now = std::chrono::system_clock::now();
  for (Subject& s : subjects) {
    if (s.gathered.images.size() != s.uses.size()) {
      s.gathered.images = s.uses;  // not gathered: judged without facts ("could not check")
      s.gathered.plan = policy::planReview(*shared, s.nameSpace, s.uses);
    }
    // The webhook's verdict in the webhook's words: /mutate's Pin rule, then /validate, with
    // the plan the facts were gathered by.
    const auto verdicts =
        admission::judgeAsAdmitted(*shared, s.nameSpace, s.gathered.images, s.gathered.plan, now);
    for (size_t u = 0; u < s.gathered.images.size(); ++u) {
      CheckedImage& c = run.images.emplace_back();
      if (s.workload != nullptr) {
        const manifest::Object& from = *s.workload->from;
        c.source = from.source;
        c.document = from.document;
        c.origin = from.origin;
        c.listItem = from.listItem;
        c.apiVersion = s.workload->apiVersion;
        c.kind = s.workload->kind;
        c.name = s.workload->name;
      }
      c.nameSpace = s.nameSpace;
      c.use = s.gathered.images[u];
      c.verdict = verdicts[u];
    }
  }
  if (output == "json") {
    std::cout
        << renderJson(*shared, run).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
    std::cerr << summaryLine(run) << "\n";
  } else if (output == "junit") {
    std::cout << renderJunit(*shared, run);
    std::cerr << summaryLine(run) << "\n";
  } else {
    std::cout << renderText(*shared, run);
  }
  return exitCodeOf(run);
}

}  // namespace hm::cli
