#include "certificate.h"

#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "openssl_ptr.h"

#include "harbormaster/base/encoding.h"

namespace hm::sigstore {
namespace {

using X509Ptr = Owned<X509, X509_free>;
using StorePtr = Owned<X509_STORE, X509_STORE_free>;
using StoreCtxPtr = Owned<X509_STORE_CTX, X509_STORE_CTX_free>;
struct StackFree {  // sk_X509_free is a macro
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};
using StackPtr = std::unique_ptr<STACK_OF(X509), StackFree>;
using CtLogStorePtr = Owned<CTLOG_STORE, CTLOG_STORE_free>;
using CtPolicyPtr = Owned<CT_POLICY_EVAL_CTX, CT_POLICY_EVAL_CTX_free>;
using SctListPtr = Owned<STACK_OF(SCT), SCT_LIST_free>;
using NamesPtr = Owned<GENERAL_NAMES, GENERAL_NAMES_free>;

// Fulcio's OIDC issuer extensions: .1.8 is a DER UTF8String; .1.1 (deprecated) the raw bytes.
constexpr const char* kIssuerV2 = "1.3.6.1.4.1.57264.1.8";
constexpr const char* kIssuerV1 = "1.3.6.1.4.1.57264.1.1";
constexpr const char* kOtherNameSan = "1.3.6.1.4.1.57264.1.7";

X509Ptr fromDer(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

std::string asn1Text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

const X509_EXTENSION* extension(X509* cert, const char* oid) {
  ASN1_OBJECT* obj = OBJ_txt2obj(oid, 1);
  int at = X509_get_ext_by_OBJ(cert, obj, -1);
  ASN1_OBJECT_free(obj);
  return at < 0 ? nullptr : X509_get_ext(cert, at);
}

std::string oidcIssuer(X509* cert) {
  if (const X509_EXTENSION* ext = extension(cert, kIssuerV2)) {
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(const_cast<X509_EXTENSION*>(ext));
    const unsigned char* p = ASN1_STRING_get0_data(data);
    ASN1_UTF8STRING* s = d2i_ASN1_UTF8STRING(nullptr, &p, ASN1_STRING_length(data));
    if (s != nullptr) {
      std::string out = asn1Text(s);
      ASN1_UTF8STRING_free(s);
      return out;
    }
    ERR_clear_error();
  }
  if (const X509_EXTENSION* ext = extension(cert, kIssuerV1)) {
    return asn1Text(X509_EXTENSION_get_data(const_cast<X509_EXTENSION*>(ext)));
  }
  return "";
}

std::vector<std::string> subjectAlternativeNames(X509* cert) {
  std::vector<std::string> out;
  NamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  ASN1_OBJECT* otherNameOid = OBJ_txt2obj(kOtherNameSan, 1);
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    if (n->type == GEN_EMAIL || n->type == GEN_URI || n->type == GEN_DNS) {
      out.push_back(asn1Text(n->d.ia5));
    } else if (n->type == GEN_OTHERNAME && OBJ_cmp(n->d.otherName->type_id, otherNameOid) == 0 &&
               n->d.otherName->value->type == V_ASN1_UTF8STRING) {
      out.push_back(asn1Text(n->d.otherName->value->value.utf8string));
    }
  }
  ASN1_OBJECT_free(otherNameOid);
  return out;
}

// At least one embedded SCT verifies with a CT log of the trusted root (valid at `at`). The
// precertificate's issuer is the certificate that issued the leaf.
Status verifyScts(X509* leaf, X509* issuer, const TrustedRoot& root, WallTime at) {
  SctListPtr scts(
      static_cast<STACK_OF(SCT)*>(X509_get_ext_d2i(leaf, NID_ct_precert_scts, nullptr, nullptr)));
  if (!scts || sk_SCT_num(scts.get()) == 0) {
    return failedPrecondition("the certificate has no embedded SCT");
  }
  // OpenSSL adds CT logs to a store only from a configuration file.
  std::string config = "enabled_logs = ";
  std::string sections;
  int n = 0;
  for (const auto& log : root.ctlogs) {
    if (!log.validFor.contains(at)) {
      continue;
    }
    std::string name = "log" + std::to_string(n++);
    config += (n > 1 ? "," : "") + name;
    sections +=
        "[" + name + "]\ndescription = " + name + "\nkey = " + base64Encode(log.key.der()) + "\n";
  }
  if (n == 0) {
    return failedPrecondition("the trusted root has no CT log valid at signing time");
  }
  // $TMPDIR when set: a container with a read-only root file system mounts a writable /tmp or
  // names another directory.
  const char* dir = std::getenv("TMPDIR");
  std::string pathText =
      std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/hm-ctlogs-XXXXXX";
  std::vector<char> pathBuf(pathText.begin(), pathText.end());
  pathBuf.push_back('\0');
  char* path = pathBuf.data();
  int fd = mkstemp(path);
  if (fd < 0) {
    return internalError("cannot write the CT log list");
  }
  std::string text = config + "\n" + sections;
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  CtLogStorePtr logs(CTLOG_STORE_new());
  bool loaded = written && CTLOG_STORE_load_file(logs.get(), path) == 1;
  ::unlink(path);
  if (!loaded) {
    ERR_clear_error();
    return internalError("cannot load the trusted root's CT logs");
  }
  CtPolicyPtr policy(CT_POLICY_EVAL_CTX_new());
  CT_POLICY_EVAL_CTX_set1_cert(policy.get(), leaf);
  CT_POLICY_EVAL_CTX_set1_issuer(policy.get(), issuer);
  CT_POLICY_EVAL_CTX_set_shared_CTLOG_STORE(policy.get(), logs.get());
  CT_POLICY_EVAL_CTX_set_time(
      policy.get(), static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              (at + std::chrono::hours(24)).time_since_epoch())
                                              .count()));
  SCT_LIST_validate(scts.get(), policy.get());
  ERR_clear_error();
  for (int i = 0; i < sk_SCT_num(scts.get()); ++i) {
    if (SCT_get_validation_status(sk_SCT_value(scts.get(), i)) == SCT_VALIDATION_STATUS_VALID) {
      return okStatus();
    }
  }
  return failedPrecondition("no SCT of the certificate verifies with a trusted CT log");
}

}  // namespace

