#include "harbormaster/pki/pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

#include "harbormaster/base/encoding.h"

namespace hm::pki {
namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;

// The reason OpenSSL gives for the last failure, so an error names more than the step.
Status openSslError(std::string what) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    what += ": ";
    what += buf;
  }
  return internalError(std::move(what));
}

BioPtr memoryBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

StatusOr<X509Ptr> readCertificate(std::string_view pem) {
  auto bio = memoryBio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return invalidArgument("not a PEM certificate");
  }
  return cert;
}

StatusOr<KeyPtr> readKey(std::string_view pem) {
  auto bio = memoryBio(pem);
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return invalidArgument("not a PEM private key");
  }
  return key;
}

WallTime fromAsn1(const ASN1_TIME* t) {
  std::tm tm{};
  ASN1_TIME_to_tm(t, &tm);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Status addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) {
    return openSslError("building the " + std::string(OBJ_nid2sn(nid)) + " extension");
  }
  int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return added == 1 ? okStatus() : openSslError("adding an extension");
}

// A certificate body with subject, validity, a random 127-bit serial and the public key.
StatusOr<X509Ptr> newCertificate(std::string_view commonName, WallTime notBefore, WallTime notAfter,
                                 EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  BnPtr serial(BN_new());
  if (!cert || !serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()),
                    std::chrono::system_clock::to_time_t(notBefore)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                    std::chrono::system_clock::to_time_t(notAfter)) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return openSslError("building a certificate");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  std::string cn(commonName.substr(0, 64));  // the X.520 upper bound for a CN
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1) {
    return openSslError("setting the certificate subject");
  }
  return cert;
}

StatusOr<KeyPtr> newKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) {
    return openSslError("generating a P-256 key");
  }
  return key;
}

StatusOr<KeyedCertificate> encode(X509* cert, EVP_PKEY* key) {
  BioPtr certBio(BIO_new(BIO_s_mem()));
  BioPtr keyBio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(certBio.get(), cert) != 1 ||
      PEM_write_bio_PrivateKey(keyBio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return openSslError("encoding PEM");
  }
  return KeyedCertificate{bioText(certBio.get()), bioText(keyBio.get())};
}

Status checkValidity(WallTime notBefore, WallTime notAfter) {
  if (notAfter <= notBefore) {
    return invalidArgument("a certificate must end after it starts");
  }
  return okStatus();
}

CertificateInfo describe(X509* cert) {
  CertificateInfo info;
  char cn[256] = {};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
    info.commonName = cn;
  }
  info.notBefore = fromAsn1(X509_get0_notBefore(cert));
  info.notAfter = fromAsn1(X509_get0_notAfter(cert));
  info.isCa = X509_check_ca(cert) != 0;
  NamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    if (n->type == GEN_DNS) {
      const ASN1_IA5STRING* s = n->d.dNSName;
      info.dnsNames.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                 static_cast<size_t>(ASN1_STRING_length(s)));
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  info.fingerprint = hexEncode(std::string_view(reinterpret_cast<const char*>(md), len));
  return info;
}

}  // namespace

StatusOr<KeyedCertificate> createCa(std::string_view commonName, WallTime notBefore,
                                    WallTime notAfter) {
  if (auto s = checkValidity(notBefore, notAfter); !s.ok()) {
    return s;
  }
  auto key = newKey();
  if (!key.ok()) {
    return key.status();
  }
  auto cert = newCertificate(commonName, notBefore, notAfter, key->get());
  if (!cert.ok()) {
    return cert.status();
  }
  X509* c = cert->get();
  X509_set_issuer_name(c, X509_get_subject_name(c));
  for (auto [nid, value] : {std::pair<int, const char*>{NID_basic_constraints, "critical,CA:TRUE"},
                            {NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"},
                            {NID_subject_key_identifier, "hash"}}) {
    if (auto s = addExtension(c, c, nid, value); !s.ok()) {
      return s;
    }
  }
  if (X509_sign(c, key->get(), EVP_sha256()) == 0) {
    return openSslError("signing the CA certificate");
  }
  return encode(c, key->get());
}

StatusOr<KeyedCertificate> issueServing(const KeyedCertificate& ca,
                                        const std::vector<std::string>& dnsNames,
                                        WallTime notBefore, WallTime notAfter) {
  if (auto s = checkValidity(notBefore, notAfter); !s.ok()) {
    return s;
  }
  if (dnsNames.empty()) {
    return invalidArgument("a serving certificate needs at least one DNS name");
  }
  auto caCert = readCertificate(ca.certPem);
  auto caKey = readKey(ca.keyPem);
  if (!caCert.ok() || !caKey.ok()) {
    return invalidArgument("the CA certificate or key is not valid PEM");
  }
  auto key = newKey();
  if (!key.ok()) {
    return key.status();
  }
  auto cert = newCertificate(dnsNames.front(), notBefore, notAfter, key->get());
  if (!cert.ok()) {
    return cert.status();
  }
  X509* c = cert->get();
  X509_set_issuer_name(c, X509_get_subject_name(caCert->get()));
  std::string san;
  for (const auto& name : dnsNames) {
    san += (san.empty() ? "DNS:" : ",DNS:") + name;
  }
  for (auto [nid, value] : {std::pair<int, std::string>{NID_basic_constraints, "critical,CA:FALSE"},
                            {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                            {NID_ext_key_usage, "serverAuth"},
                            {NID_authority_key_identifier, "keyid:always"},
                            {NID_subject_alt_name, san}}) {
    if (auto s = addExtension(c, caCert->get(), nid, value); !s.ok()) {
      return s;
    }
  }
  if (X509_sign(c, caKey->get(), EVP_sha256()) == 0) {
    return openSslError("signing the serving certificate");
  }
  return encode(c, key->get());
}

StatusOr<std::vector<CertificateInfo>> inspectBundle(std::string_view pem) {
  auto bio = memoryBio(pem);
  std::vector<CertificateInfo> out;
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      break;
    }
    out.push_back(describe(cert.get()));
  }
  unsigned long err = ERR_peek_last_error();
  ERR_clear_error();
  // Running out of certificates ends the loop with "no start line"; anything else is damage.
  if (out.empty() || (err != 0 && ERR_GET_REASON(err) != PEM_R_NO_START_LINE)) {
    return invalidArgument(out.empty() ? "no PEM certificate found"
                                       : "a PEM certificate in the bundle is damaged");
  }
  return out;
}

StatusOr<CertificateInfo> inspect(std::string_view pem) {
  auto cert = readCertificate(pem);
  if (!cert.ok()) {
    return cert.status();
  }
  return describe(cert->get());
}

Status verifyIssuedBy(std::string_view certPem, std::string_view caPem) {
  auto cert = readCertificate(certPem);
  auto ca = readCertificate(caPem);
  if (!cert.ok() || !ca.ok()) {
    return invalidArgument("not a PEM certificate");
  }
  EVP_PKEY* caKey = X509_get0_pubkey(ca->get());
  if (X509_check_issued(ca->get(), cert->get()) != X509_V_OK || caKey == nullptr ||
      X509_verify(cert->get(), caKey) != 1) {
    ERR_clear_error();
    return failedPrecondition("the certificate was not issued by this CA");
  }
  return okStatus();
}

Status verifyKeyMatches(std::string_view certPem, std::string_view keyPem) {
  auto cert = readCertificate(certPem);
  auto key = readKey(keyPem);
  if (!cert.ok() || !key.ok()) {
    return invalidArgument("the certificate or key is not valid PEM");
  }
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return failedPrecondition("the private key does not belong to the certificate");
  }
  return okStatus();
}

}  // namespace hm::pki
