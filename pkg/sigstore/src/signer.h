// Who made a signature: one of the policy's keys, or a certificate for one of its identities.
// Shared by legacy `.sig` layers and bundles.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/sigstore/verify.h"
#include "rekor.h"

namespace hm::sigstore {

struct SigningMaterial {
  std::string certificateDer;         // empty: signed with a key
  std::vector<std::string> chainDer;  // untrusted intermediates carried with it
};

// What was signed: the message, or (bundles given only a digest) its SHA-256.
struct SignedContent {
  const std::string* message = nullptr;
  std::string sha256;
};

struct Signer {
  std::string description;  // for Verified::signer
  std::string keyDer;       // the verifying key (SPKI DER)
  std::string certificateDer;
};

// `times`: the verified times of signing (Rekor SETs, RFC 3161 timestamps); a keyless
// certificate must hold at each of them and cannot be checked without one.
StatusOr<Signer> identifySigner(const SigningMaterial& material, const SignedContent& content,
                                const std::string& signature, const SignerPolicy& policy,
                                const TrustedRoot& root, const std::vector<WallTime>& times);

// Whether a key or certificate (PEM, as Rekor logs them) is the signer's.
bool isSigner(const std::string& keyOrCertPem, const Signer& signer);

// The Rekor entry must have logged this signature, over this content, by this key/certificate.
Status checkLogged(const LoggedSignature& logged, const SignedContent& content,
                   const std::string& signature, const Signer& signer);

}  // namespace hm::sigstore
