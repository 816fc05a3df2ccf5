// Signing images the way cosign does, with keys OpenSSL makes, for tests: the legacy
// "sha256-<hex>.sig" layout (simple-signing layers) and Sigstore v0.3 bundles as OCI 1.1
// referrers (DSSE in-toto statements, as cosign v3 writes them).
#pragma once

#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace hm::testing {

struct SigningKey {
  std::string type;  // p256, p384, rsa, ed25519
  std::string privateFile;
  std::string publicFile;
  std::string publicPem;
};

// A new key pair of `type` in `dir`, PEM files as `openssl genpkey` writes them.
SigningKey makeSigningKey(const TempDir& dir, const std::string& type, const std::string& name);
// The raw signature over `message`: ECDSA/RSA with SHA-256, Ed25519 pure (as cosign signs).
std::string signMessage(const SigningKey& key, const std::string& message);

// cosign's simple-signing payload for `digest`.
std::string simpleSigningPayload(const std::string& dockerReference, const std::string& digest);

struct SignatureArtifact {
  std::string mediaType;
  std::string manifest;
  std::vector<std::string> blobs;
};

struct LegacySignature {
  std::string payload;
  std::string signature;  // raw bytes; base64-encoded into the annotation
};

// The manifest of a "sha256-<hex>.sig" tag with one simple-signing layer per signature.
SignatureArtifact legacySignatureManifest(const std::vector<LegacySignature>& signatures);

// A v0.3 bundle: a DSSE envelope over an in-toto statement whose subject is `digest`, signed by
// `key`, with no transparency-log entry (policies with tlog: Skip).
std::string keySignedBundle(const SigningKey& key, const std::string& digest,
                            const std::string& predicateType);

// The referrer manifest cosign pushes for a bundle; `subjectMediaType`/`subjectSize` describe
// the signed manifest. `artifactType` empty: none (some cosign releases write odd ones).
SignatureArtifact bundleReferrer(const std::string& bundle, const std::string& subjectDigest,
                                 const std::string& subjectMediaType, size_t subjectSize,
                                 const std::string& artifactType);

// cosign's own keyless signature (Fulcio certificate, Rekor SET) from
// shared/sigstore/vectors/legacy-tag/keyless-fulcio-rekor, as the manifest of its .sig tag;
// `imageDigest` receives the digest it signs (the image itself is not in the vectors, and
// discovery never needs it).
SignatureArtifact cosignKeylessVector(std::string& imageDigest);

}  // namespace hm::testing
