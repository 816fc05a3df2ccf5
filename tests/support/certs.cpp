#include "support/certs.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace hm::testing {
namespace {

// In process, with OpenSSL's own API (what `openssl req -x509` calls), so the unit tests that
// need a certificate start no process.
template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Free<X509, X509_free>>;

void check(bool ok, const char* what) {
  if (!ok) {
    throw std::runtime_error(std::string("test certificate: ") + what);
  }
}

void addExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// "/O=system:masters/CN=alice" as `openssl req -subj` reads it.
void setSubject(X509* cert, const std::string& subject) {
  X509_NAME* name = X509_get_subject_name(cert);
  size_t pos = 0;
  while (pos < subject.size()) {
    size_t start = subject[pos] == '/' ? pos + 1 : pos;
    size_t end = subject.find('/', start);
    std::string part = subject.substr(start, end == std::string::npos ? end : end - start);
    pos = end == std::string::npos ? subject.size() : end;
    const size_t eq = part.find('=');
    if (eq == std::string::npos) {
      continue;
    }
    const std::string field = part.substr(0, eq), value = part.substr(eq + 1);
    check(X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                     0) == 1,
          "subject");
  }
  X509_set_issuer_name(cert, name);
}

void writeSelfSigned(const std::string& certPath, const std::string& keyPath,
                     const std::string& subject, int extNid, const std::string& extValue) {
  Key key(EVP_EC_gen("P-256"));
  check(key != nullptr, "key");
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 2 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  setSubject(cert.get(), subject);
  addExtension(cert.get(), extNid, extValue);
  check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "sign");
  FILE* k = std::fopen(keyPath.c_str(), "w");
  check(k != nullptr, "key file");
  const bool keyOk = PEM_write_PrivateKey(k, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(k);
  FILE* c = std::fopen(certPath.c_str(), "w");
  check(c != nullptr, "certificate file");
  const bool certOk = PEM_write_X509(c, cert.get());
  std::fclose(c);
  check(keyOk && certOk, "write");
}

}  // namespace

void makeSelfSignedCert(const std::string& certPath, const std::string& keyPath,
                        const std::string& commonName, const std::string& subjectAltName) {
  writeSelfSigned(certPath, keyPath, "/CN=" + commonName, NID_subject_alt_name, subjectAltName);
}

void makeClientCert(const std::string& certPath, const std::string& keyPath,
                    const std::string& subject) {
  writeSelfSigned(certPath, keyPath, subject, NID_ext_key_usage, "clientAuth");
}

}  // namespace hm::testing