StatusOr<CertificateIdentity> verifyCertificate(const std::string& leafDer,
                                                const std::vector<std::string>& untrustedDer,
                                                const TrustedRoot& root, WallTime at,
                                                bool requireSct) {
  X509Ptr leaf = fromDer(leafDer);
  if (!leaf) {
    ERR_clear_error();
    return failedPrecondition("the signing certificate is not DER X.509");
  }
  // As Go's verifier (and so cosign): without an EKU extension any usage is allowed.
  if ((X509_get_extension_flags(leaf.get()) & EXFLAG_XKUSAGE) &&
      !(X509_get_extended_key_usage(leaf.get()) & XKU_CODE_SIGN)) {
    return failedPrecondition("the signing certificate is not for code signing");
  }
  const time_t when = std::chrono::system_clock::to_time_t(at);
  Status last = failedPrecondition("no certificate authority of the trusted root was valid then");
  for (const auto& ca : root.certificateAuthorities) {
    if (!ca.validFor.contains(at)) {
      continue;
    }
    StorePtr store(X509_STORE_new());
    StackPtr intermediates(sk_X509_new_null());
    std::vector<X509Ptr> owned;
    for (size_t i = 0; i < ca.chainDer.size(); ++i) {
      X509Ptr c = fromDer(ca.chainDer[i]);
      if (!c) {
        continue;
      }
      if (i + 1 == ca.chainDer.size()) {
        X509_STORE_add_cert(store.get(), c.get());
      } else {
        sk_X509_push(intermediates.get(), c.get());
      }
      owned.push_back(std::move(c));
    }
    for (const auto& der : untrustedDer) {
      if (X509Ptr c = fromDer(der)) {
        sk_X509_push(intermediates.get(), c.get());
        owned.push_back(std::move(c));
      }
    }
    StoreCtxPtr ctx(X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), intermediates.get());
    // Fulcio certificates live ten minutes: the chain must hold when the signature was made.
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), when);
    if (X509_verify_cert(ctx.get()) != 1) {
      last = failedPrecondition(
          std::string("the certificate does not chain to a trusted CA at signing time (") +
          X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())) + ")");
      ERR_clear_error();
      continue;
    }
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
    X509* issuer = sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : nullptr;
    if (requireSct) {
      if (issuer == nullptr) {
        return failedPrecondition("the certificate has no issuer to check its SCT with");
      }
      if (auto s = verifyScts(leaf.get(), issuer, root, at); !s.ok()) {
        return s;
      }
    }
    CertificateIdentity id;
    id.subjectAlternativeNames = subjectAlternativeNames(leaf.get());
    id.issuer = oidcIssuer(leaf.get());
    EVP_PKEY* key = X509_get0_pubkey(leaf.get());
    unsigned char* spki = nullptr;
    int n = i2d_PUBKEY(key, &spki);
    if (n <= 0) {
      return failedPrecondition("the certificate's key cannot be read");
    }
    auto pk =
        PublicKey::fromDer(std::string(reinterpret_cast<char*>(spki), static_cast<size_t>(n)));
    OPENSSL_free(spki);
    if (!pk.ok()) {
      return pk.status();
    }
    id.key = std::move(*pk);
    return id;
  }
  return last;
}

StatusOr<std::string> certificateDer(std::string_view pemOrDer) {
  if (pemOrDer.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos) {
    return std::string(pemOrDer);
  }
  BIO* bio = BIO_new_mem_buf(pemOrDer.data(), static_cast<int>(pemOrDer.size()));
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  if (!cert) {
    ERR_clear_error();
    return failedPrecondition("not a PEM certificate");
  }
  unsigned char* der = nullptr;
  int n = i2d_X509(cert.get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::vector<std::string> pemCertificates(std::string_view pem) {
  std::vector<std::string> out;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    if (!cert) {
      break;
    }
    unsigned char* der = nullptr;
    int n = i2d_X509(cert.get(), &der);
    out.emplace_back(reinterpret_cast<char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
  }
  BIO_free(bio);
  ERR_clear_error();
  return out;
}

bool selfSigned(const std::string& der) {
  X509Ptr c = fromDer(der);
  ERR_clear_error();
  return c && X509_check_issued(c.get(), c.get()) == X509_V_OK;
}

}  // namespace hm::sigstore
