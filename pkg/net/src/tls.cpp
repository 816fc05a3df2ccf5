#include "tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/error.hpp>

#include "harbormaster/base/files.h"

namespace hm::net::internal {
namespace {

// ECDHE key exchange with AEAD ciphers only, for TLS 1.2 clients; TLS 1.3 suites are AEAD by
// definition and keep OpenSSL's defaults.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

}  // namespace

StatusOr<std::shared_ptr<boost::asio::ssl::context>> makeServerContext(const std::string& certPem,
                                                                       const std::string& keyPem) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* h = ctx->native_handle();
  SSL_CTX_set_min_proto_version(h, TLS1_2_VERSION);
  SSL_CTX_set_options(
      h, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(h, kTls12Ciphers) != 1) {
    return internalError("OpenSSL rejected the TLS 1.2 cipher list");
  }
  boost::system::error_code ec;
  ctx->use_certificate_chain(boost::asio::buffer(certPem), ec);
  if (ec) {
    return invalidArgument("TLS certificate is not a valid PEM certificate chain: " + ec.message());
  }
  ctx->use_private_key(boost::asio::buffer(keyPem), ssl::context::pem, ec);
  if (ec && ec.category() == boost::asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
    ERR_clear_error();
    return invalidArgument("TLS key does not belong to the certificate");
  }
  if (ec) {
    return invalidArgument("TLS key is not a valid PEM private key: " + ec.message());
  }
  if (SSL_CTX_check_private_key(h) != 1) {
    ERR_clear_error();
    return invalidArgument("TLS key does not belong to the certificate");
  }
  return ctx;
}

StatusOr<std::unique_ptr<CertificateStore>> CertificateStore::create(TlsFiles files) {
  std::unique_ptr<CertificateStore> store(new CertificateStore(std::move(files)));
  auto status = store->reloadIfChanged();
  if (status && !status->ok()) {
    return *status;
  }
  return store;
}

std::shared_ptr<boost::asio::ssl::context> CertificateStore::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::optional<Status> CertificateStore::reloadIfChanged() {
  auto cert = readFile(files_.certFile, 1024 * 1024);
  auto key = readFile(files_.keyFile, 1024 * 1024);
  if (!cert.ok() || !key.ok()) {
    // Report a missing file once, not on every check while it stays missing.
    Status s = !cert.ok() ? cert.status().withContext("TLS certificate")
                          : key.status().withContext("TLS key");
    if (lastAttempt_ == s.message()) {
      return std::nullopt;
    }
    lastAttempt_ = s.message();
    return s;
  }
  std::string attempt = *cert + '\0' + *key;
  if (attempt == lastAttempt_) {
    return std::nullopt;
  }
  lastAttempt_ = std::move(attempt);
  auto ctx = makeServerContext(*cert, *key);
  if (!ctx.ok()) {
    return ctx.status().withContext(files_.certFile + ", " + files_.keyFile);
  }
  std::lock_guard lock(mu_);
  current_ = std::move(*ctx);
  return okStatus();
}

}  // namespace hm::net::internal
