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

StatusOr<std::shared_ptr<boost::asio::ssl::context>> makeServerContext(
    const std::string& certPem, const std::string& keyPem, const std::string& clientCaPem) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* h = ctx->native_handle();
  SSL_CTX_set_min_proto_version(h, TLS1_2_VERSION);
  SSL_CTX_set_options(
      h, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // An idle connection gives OpenSSL's record buffers back (about 34 KB each).
  SSL_CTX_set_mode(h, SSL_MODE_RELEASE_BUFFERS);
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
  if (!clientCaPem.empty()) {
    ctx->add_certificate_authority(boost::asio::buffer(clientCaPem), ec);
    if (ec) {
      return invalidArgument("client CA bundle is not a valid PEM certificate: " + ec.message());
    }
    ctx->set_verify_mode(ssl::verify_peer);
  }
  return ctx;
}

namespace {

std::vector<std::string> subjectEntries(X509_NAME* name, int nid) {
  std::vector<std::string> out;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n >= 0) {
      out.emplace_back(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
      OPENSSL_free(utf8);
    }
  }
  return out;
}

}  // namespace

ClientIdentity verifiedClientIdentity(SSL* ssl) {
  ClientIdentity id;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) {
    return id;
  }
  X509_NAME* subject = X509_get_subject_name(cert);
  auto cn = subjectEntries(subject, NID_commonName);
  id.commonName = cn.empty() ? "" : cn.front();
  id.organizations = subjectEntries(subject, NID_organizationName);
  return id;
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
  std::string clientCa;
  if (!files_.clientCaFile.empty()) {
    auto ca = readFile(files_.clientCaFile, 1024 * 1024);
    if (!ca.ok()) {
      return ca.status().withContext("client CA bundle");
    }
    clientCa = std::move(*ca);
  }
  std::string attempt = *cert + '\0' + *key + '\0' + clientCa;
  if (attempt == lastAttempt_) {
    return std::nullopt;
  }
  lastAttempt_ = std::move(attempt);
  auto ctx = makeServerContext(*cert, *key, clientCa);
  if (!ctx.ok()) {
    return ctx.status().withContext(files_.certFile + ", " + files_.keyFile);
  }
  std::lock_guard lock(mu_);
  current_ = std::move(*ctx);
  return okStatus();
}

}  // namespace hm::net::internal
