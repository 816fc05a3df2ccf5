// Keyless signing certificates (Fulcio, or a private PKI): the chain to a trusted CA at signing
// time, code-signing EKU, embedded SCTs, and the identity the certificate binds.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/sigstore/keys.h"
#include "harbormaster/sigstore/trust.h"

namespace hm::sigstore {

struct CertificateIdentity {
  std::vector<std::string> subjectAlternativeNames;  // email, URI, DNS, Fulcio otherName
  std::string issuer;                                // the OIDC issuer extension
  PublicKey key;
};

// `untrustedDer`: intermediates the signature carried (never anchors). `at`: the verified time of
// signing. With `requireSct`, one embedded SCT must verify with a CT log of the root.
StatusOr<CertificateIdentity> verifyCertificate(const std::string& leafDer,
                                                const std::vector<std::string>& untrustedDer,
                                                const TrustedRoot& root, WallTime at,
                                                bool requireSct);

StatusOr<std::string> certificateDer(std::string_view pemOrDer);
std::vector<std::string> pemCertificates(std::string_view pem);  // each as DER
bool selfSigned(const std::string& der);

}  // namespace hm::sigstore
