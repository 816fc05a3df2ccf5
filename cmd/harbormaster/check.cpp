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
#include "harbormaster/harbor/client.h"
#include "harbormaster/imageref/reference.h"
#include "harbormaster/policy/evaluate.h"
#include "harbormaster/registry/client.h"

namespace hm::cli {
namespace {

namespace asio = boost::asio;

// What Harbor knows about one image: its digest and scan summary, or why we could not ask.
struct HarborFacts {
  std::string digest;
  std::optional<harbor::Artifact> artifact;
  std::string error;
};

// Looks images up in one Harbor: the registry for the digest, the API for the scan overview.
class HarborLookup {
 public:
  static StatusOr<std::unique_ptr<HarborLookup>> create(const std::string& url,
                                                        const std::string& caFile) {
    auto parsed = net::parseUrl(url);
    if (!parsed.ok()) {
      return parsed.status().withContext("--harbor-url");
    }
    auto lookup = std::unique_ptr<HarborLookup>(new HarborLookup());
    net::ClientOptions co;
    if (!caFile.empty()) {
      co.caFile = caFile;
    }
    auto http = net::HttpClient::create(lookup->ioc_.get_executor(), co);
    if (!http.ok()) {
      return http.status();
    }
    std::shared_ptr<net::HttpClient> shared(std::move(*http));
    lookup->host_ = parsed->authority();
    const char* user = std::getenv("HARBOR_USERNAME");
    const char* password = std::getenv("HARBOR_PASSWORD");
    registry::RegistryOptions ro;
    harbor::HarborOptions ho{url, user ? user : "", password ? password : ""};
    if (user != nullptr && password != nullptr) {
      ro.credentials[lookup->host_] = {user, password};
    }
    if (parsed->scheme == "http") {
      ro.plainHttpHosts.insert(lookup->host_);
    }
    lookup->registry_ = std::make_unique<registry::Client>(shared, ro);
    lookup->harbor_ = std::make_unique<harbor::Client>(shared, ho);
    return lookup;
  }

  bool serves(const imageref::Reference& ref) const { return ref.registry == host_; }

  HarborFacts lookUp(const imageref::Reference& ref) {
    std::promise<HarborFacts> result;
    asio::co_spawn(ioc_, gather(ref, &result), asio::detached);
    ioc_.restart();
    ioc_.run();
    return result.get_future().get();
  }

 private:
  HarborLookup() = default;

  asio::awaitable<void> gather(imageref::Reference ref, std::promise<HarborFacts>* out) {
    HarborFacts facts;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    auto digest = co_await registry_->resolveDigest(ref, deadline);
    if (!digest.ok()) {
      facts.error = digest.status().message();
      out->set_value(std::move(facts));
      co_return;
    }
    facts.digest = *digest;
    size_t slash = ref.repository.find('/');
    std::string project = ref.repository.substr(0, slash);
    std::string repository = slash == std::string::npos ? "" : ref.repository.substr(slash + 1);
    auto artifact = co_await harbor_->getArtifact(project, repository, facts.digest, deadline);
    if (artifact.ok()) {
      facts.artifact = std::move(*artifact);
    } else {
      facts.error = artifact.status().message();
    }
    out->set_value(std::move(facts));
  }

  asio::io_context ioc_;
  std::string host_;
  std::unique_ptr<registry::Client> registry_;
  std::unique_ptr<harbor::Client> harbor_;
};

void printFacts(const HarborFacts& facts) {
  if (!facts.digest.empty()) {
    std::cout << "  digest: " << facts.digest << "\n";
  }
  if (!facts.error.empty()) {
    std::cout << "  harbor: " << facts.error << "\n";
    return;
  }
  if (!facts.artifact) {
    return;
  }
  if (!facts.artifact->scan) {
    std::cout << "  scan: not scanned\n";
    return;
  }
  const auto& scan = *facts.artifact->scan;
  std::cout << "  scan: " << scan.status;
  if (scan.status == "Success") {
    std::cout << ", severity " << scan.severity << " (" << scan.total << " findings, "
              << scan.fixable << " fixable";
    for (const auto& [severity, n] : scan.counts) {
      std::cout << "; " << severity << " " << n;
    }
    std::cout << ")";
  }
  std::cout << "\n";
}

}  // namespace

int runCheck(const std::vector<std::string>& args) {
  auto flags = parseFlags(
      args, {.valued = {"policy", "namespace", "harbor-url", "harbor-ca"}, .boolean = {}});
  if (!flags.ok()) {
    std::cerr << "harbormaster check: " << flags.status().message() << "\n";
    return 2;
  }
  if (!flags->has("policy") || flags->positional.empty()) {
    std::cerr << "harbormaster check: usage: check --policy FILE [--namespace NS] "
                 "[--harbor-url URL [--harbor-ca FILE]] IMAGE...\n";
    return 2;
  }
  std::string ns = flags->get("namespace", "default");
  auto policies = policy::loadPolicyFile(flags->get("policy"), {});
  if (!policies.ok()) {
    std::cerr << "harbormaster check: " << policies.status().message() << "\n";
    return 2;
  }
  std::unique_ptr<HarborLookup> harbor;
  if (flags->has("harbor-url")) {
    auto h = HarborLookup::create(flags->get("harbor-url"), flags->get("harbor-ca"));
    if (!h.ok()) {
      std::cerr << "harbormaster check: " << h.status().message() << "\n";
      return 2;
    }
    harbor = std::move(*h);
  }
  bool anyDenied = false;
  auto now = std::chrono::system_clock::now();
  for (const std::string& image : flags->positional) {
    policy::ImageUse use{"", "", image, false, ""};
    std::optional<HarborFacts> facts;
    auto ref = imageref::parse(image);
    if (harbor && ref.ok() && harbor->serves(*ref)) {
      facts = harbor->lookUp(*ref);
      use.resolvedDigest = facts->digest;
    }
    policy::Evaluation ev = policy::evaluate(*policies, ns, {use}, now);
    bool denied = ev.denied();
    anyDenied = anyDenied || denied;
    std::string verdict = denied ? "DENIED " : ev.findings.empty() ? "ALLOWED" : "WARNED ";
    std::cout << verdict << "  " << image << "\n";
    if (facts) {
      printFacts(*facts);
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
