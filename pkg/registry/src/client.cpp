#include "harbormaster/registry/client.h"

#include "harbormaster/base/encoding.h"
#include "harbormaster/base/lru.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "harbormaster/registry/challenge.h"

namespace hm::registry {

namespace asio = boost::asio;
using asio::awaitable;
using Clock = std::chrono::steady_clock;

namespace {

// The first OCI error of a registry's error body, cut short, for messages.
std::string registryError(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty()) {
    const auto& e = j["errors"][0];
    std::string code =
        e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
    std::string msg =
        e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
    std::string out = code + (msg.empty() ? "" : ": " + msg);
    return out.substr(0, 200);
  }
  return "";
}

Status answerError(const std::string& what, const net::ClientResponse& res) {
  std::string detail = registryError(res.body);
  return net::statusFromHttp(res.status, what + " answered HTTP " + std::to_string(res.status) +
                                             (detail.empty() ? "" : " (" + detail + ")"));
}

constexpr size_t kMaxCachedTokens = 1024;

// Where a URL that the registry chose (a token realm, a blob redirect) may lead: never to a
// link-local address (cloud metadata, the node's link), and to loopback only when the registry
// itself is on this host (a local development registry).
net::TargetRule remoteChosenTargets(const std::string& registry) {
  std::string host = registry;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string::npos) {
    host.resize(colon);
  }
  const bool local =
      host == "localhost" || net::classifyAddress(host) == net::AddressClass::kLoopback;
  return local ? net::TargetRule::kNoLinkLocal : net::TargetRule::kNoLocal;
}

// The OCI distribution API over HTTP: the only implementation outside tests.
class DistributionClient final : public Client {
 public:
  DistributionClient(std::shared_ptr<net::HttpClient> http, RegistryOptions options);

  boost::asio::awaitable<StatusOr<Manifest>> getManifest(imageref::Reference ref,
                                                         Deadline deadline) override;
  boost::asio::awaitable<StatusOr<std::string>> resolveDigest(imageref::Reference ref,
                                                              Deadline deadline) override;
  boost::asio::awaitable<StatusOr<std::string>> getBlob(imageref::Reference repo,
                                                        std::string digest, Deadline deadline,
                                                        size_t maxBytes = 0) override;
  boost::asio::awaitable<StatusOr<std::vector<Descriptor>>> referrers(imageref::Reference repo,
                                                                      std::string digest,
                                                                      Deadline deadline) override;
  size_t tokenRequests() const override;

 private:
  struct CachedAuth {
    std::string header;
    std::chrono::steady_clock::time_point expires;
  };

  boost::asio::awaitable<StatusOr<net::ClientResponse>> call(const imageref::Reference& repo,
                                                             std::string path,
                                                             std::vector<net::Header> headers,
                                                             size_t maxBytes, Deadline deadline);
  boost::asio::awaitable<StatusOr<CachedAuth>> authorize(const imageref::Reference& repo,
                                                         std::string_view challengeHeader,
                                                         const std::string& scope,
                                                         Deadline deadline);
  std::string endpoint(const std::string& registry) const;
  std::optional<std::string> cachedAuth(const std::string& key);

  std::shared_ptr<net::HttpClient> http_;
  RegistryOptions options_;
  std::mutex mu_;
  // Tokens by registry and scope: both come from the images a request names, so the map keeps
  // the most recently used ones only.
  LruMap<std::string, CachedAuth> auth_{kMaxCachedTokens};
  std::atomic<size_t> tokenRequests_{0};
};

}  // namespace

DistributionClient::DistributionClient(std::shared_ptr<net::HttpClient> http,
                                       RegistryOptions options)
    : http_(std::move(http)), options_(std::move(options)) {}

size_t DistributionClient::tokenRequests() const {
  return tokenRequests_.load();
}

