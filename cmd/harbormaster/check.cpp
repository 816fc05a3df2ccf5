// `harbormaster check`: the webhook's engine from a shell or a CI job.
#include "harbormaster/net/client.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cctype>
#include <cstdlib>
#include <future>
#include <iostream>

#include "commands.h"
#include "flags.h"
#include "harbor_flags.h"
#include "harbormaster/admission/review.h"
#include "harbormaster/kube/config.h"
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

void printFacts(const policy::ScanFacts& facts) {
  using Source = policy::ScanFacts::Source;
  if (facts.source != Source::kHarbor) {
    std::cout << "  harbor: " << facts.error << (facts.stale ? " (showing cached facts)" : "")
              << "\n";
    if (!facts.stale) {
      return;
    }
  }
  for (const policy::ArtifactScan& a : facts.artifacts) {
    std::cout << "  scan" << (a.platform.empty() ? "" : " " + a.platform) << ": " << a.status;
    if (a.state == policy::ScanState::kSuccess) {
      std::cout << ", " << a.total << " findings";
      for (const auto& [severity, n] : a.counts) {
        std::cout << "; " << severity << " " << n;
      }
    }
    std::cout << "\n";
  }
  if (!facts.uiLink.empty()) {
    std::cout << "  harbor: " << facts.uiLink << "\n";
  }
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

}  // namespace

int runCheck(const std::vector<std::string>& args) {
  if (Status s = registerPolicySections(); !s.ok()) {
    std::cerr << "harbormaster check: " << s.message() << "\n";
    return 2;
  }
  FlagSpec spec{.valued = {"policy", "namespace", "kubeconfig", "context"},
                .boolean = {"in-cluster"}};
  for (const auto& name : engineFlags()) {
    spec.valued.insert(name);
  }
  auto flags = parseFlags(args, spec);
  if (!flags.ok()) {
    std::cerr << "harbormaster check: " << flags.status().message() << "\n";
    return 2;
  }
  const bool fromCluster = flags->has("kubeconfig") || flags->has("in-cluster");
  if ((!flags->has("policy") && !fromCluster) || flags->positional.empty()) {
    std::cerr << "harbormaster check: usage: check (--policy FILE | --kubeconfig FILE "
                 "[--context C] | --in-cluster)... [--namespace NS] "
                 "[--harbor-url URL [--harbor-ca FILE] [--harbor-credentials-file FILE] "
                 "[--registry-host HOST]...] [--plain-http-registry HOST]... "
                 "[--digest-lookup-budget D] IMAGE...\n";
    return 2;
  }
  std::string ns = flags->get("namespace", "default");
  std::optional<policy::PolicySet> file;
  if (flags->has("policy")) {
    auto loaded = policy::loadPolicyFile(flags->get("policy"), {});
    if (!loaded.ok()) {
      std::cerr << "harbormaster check: " << loaded.status().message() << "\n";
      return 2;
    }
    file = std::move(*loaded);
  }
  auto harborFlags = parseHarborFlags(*flags);
  if (!harborFlags.ok()) {
    std::cerr << "harbormaster check: " << harborFlags.status().message() << "\n";
    return 2;
  }
  asio::io_context ioc;
  auto policies = fromCluster ? clusterPolicies(ioc, *flags, file ? &*file : nullptr)
                              : StatusOr<policy::PolicySet>(std::move(*file));
  if (!policies.ok()) {
    std::cerr << "harbormaster check: " << policies.status().message() << "\n";
    return 2;
  }
  auto engine = review::connect(ioc.get_executor(), harborFlags->engineOptions());
  if (!engine.ok()) {
    std::cerr << "harbormaster check: " << engine.status().message() << "\n";
    return 2;
  }
  std::vector<policy::ImageUse> uses;
  for (const std::string& image : flags->positional) {
    // Judged as a Pod's container: what a deploy finally creates, so digest: Pin applies.
    policy::ImageUse& use = uses.emplace_back();
    use.image = image;
    use.pod = true;
  }
  // Every image's facts at once, as the webhook gathers a Pod's; `inspect` shows what Harbor
  // knows about an image even when no policy asks.
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
  auto shared = std::make_shared<const policy::PolicySet>(std::move(*policies));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  review::Gathered gathered =
      runSync(ioc, (*engine)->gather(uses, ns, shared, deadline,
                                     {.dryRun = false, .inspect = true, .knownDigests = {}}));
  bool anyDenied = false;
  // The webhook's verdict in the webhook's words: /mutate's Pin rule, then /validate, with the
  // plan the facts were gathered by (admission::judgeAsAdmitted); Audit findings are listed but
  // allow, as the webhook allows them silently.
  const auto verdicts = admission::judgeAsAdmitted(*shared, ns, gathered.images, gathered.plan,
                                                   std::chrono::system_clock::now());
  for (size_t u = 0; u < gathered.images.size(); ++u) {
    const policy::ImageUse& use = gathered.images[u];
    const admission::ImageVerdict& v = verdicts[u];
    anyDenied = anyDenied || v.verdict == policy::Verdict::kDenied;
    std::string verdict(policy::verdictName(v.verdict));
    std::transform(verdict.begin(), verdict.end(), verdict.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    verdict.resize(7, ' ');
    std::cout << verdict << "  " << use.image << "\n";
    const std::string digest =
        use.scan && !use.scan->digest.empty() ? use.scan->digest : use.resolvedDigest;
    if (!digest.empty()) {
      std::cout << "  digest: " << digest << "\n";
    }
    // What a Pod would run under a digest: Pin policy (the mutating webhook's rewrite).
    if (!v.pinned.empty()) {
      std::cout << "  pinned: " << v.pinned << "\n";
    }
    if (use.scan) {
      printFacts(*use.scan);
    }
    for (const auto& [_, sig] : use.signatures) {
      for (const auto& a : sig->attestors) {
        if (a.verified) {
          std::cout << "  signature: attestor \"" << a.attestor << "\" verified " << sig->digest
                    << " (" << a.signer << ")\n";
        }
      }
    }
    for (const auto& f : v.evaluation.findings) {
      std::cout << "  " << policy::modeName(f.mode) << " policy \"" << f.policy << "\" ("
                << policy::checkName(f.check) << "): " << policy::describe(f) << "\n";
    }
    if (v.evaluation.matchedPolicies.empty() && v.evaluation.findings.empty()) {
      std::cout << "  no policy applies to this image in namespace " << ns << "\n";
    }
  }
  return anyDenied ? 1 : 0;
}

}  // namespace hm::cli
