#include "harbormaster/sigstore/keys.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

namespace hm::sigstore {
namespace {

EVP_PKEY* pkey(const std::shared_ptr<void>& p) {
  return static_cast<EVP_PKEY*>(p.get());
}

StatusOr<PublicKey> adopt(EVP_PKEY* raw, PublicKey (*make)(std::shared_ptr<void>, std::string)) {
  if (raw == nullptr) {
    ERR_clear_error();
    return invalidArgument("not a public key (PEM \"PUBLIC KEY\" or DER SubjectPublicKeyInfo)");
  }
  std::shared_ptr<void> key(raw, [](void* k) { EVP_PKEY_free(static_cast<EVP_PKEY*>(k)); });
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(raw, &der);
  if (n <= 0) {
    ERR_clear_error();
    return invalidArgument("the public key cannot be encoded");
  }
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return make(std::move(key), std::move(out));
}

const EVP_MD* digestByName(std::string_view name) {
  if (name == "SHA384") {
    return EVP_sha384();
  }
  if (name == "SHA512") {
    return EVP_sha512();
  }
  return EVP_sha256();
}

Status bad(const char* what) {
  ERR_clear_error();
  return failedPrecondition(what);
}

}  // namespace

std::string sha256(std::string_view data) {
  unsigned char md[32];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof md);
}

// A friend-less way to build the class from the helpers above.
struct PublicKeyAccess {
  static PublicKey make(std::shared_ptr<void> key, std::string der) {
    PublicKey k;
    k.key_ = std::move(key);
    k.der_ = std::move(der);
    return k;
  }
};

StatusOr<PublicKey> PublicKey::fromPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return adopt(raw, &PublicKeyAccess::make);
}

StatusOr<PublicKey> PublicKey::fromDer(std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (raw == nullptr) {
    // Trusted roots also carry RSA keys as PKCS#1 RSAPublicKey (keyDetails PKCS1_RSA_*).
    ERR_clear_error();
    p = reinterpret_cast<const unsigned char*>(der.data());
    raw = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size()));
  }
  return adopt(raw, &PublicKeyAccess::make);
}

std::string PublicKey::type() const {
  switch (EVP_PKEY_get_base_id(pkey(key_))) {
    case EVP_PKEY_EC:
      return "ECDSA";
    case EVP_PKEY_RSA:
      return "RSA";
    case EVP_PKEY_ED25519:
      return "Ed25519";
    default:
      return "unsupported";
  }
}

Status PublicKey::verify(std::string_view message, std::string_view signature,
                         std::string_view digest) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ed25519 = type() == "Ed25519";
  int ok = EVP_DigestVerifyInit(ctx, nullptr, ed25519 ? nullptr : digestByName(digest), nullptr,
                                pkey(key_)) == 1 &&
           EVP_DigestVerify(
               ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
               reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok ? okStatus() : bad("the signature does not verify with this key");
}

Status PublicKey::verifyDigest(std::string_view messageHash, std::string_view signature,
                               std::string_view digest) const {
  if (type() == "Ed25519") {
    return failedPrecondition("an Ed25519 signature needs the message itself, not its hash");
  }
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(pkey(key_), nullptr);
  int ok = ctx != nullptr && EVP_PKEY_verify_init(ctx) == 1 &&
           EVP_PKEY_CTX_set_signature_md(ctx, digestByName(digest)) == 1 &&
           EVP_PKEY_verify(
               ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
               reinterpret_cast<const unsigned char*>(messageHash.data()), messageHash.size()) == 1;
  EVP_PKEY_CTX_free(ctx);
  return ok ? okStatus() : bad("the signature does not verify with this key");
}

}  // namespace hm::sigstore
