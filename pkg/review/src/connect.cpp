// The one connection every fact source shares, and the engine on top of it.
#include "harbormaster/harbor/client.h"
#include "harbormaster/registry/client.h"
#include "harbormaster/review/engine.h"

namespace hm::review {

StatusOr<std::unique_ptr<Engine>> connect(boost::asio::any_io_executor executor,
                                          EngineOptions options, EngineObserver observer,
                                          const Clock& clock) {
  net::ClientOptions co;
  registry::RegistryOptions ro;
  // Hosts compare as image references hold them (imageref::normalizeHost): a flag's
  // "HARBOR.example.com:443" is the registry of harbor.example.com/p/x.
  for (const auto& host : options.plainHttpRegistries) {
    ro.plainHttpHosts.insert(imageref::normalizeHost(host));
  }
  std::vector<std::string> harborHosts;
  if (options.harbor) {
    const HarborConnection& c = *options.harbor;
    auto url = net::parseUrl(c.url);
    if (!url.ok()) {
      return url.status().withContext("--harbor-url");
    }
    if (!c.caFile.empty()) {
      co.caFile = c.caFile;
      co.alsoSystemTrust = true;  // other registries keep the system trust store
    }
    for (const auto& h : c.registryHosts) {
      harborHosts.push_back(imageref::normalizeHost(h));
    }
    harborHosts.push_back(imageref::normalizeHost(url->authority()));
    for (const auto& h : harborHosts) {
      if (!c.username.empty()) {
        ro.credentials[h] = {c.username, c.password};
      }
      if (url->scheme == "http") {
        ro.plainHttpHosts.insert(h);
      }
    }
  }
  auto http = net::HttpClient::create(executor, co);
  if (!http.ok()) {
    return http.status();
  }
  std::shared_ptr<net::HttpClient> shared(std::move(*http));
  auto registryClient = registry::Client::create(shared, std::move(ro));

  std::vector<std::shared_ptr<facts::Source>> sources;
  if (options.harbor) {
    const HarborConnection& c = *options.harbor;
    auto harborClient =
        harbor::Client::create(shared, harbor::HarborOptions{c.url, c.username, c.password});
    auto gate = scangate::ScanGate::create(std::move(harborClient), {c.url, harborHosts},
                                           options.scanCache, std::move(observer.scan), clock);
    if (!gate.ok()) {
      return gate.status();
    }
    sources.push_back(scangate::makeScanSource(std::move(*gate)));
  }
  auto signatures = std::make_shared<signaturegate::SignatureGate>(
      registryClient, options.signatures, std::move(observer.signatures), clock);
  sources.push_back(signaturegate::makeSignatureSource(std::move(signatures)));
  EngineSettings settings = options.settings;
  settings.fixHosts = harborHosts;
  return std::make_unique<Engine>(std::move(sources),
                                  makeRegistryResolver(registryClient, options.digests, clock),
                                  std::move(settings), clock, std::move(observer.refused));
}

}  // namespace hm::review
