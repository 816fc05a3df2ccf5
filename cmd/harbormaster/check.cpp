// `harbormaster check`: the webhook's engine from a shell or a CI job.
#include "harbormaster/net/client.h"  // first: it works around a Boost 1.74 header

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <future>
#include <iostream>

#include "commands.h"
#include "flags.h"
#include "harbor_flags.h"
#include "harbormaster/imageref/reference.h"
#include "harbormaster/policy/evaluate.h"
#include "harbormaster/scangate/scan_gate.h"

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
      asio::detached);
  ioc.restart();
  ioc.run();
  return result.get_future().get();
}

void printFacts(const policy::ScanFacts& facts) {
  using Source = policy::ScanFacts::Source;
  if (!facts.digest.empty()) {
    std::cout << "  digest: " << facts.digest << "\n";
  }
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

}  // namespace

int runCheck(const std::vector<std::string>& args) {
  FlagSpec spec{.valued = {"policy", "namespace"}, .boolean = {}};
  spec.valued.insert(kHarborFlags.begin(), kHarborFlags.end());
  spec.valued.insert(kSignatureFlags.begin(), kSignatureFlags.end());
  auto flags = parseFlags(args, spec);
  if (!flags.ok()) {
    std::cerr << "harbormaster check: " << flags.status().message() << "\n";
    return 2;
  }
  if (!flags->has("policy") || flags->positional.empty()) {
    std::cerr << "harbormaster check: usage: check --policy FILE [--namespace NS] "
                 "[--harbor-url URL [--harbor-ca FILE] [--harbor-credentials-file FILE] "
                 "[--registry-host HOST]...] [--plain-http-registry HOST]... IMAGE...\n";
    return 2;
  }
  std::string ns = flags->get("namespace", "default");
  auto policies = policy::loadPolicyFile(flags->get("policy"), {});
  if (!policies.ok()) {
    std::cerr << "harbormaster check: " << policies.status().message() << "\n";
    return 2;
  }
  auto harborFlags = parseHarborFlags(*flags);
  if (!harborFlags.ok()) {
    std::cerr << "harbormaster check: " << harborFlags.status().message() << "\n";
    return 2;
  }
  asio::io_context ioc;
  std::unique_ptr<scangate::ScanGate> gate;
  if (harborFlags->connection) {
    auto g = scangate::ScanGate::create(ioc.get_executor(), *harborFlags->connection,
                                        harborFlags->cache);
    if (!g.ok()) {
      std::cerr << "harbormaster check: " << g.status().message() << "\n";
      return 2;
    }
    gate = std::move(*g);
  }
  auto signatures = makeSignatureGate(ioc.get_executor(), *harborFlags);
  if (!signatures.ok()) {
    std::cerr << "harbormaster check: " << signatures.status().message() << "\n";
    return 2;
  }
  bool anyDenied = false;
  auto now = std::chrono::system_clock::now();
  for (const std::string& image : flags->positional) {
    std::vector<policy::ImageUse> uses(1);
    policy::ImageUse& use = uses[0];
    use.image = image;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    runSync(ioc, [&]() -> asio::awaitable<bool> {
      co_await scangate::attachScanFacts(gate.get(), *policies, ns, uses, deadline);
      co_await signaturegate::attachSignatureFacts(signatures->get(), *policies, ns, uses,
                                                   deadline);
      co_return true;
    }());
    // No policy asked, but Harbor has the image: show what it knows anyway.
    auto ref = imageref::parse(image);
    if (!use.scan && gate && ref.ok() && gate->serves(*ref)) {
      use.scan = runSync(ioc, gate->facts(*ref, false, deadline));
      if (use.scan->source == policy::ScanFacts::Source::kHarbor) {
        use.resolvedDigest = use.scan->digest;
      }
    }
    policy::Evaluation ev = policy::evaluate(*policies, ns, uses, now);
    bool denied = ev.denied();
    anyDenied = anyDenied || denied;
    std::string verdict = denied ? "DENIED " : ev.findings.empty() ? "ALLOWED" : "WARNED ";
    std::cout << verdict << "  " << image << "\n";
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
    for (const auto& f : ev.findings) {
      std::cout << "  " << policy::modeName(f.mode) << " policy \"" << f.policy << "\" ("
                << policy::checkName(f.check) << "): " << policy::describe(f) << "\n";
    }
    if (ev.matchedPolicies.empty()) {
      std::cout << "  no policy applies to this image in namespace " << ns << "\n";
    }
  }
  return anyDenied ? 1 : 0;
}

}  // namespace hm::cli
