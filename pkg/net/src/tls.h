#pragma once

#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "harbormaster/base/status.h"
#include "harbormaster/net/server.h"

namespace hm::net::internal {

// Holds the serving certificate and swaps in a new one when the files change. Kubernetes
// updates a mounted Secret by swapping a symlink, so we compare file contents, not mtimes.
class CertificateStore {
 public:
  static StatusOr<std::unique_ptr<CertificateStore>> create(TlsFiles files);

  std::shared_ptr<boost::asio::ssl::context> current() const;
  // Re-reads the files; on a change, builds a new context. A pair that fails to load leaves the
  // current one in place (a Secret update may land the key a moment after the certificate).
  // Returns nullopt when nothing changed since the last attempt.
  std::optional<Status> reloadIfChanged();

 private:
  explicit CertificateStore(TlsFiles files) : files_(std::move(files)) {}

  TlsFiles files_;
  std::string lastAttempt_;  // cert + key contents of the last attempt, loaded or not
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

// clientCaPem: when not empty, client certificates are requested and must chain to it.
StatusOr<std::shared_ptr<boost::asio::ssl::context>> makeServerContext(
    const std::string& certPem, const std::string& keyPem, const std::string& clientCaPem = "");

// The verified client certificate's subject CN and O values (empty when there is none).
struct ClientIdentity {
  std::string commonName;
  std::vector<std::string> organizations;
};
ClientIdentity verifiedClientIdentity(SSL* ssl);

}  // namespace hm::net::internal