std::string DistributionClient::endpoint(const std::string& registry) const {
  std::string host = registry == imageref::kDefaultRegistry ? "registry-1.docker.io" : registry;
  return (options_.plainHttpHosts.count(registry) ? "http://" : "https://") + host;
}

std::optional<std::string> DistributionClient::cachedAuth(const std::string& key) {
  std::lock_guard lock(mu_);
  const CachedAuth* auth = auth_.find(key);
  if (auth == nullptr || auth->expires <= Clock::now()) {
    return std::nullopt;
  }
  return auth->header;
}

awaitable<StatusOr<DistributionClient::CachedAuth>> DistributionClient::authorize(
    const imageref::Reference& repo, std::string_view challengeHeader, const std::string& scope,
    Deadline deadline) {
  const std::string& registry = repo.registry;
  auto challenge = parseChallenge(challengeHeader);
  if (!challenge.ok()) {
    co_return unauthenticated("registry " + registry +
                              " asked for authentication: " + challenge.status().message());
  }
  auto configured = options_.credentials.find(registry);
  // A source may be empty still (the webhook's Secret not written yet): anonymous until then.
  const BasicCredentials creds =
      configured != options_.credentials.end() ? configured->second.current() : BasicCredentials{};
  const bool haveCreds = !creds.empty();
  if (challenge->scheme == "basic") {
    if (!haveCreds) {
      co_return unauthenticated("registry " + registry +
                                " requires credentials and none are configured");
    }
    co_return CachedAuth{"Basic " + hm::base64Encode(creds.username + ":" + creds.password),
                         Clock::now() + std::chrono::hours(1)};
  }
  if (challenge->scheme != "bearer") {
    co_return unauthenticated("registry " + registry + " asked for unsupported auth scheme \"" +
                              challenge->scheme + "\"");
  }
  std::string realm = challenge->param("realm");
  auto realmUrl = net::parseUrl(realm);
  if (!realmUrl.ok()) {
    co_return unauthenticated("registry " + registry +
                              " named an invalid token realm: " + realmUrl.status().message());
  }
  // Credentials travel to the realm only over TLS, unless the registry itself is a local
  // plain-http test registry.
  if (realmUrl->scheme != "https" && !options_.plainHttpHosts.count(registry)) {
    co_return unauthenticated("registry " + registry + " named a token realm without TLS (" +
                              realmUrl->authority() + "); refusing to send credentials there");
  }
  std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&") +
                    "service=" + hm::percentEncode(challenge->param("service")) +
                    "&scope=" + hm::percentEncode(scope);
  net::ClientRequest req;
  req.method = "GET";
  req.url = url;
  req.deadline = deadline;
  req.maxResponseBytes = 1024 * 1024;
  req.targets = remoteChosenTargets(registry);
  if (haveCreds) {
    req.headers.push_back(
        {"Authorization", "Basic " + hm::base64Encode(creds.username + ":" + creds.password)});
  }
  ++tokenRequests_;
  auto res = co_await http_->send(std::move(req));
  if (!res.ok()) {
    co_return res.status().withContext("token service of " + registry);
  }
  if (res->status == 401 || res->status == 403) {
    co_return unauthenticated(
        haveCreds ? "the token service of " + registry + " rejected the configured credentials"
                  : "the token service of " + registry + " refused anonymous access");
  }
  if (res->status != 200) {
    co_return answerError("the token service of " + registry, *res);
  }
  auto body = nlohmann::json::parse(res->body, nullptr, false);
  std::string token;
  if (body.is_object()) {
    for (const char* key : {"token", "access_token"}) {
      if (body.contains(key) && body[key].is_string() && !body[key].get<std::string>().empty()) {
        token = body[key].get<std::string>();
        break;
      }
    }
  }
  if (token.empty()) {
    co_return unauthenticated("the token service of " + registry + " returned no token");
  }
  // The distribution spec: a missing or shorter lifetime means 60 seconds.
  int64_t lifetime = 60;
  if (body.contains("expires_in") && body["expires_in"].is_number_integer()) {
    lifetime = std::max<int64_t>(60, body["expires_in"].get<int64_t>());
  }
  co_return CachedAuth{"Bearer " + token,
                       Clock::now() + std::chrono::seconds(lifetime) - std::chrono::seconds(5)};
}

