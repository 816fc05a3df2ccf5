// The one way both commands reach Harbor: the webhook (scan facts, through the review engine)
// and the operator (projects, robots) build their connection here, so they trust the same CAs
// and name Harbor's registry host the same way.
//
//   auto h = harbor::connect(executor, {.url = "https://harbor.example.com", .caFile = ca});
//   h->client->getProject(…);   // h->http can be shared (the webhook's registry client does)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harbormaster/harbor/client.h"
#include "harbormaster/net/client.h"

namespace hm::harbor {

struct Connection {
  std::string url;     // https://harbor.example.com
  std::string caFile;  // PEM bundle added to the system trust store; empty: the store alone
  std::string username;
  std::string password;
  // Other host[:port] names Harbor's registry is reached by (the URL's host always is).
  std::vector<std::string> registryHosts;
  double requestsPerSecond = 0;  // --harbor-rate-limit: API requests per second; 0: no limit
  // When set, read on every request instead of username and password (HarborOptions).
  std::shared_ptr<const CredentialSource> credentials = nullptr;
};

struct Connected {
  std::shared_ptr<net::HttpClient> http;
  std::shared_ptr<Client> client;
  // Every host Harbor's registry answers as, as image references name it (imageref's
  // normalizeHost): the URL's host first ("[::1]:8443", the port only when not the scheme's
  // default), then registryHosts. Pull secrets' auths keys and the engine's Harbor hosts.
  std::vector<std::string> registryHosts;
  bool plainHttp = false;  // an http:// URL (local test registries, never production)
};

// `options` carries what else the caller needs of the HTTP client (pool sizes); the CA and
// trust settings are set here. A bad URL or CA file is an InvalidArgument naming the flag.
StatusOr<Connected> connect(boost::asio::any_io_executor executor, const Connection& connection,
                            net::ClientOptions options = {});

}  // namespace hm::harbor
