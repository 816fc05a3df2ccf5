// Public keys as Sigstore uses them (OpenSSL 3): cosign keys, Rekor and CT log keys. ECDSA
// (P-256/P-384/P-521), RSA (PKCS#1 v1.5) and Ed25519 (pure).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "harbormaster/base/status.h"

namespace hm::sigstore {

std::string sha256(std::string_view data);  // raw 32 bytes

class PublicKey {
 public:
  PublicKey() = default;
  // PEM "PUBLIC KEY" (SubjectPublicKeyInfo), or DER: SPKI, or PKCS#1 for RSA.
  static StatusOr<PublicKey> fromPem(std::string_view pem);
  static StatusOr<PublicKey> fromDer(std::string_view der);

  // `signature` over `message`: ECDSA and RSA hash it with `digest` ("SHA256", "SHA384",
  // "SHA512"); Ed25519 signs the message itself and ignores `digest`.
  Status verify(std::string_view message, std::string_view signature,
                std::string_view digest = "SHA256") const;
  // The same over a message of which only the hash is known (not possible for Ed25519).
  Status verifyDigest(std::string_view messageHash, std::string_view signature,
                      std::string_view digest = "SHA256") const;

  const std::string& der() const { return der_; }     // DER SPKI
  std::string logId() const { return sha256(der_); }  // Rekor's and CT's key ID
  std::string type() const;                           // "ECDSA", "RSA", "Ed25519"

 private:
  friend struct PublicKeyAccess;
  std::shared_ptr<void> key_;  // EVP_PKEY
  std::string der_;
};

}  // namespace hm::sigstore