awaitable<StatusOr<net::ClientResponse>> DistributionClient::call(const imageref::Reference& repo,
                                                                  std::string path,
                                                                  std::vector<net::Header> headers,
                                                                  size_t maxBytes,
                                                                  Deadline deadline) {
  const std::string scope = "repository:" + repo.repository + ":pull";
  const std::string cacheKey = repo.registry + "|" + scope;
  std::string url = endpoint(repo.registry) + path;
  bool authTried = false;
  for (int hop = 0; hop < 4; ++hop) {
    net::ClientRequest req;
    req.method = "GET";
    req.url = url;
    req.headers = headers;
    req.deadline = deadline;
    req.maxResponseBytes = maxBytes;
    const bool sameHost = url.rfind(endpoint(repo.registry) + "/", 0) == 0;
    if (sameHost) {
      if (auto auth = cachedAuth(cacheKey)) {
        req.headers.push_back({"Authorization", *auth});
      }
    } else {
      req.targets = remoteChosenTargets(repo.registry);  // a redirect: the registry chose it
    }
    auto res = co_await http_->send(std::move(req));
    if (!res.ok()) {
      co_return res.status().withContext("registry " + repo.registry);
    }
    if (res->status == 401 && sameHost && !authTried) {
      authTried = true;
      auto auth = co_await authorize(repo, res->header("WWW-Authenticate"), scope, deadline);
      if (!auth.ok()) {
        co_return auth.status();
      }
      std::lock_guard lock(mu_);
      auth_.put(cacheKey, *auth);
      continue;
    }
    if (res->status == 401) {
      bool haveCreds = options_.credentials.count(repo.registry) > 0;
      co_return unauthenticated(
          haveCreds ? "the credentials for " + repo.registry +
                          " were rejected or lack pull access to " + repo.repository
                    : "registry " + repo.registry + " requires credentials for " + repo.repository);
    }
    // Blob storage often redirects to a CDN or object store; follow it without our credentials.
    if (res->status == 301 || res->status == 302 || res->status == 303 || res->status == 307 ||
        res->status == 308) {
      std::string location(res->header("Location"));
      if (location.empty()) {
        co_return unavailable("registry " + repo.registry + " redirected without a Location");
      }
      url = location.front() == '/' ? endpoint(repo.registry) + location : location;
      continue;
    }
    co_return res;
  }
  co_return unavailable("registry " + repo.registry + " redirected too many times");
}

awaitable<StatusOr<Manifest>> DistributionClient::getManifest(imageref::Reference ref,
                                                              Deadline deadline) {
  const std::string target = ref.isPinned() ? ref.digest : ref.tag;
  const std::string what = "manifest " + ref.name() + (ref.isPinned() ? "@" : ":") + target;
  std::string accept = std::string(kOciManifest) + ", " + std::string(kOciIndex) + ", " +
                       std::string(kDockerManifest) + ", " + std::string(kDockerManifestList);
  // Arguments are built before co_await: GCC 12 cannot put braced string literals in a frame.
  std::vector<net::Header> headers{net::Header{std::string("Accept"), accept}};
  std::string path = "/v2/" + ref.repository + "/manifests/" + target;
  auto res =
      co_await call(ref, std::move(path), std::move(headers), options_.maxManifestBytes, deadline);
  if (!res.ok()) {
    co_return res.status();
  }
  if (res->status == 404) {
    co_return notFound(what + " does not exist");
  }
  if (res->status != 200) {
    co_return answerError("registry " + ref.registry + " for " + what, *res);
  }
  std::string digest;
  if (ref.isPinned()) {
    digest = ref.digest;
  } else if (std::string_view reported = res->header("Docker-Content-Digest"); !reported.empty()) {
    digest = std::string(reported);
  } else {
    auto computed = digestOf("sha256", res->body);
    if (!computed.ok()) {
      co_return computed.status();
    }
    digest = *computed;
  }
  HM_RETURN_IF_ERROR_CO(verifyDigest(digest, res->body, what));
  auto manifest = parseManifest(res->body, res->header("Content-Type"));
  if (!manifest.ok()) {
    co_return manifest.status().withContext(what);
  }
  manifest->digest = digest;
  co_return manifest;
}

