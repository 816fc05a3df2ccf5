// A small certificate authority for the webhook's own serving certificates (OpenSSL 3): a
// self-signed CA, serving certificates it issues, and what a keeper needs to read back from PEM.
//
//   auto ca = pki::createCa("harbormaster-webhook-ca", now - 5min, now + 365 * 24h);
//   auto leaf = pki::issueServing(*ca, {"hm-webhook.hm.svc"}, now - 5min, now + 90 * 24h);
//
// Keys are ECDSA P-256; certificates are X.509 v3 with the extensions the Kubernetes API server
// (Go's crypto/x509) requires: SANs (the CN is not used for names), serverAuth, CA:TRUE only on
// the CA.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/status.h"

namespace hm::pki {

using WallTime = std::chrono::system_clock::time_point;

struct KeyedCertificate {
  std::string certPem;
  std::string keyPem;  // PKCS#8
};

struct CertificateInfo {
  std::string commonName;
  WallTime notBefore;
  WallTime notAfter;
  bool isCa = false;
  std::vector<std::string> dnsNames;
  std::string fingerprint;  // SHA-256 of the DER, hex: identifies a certificate in a bundle
};

StatusOr<KeyedCertificate> createCa(std::string_view commonName, WallTime notBefore,
                                    WallTime notAfter);
StatusOr<KeyedCertificate> issueServing(const KeyedCertificate& ca,
                                        const std::vector<std::string>& dnsNames,
                                        WallTime notBefore, WallTime notAfter);

// Every certificate in a PEM bundle, in order; an error for anything unparseable or empty.
StatusOr<std::vector<CertificateInfo>> inspectBundle(std::string_view pem);
// The first certificate of a PEM chain.
StatusOr<CertificateInfo> inspect(std::string_view pem);
// OK when `certPem`'s signature verifies with `caPem`'s key and its issuer is `caPem`'s subject.
Status verifyIssuedBy(std::string_view certPem, std::string_view caPem);
// OK when the private key belongs to the certificate.
Status verifyKeyMatches(std::string_view certPem, std::string_view keyPem);

}  // namespace hm::pki
