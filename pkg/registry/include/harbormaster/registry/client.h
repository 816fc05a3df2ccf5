// OCI distribution client: manifests, blobs and referrers, with the registry token flow.
//
//   auto reg = registry::Client::create(http, {.credentials = {{"harbor.example.com", {u, p}}}});
//   StatusOr<std::string> digest = co_await reg->resolveDigest(ref, deadline);
//
// Every manifest and blob fetched by digest is hashed and compared; a mismatch is an error,
// never a result. A tag resolves to the digest the registry reports (Docker-Content-Digest),
// checked against the bytes it sent. Tokens are cached per registry and scope until they
// expire. Credentials are sent only to the registry and its token realm, and never appear in
// errors or logs.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "harbormaster/base/credentials.h"
#include "harbormaster/imageref/reference.h"
#include "harbormaster/net/client.h"
#include "harbormaster/registry/types.h"

namespace hm::registry {

struct Credentials {
  std::string username;
  std::string password;
  // When set, read at every token request instead: credentials replaced while the client runs
  // (the webhook's rotated robot). Tokens already issued stay valid until they expire.
  std::shared_ptr<const CredentialSource> source = nullptr;

  BasicCredentials current() const {
    return source != nullptr ? source->get() : BasicCredentials{username, password};
  }
};

struct RegistryOptions {
  std::map<std::string, Credentials> credentials;  // by registry host as written in references
  // Hosts reached over plain http (local test registries; never for production registries).
  std::set<std::string> plainHttpHosts;
  size_t maxManifestBytes = 4 * 1024 * 1024;
  size_t maxBlobBytes = 16 * 1024 * 1024;
};

using Deadline = std::chrono::steady_clock::time_point;

class Client {
 public:
  static std::shared_ptr<Client> create(std::shared_ptr<net::HttpClient> http,
                                        RegistryOptions options);
  virtual ~Client() = default;

  // The manifest or index `ref` names: by digest when pinned (verified), else by tag.
  virtual boost::asio::awaitable<StatusOr<Manifest>> getManifest(imageref::Reference ref,
                                                                 Deadline deadline) = 0;
  // The digest a tag points to (a pinned reference returns its own digest without a call).
  virtual boost::asio::awaitable<StatusOr<std::string>> resolveDigest(imageref::Reference ref,
                                                                      Deadline deadline) = 0;
  // A blob of ref's repository, verified against `digest`, at most `maxBytes` (0: the default).
  virtual boost::asio::awaitable<StatusOr<std::string>> getBlob(imageref::Reference repo,
                                                                std::string digest,
                                                                Deadline deadline,
                                                                size_t maxBytes = 0) = 0;
  // Manifests whose subject is `digest`: the OCI 1.1 referrers API, or the "sha256-<hex>" tag
  // schema where the registry does not implement it. artifactType is reported as the registry
  // says; callers inspect the manifests themselves.
  virtual boost::asio::awaitable<StatusOr<std::vector<Descriptor>>> referrers(
      imageref::Reference repo, std::string digest, Deadline deadline) = 0;

  // Token requests made so far (for tests: the cache keeps this at one per scope).
  virtual size_t tokenRequests() const = 0;
};

}  // namespace hm::registry