awaitable<StatusOr<std::string>> DistributionClient::resolveDigest(imageref::Reference ref,
                                                                   Deadline deadline) {
  if (ref.isPinned()) {
    co_return ref.digest;
  }
  auto manifest = co_await getManifest(std::move(ref), deadline);
  if (!manifest.ok()) {
    co_return manifest.status();
  }
  co_return manifest->digest;
}

awaitable<StatusOr<std::string>> DistributionClient::getBlob(imageref::Reference repo,
                                                             std::string digest, Deadline deadline,
                                                             size_t maxBytes) {
  HM_RETURN_IF_ERROR_CO(imageref::validateDigest(digest));
  const std::string what = "blob " + repo.name() + "@" + digest;
  std::string path = "/v2/" + repo.repository + "/blobs/" + digest;
  const size_t limit = maxBytes == 0 ? options_.maxBlobBytes : maxBytes;
  std::vector<net::Header> noHeaders;
  auto res = co_await call(repo, std::move(path), std::move(noHeaders), limit, deadline);
  if (!res.ok()) {
    co_return res.status();
  }
  if (res->status == 404) {
    co_return notFound(what + " does not exist");
  }
  if (res->status != 200) {
    co_return answerError("registry " + repo.registry + " for " + what, *res);
  }
  HM_RETURN_IF_ERROR_CO(verifyDigest(digest, res->body, what));
  co_return std::move(res->body);
}

awaitable<StatusOr<std::vector<Descriptor>>> DistributionClient::referrers(imageref::Reference repo,
                                                                           std::string digest,
                                                                           Deadline deadline) {
  HM_RETURN_IF_ERROR_CO(imageref::validateDigest(digest));
  std::vector<net::Header> headers{net::Header{std::string("Accept"), std::string(kOciIndex)}};
  std::string path = "/v2/" + repo.repository + "/referrers/" + digest;
  auto res =
      co_await call(repo, std::move(path), std::move(headers), options_.maxManifestBytes, deadline);
  if (!res.ok()) {
    co_return res.status();
  }
  if (res->status == 200) {
    auto index = parseManifest(res->body, res->header("Content-Type"));
    if (!index.ok() || !index->isIndex) {
      co_return invalidArgument("registry " + repo.registry +
                                " answered the referrers API with something other than an index");
    }
    co_return std::move(index->manifests);
  }
  if (res->status != 404) {
    co_return answerError("registry " + repo.registry + " for referrers of " + digest, *res);
  }
  // No referrers API: the fallback tag "<alg>-<hex>" holds an index of referrers.
  imageref::Reference tagRef = repo;
  tagRef.digest.clear();
  tagRef.tag = digest.substr(0, digest.find(':')) + "-" + digest.substr(digest.find(':') + 1);
  auto index = co_await getManifest(std::move(tagRef), deadline);
  if (!index.ok()) {
    if (isNotFound(index.status())) {
      co_return std::vector<Descriptor>{};
    }
    co_return index.status();
  }
  if (!index->isIndex) {
    co_return std::vector<Descriptor>{};
  }
  co_return std::move(index->manifests);
}

std::shared_ptr<Client> Client::create(std::shared_ptr<net::HttpClient> http,
                                       RegistryOptions options) {
  return std::make_shared<DistributionClient>(std::move(http), std::move(options));
}

}  // namespace hm::registry
