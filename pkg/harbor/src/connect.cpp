#include "harbormaster/harbor/connect.h"

#include "harbormaster/imageref/reference.h"

namespace hm::harbor {

StatusOr<Connected> connect(boost::asio::any_io_executor executor, const Connection& connection,
                            net::ClientOptions options) {
  auto url = net::parseUrl(connection.url);
  if (!url.ok()) {
    return url.status().withContext("--harbor-url");
  }
  if (!connection.caFile.empty()) {
    options.caFile = connection.caFile;
    // Harbor's own CA and the public ones: registries other than Harbor (and a Harbor behind a
    // public certificate after a CA change) keep working.
    options.alsoSystemTrust = true;
  }
  auto http = net::HttpClient::create(executor, options);
  if (!http.ok()) {
    return http.status().withContext("the Harbor connection");
  }
  Connected out;
  out.http = std::shared_ptr<net::HttpClient>(std::move(*http));
  out.client = Client::create(
      out.http, HarborOptions{connection.url, connection.username, connection.password,
                              connection.requestsPerSecond, connection.credentials});
  out.plainHttp = url->scheme == "http";
  // authority() brackets an IPv6 host and leaves out the scheme's default port, as image
  // references name a registry.
  out.registryHosts.push_back(imageref::normalizeHost(url->authority()));
  for (const auto& h : connection.registryHosts) {
    out.registryHosts.push_back(imageref::normalizeHost(h));
  }
  return out;
}

}  // namespace hm::harbor
