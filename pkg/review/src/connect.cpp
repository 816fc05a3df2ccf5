// The one connection every fact source shares, and the engine on top of it.
#include "harbormaster/harbor/client.h"
#include "harbormaster/registry/client.h"
#include "harbormaster/review/engine.h"

namespace hm::review {

StatusOr<std::unique_ptr<Engine>> connect(boost::asio::any_io_executor executor,
                                          EngineOptions options, EngineObserver observer,
                                          const Clock& clock) {
  registry::RegistryOptions ro;
  // Hosts compare as image references hold them (imageref::normalizeHost): a flag's
  // "HARBOR.example.com:443" is the registry of harbor.example.com/p/x.
  for (const auto& host : options.plainHttpRegistries) {
    ro.plainHttpHosts.insert(imageref::normalizeHost(host));
  }
  // One HTTP client for Harbor's API and every registry: built by harbor::connect when Harbor
  // is configured (the operator's builder too), else plain.
  std::shared_ptr<net::HttpClient> shared;
  std::vector<std::string> harborHosts;
  std::vector<std::shared_ptr<facts::Source>> sources;
  std::shared_ptr<harbor::Client> harborClient;
  if (options.harbor) {
    auto connected = harbor::connect(executor, *options.harbor);
    if (!connected.ok()) {
      return connected.status();
    }
    shared = connected->http;
    harborClient = connected->client;
    harborHosts = connected->registryHosts;
    for (const auto& h : harborHosts) {
      if (!options.harbor->username.empty() || options.harbor->credentials != nullptr) {
        ro.credentials[h] = {options.harbor->username, options.harbor->password,
                             options.harbor->credentials};
      }
      if (connected->plainHttp) {
        ro.plainHttpHosts.insert(h);
      }
    }
  } else {
    auto http = net::HttpClient::create(executor, {});
    if (!http.ok()) {
      return http.status();
    }
    shared = std::shared_ptr<net::HttpClient>(std::move(*http));
  }
  facts::SharedClients clients;
  clients.registry = registry::Client::create(shared, std::move(ro));
  clients.harbor = std::move(harborClient);
  clients.harborUrl = options.harbor ? options.harbor->url : "";
  clients.harborHosts = harborHosts;
  clients.clock = &clock;
  clients.metrics = observer.metrics;
  for (const auto& module : options.sources) {
    auto source = module->create(clients);
    if (!source.ok()) {
      return source.status().withContext(std::string(module->name()) + " source");
    }
    if (*source != nullptr) {
      sources.push_back(std::move(*source));
    }
  }
  EngineSettings settings = options.settings;
  settings.fixHosts = harborHosts;
  return std::make_unique<Engine>(std::move(sources),
                                  makeRegistryResolver(clients.registry, options.digests, clock),
                                  std::move(settings), clock, std::move(observer.refused));
}

}  // namespace hm::review
