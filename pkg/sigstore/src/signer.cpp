#include "signer.h"

#include "certificate.h"
#include "harbormaster/base/encoding.h"

namespace hm::sigstore {
namespace {

Status verifyWith(const PublicKey& key, const SignedContent& content, const std::string& sig) {
  return content.message != nullptr ? key.verify(*content.message, sig)
                                    : key.verifyDigest(content.sha256, sig);
}

// The first identity the certificate satisfies; otherwise a message naming what was found.
StatusOr<std::string> matchIdentity(const CertificateIdentity& id,
                                    const std::vector<Identity>& wanted) {
  std::string seen = id.subjectAlternativeNames.empty() ? "(none)" : id.subjectAlternativeNames[0];
  std::string why;
  for (const Identity& w : wanted) {
    for (const std::string& san : id.subjectAlternativeNames) {
      bool subjectOk = false;
      if (!w.subject.empty()) {
        subjectOk = san == w.subject;
      } else if (w.subjectRegExp) {
        subjectOk = w.subjectRegExp->search(san);  // linear in the SAN: RE2
      }
      if (subjectOk && id.issuer == w.issuer) {
        return san + " (issuer " + id.issuer + ")";
      }
      if (subjectOk) {
        why = "certificate issuer " + id.issuer + " is not " + w.issuer;
      }
    }
    if (why.empty()) {
      why = "certificate identity " + seen + " does not match " +
            (w.subjectRegExp ? w.subjectRegExp->pattern() : w.subject);
    }
  }
  return permissionDenied(why.empty() ? "no identity is configured" : why);
}

}  // namespace

StatusOr<Signer> identifySigner(const SigningMaterial& material, const SignedContent& content,
                                const std::string& signature, const SignerPolicy& policy,
                                const TrustedRoot& root, const std::vector<WallTime>& times) {
  Signer s;
  // Keys first: with a key that verifies, a certificate the signature carries does not matter.
  for (const PublicKey& k : policy.keys) {
    if (verifyWith(k, content, signature).ok()) {
      s.description = "key " + hexEncode(k.logId());
      s.keyDer = k.der();
      return s;
    }
  }
  if (material.certificateDer.empty() || policy.identities.empty()) {
    if (!policy.keys.empty()) {
      return permissionDenied("signed by an unknown key");
    }
    return permissionDenied(material.certificateDer.empty()
                                ? "signed with a key, and the policy names no key"
                                : "signed with a certificate, and the policy names no identity");
  }
  if (times.empty()) {
    return failedPrecondition(
        "a keyless signature needs a verified time (a Rekor SET or an RFC 3161 timestamp)");
  }
  StatusOr<CertificateIdentity> id = failedPrecondition("unreachable");
  for (WallTime at : times) {
    id = verifyCertificate(material.certificateDer, material.chainDer, root, at, policy.requireSct);
    if (!id.ok()) {
      return id.status();
    }
  }
  if (auto v = verifyWith(id->key, content, signature); !v.ok()) {
    return failedPrecondition("the signature does not verify with the certificate's key");
  }
  auto who = matchIdentity(*id, policy.identities);
  if (!who.ok()) {
    return who.status();
  }
  s.description = *who;
  s.keyDer = id->key.der();
  s.certificateDer = material.certificateDer;
  return s;
}

bool isSigner(const std::string& keyOrCertPem, const Signer& signer) {
  if (signer.certificateDer.empty()) {
    auto k = PublicKey::fromPem(keyOrCertPem);
    if (!k.ok()) {
      k = PublicKey::fromDer(keyOrCertPem);
    }
    return k.ok() && k->der() == signer.keyDer;
  }
  auto c = certificateDer(keyOrCertPem);
  return c.ok() && *c == signer.certificateDer;
}

Status checkLogged(const LoggedSignature& logged, const SignedContent& content,
                   const std::string& signature, const Signer& signer) {
  if (!isSigner(logged.keyOrCertPem, signer) || logged.digestHex != hexEncode(content.sha256) ||
      logged.signature != signature) {
    return failedPrecondition("the Rekor entry does not match the signature");
  }
  return okStatus();
}

}  // namespace hm::sigstore
