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
      out.http, HarborOptions{connection.url, connection.username, connection.password});
  out.plainHttp = url->scheme == "http";
  // authority() brackets an IPv6 host; the scheme's default port is not part of the name
  // image references use.
  const bool defaultPort =
      (url->scheme == "https" && url->port == 443) || (url->scheme == "http" && url->port == 80);
  const std::string authority = url->authority();
  out.registryHosts.push_back(
      imageref::normalizeHost(defaultPort ? authority.substr(0, authority.rfind(':')) : authority));
  for (const auto& h : connection.registryHosts) {
    out.registryHosts.push_back(imageref::normalizeHost(h));
  }
  return out;
}

}  // namespace hm::harbor
