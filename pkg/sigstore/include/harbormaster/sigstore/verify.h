// Verifying cosign signatures offline: the legacy tag-based layout (one simple-signing layer of a
// sha256-<hex>.sig manifest) and Sigstore bundles (v0.1-v0.3). See shared/sigstore/FORMATS.md.
//
// Implemented so far: signatures by keys (ECDSA, RSA, Ed25519) and keyless certificates (chain
// to the trusted root's CAs at signing time, code-signing EKU, embedded SCTs, SAN and OIDC issuer)
// with Rekor v1 hashedrekord entries — SET, inclusion proof with its signed checkpoint, and the
// entry bound to the signature, the signed hash and the key or certificate; DSSE envelopes (PAE)
// with in-toto statements whose subject must name the artifact, logged as dsse 0.0.1 or
// intoto 0.0.2. Not yet: RFC 3161 timestamps, Rekor v2. Such signatures are refused as unsupported
// (StatusCode::kUnimplemented), never accepted.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/regexp/regexp.h"
#include "harbormaster/sigstore/keys.h"
#include "harbormaster/sigstore/trust.h"

namespace hm::sigstore {

// A keyless signer: the OIDC issuer (exact) and the certificate's subject alternative name,
// exact or as a regular expression (RE2/Go syntax, searched as cosign does: anchor it with ^…$).
// The pattern is compiled by whoever builds the policy, once.
struct Identity {
  std::string issuer;
  std::string subject;
  std::optional<regexp::RegExp> subjectRegExp;
};

// Who may have signed: any of the keys, or a certificate from the trusted root's CAs for any of
// the identities.
struct SignerPolicy {
  std::vector<PublicKey> keys;
  std::vector<Identity> identities;
  bool requireTlog = true;  // a Rekor entry must vouch for the signature
  bool requireSct = true;   // a keyless certificate must carry a verifiable SCT
};

struct Verified {
  std::string signer;                // "key <sha256 of the key's DER>" or "<SAN> (issuer <URL>)"
  std::optional<WallTime> loggedAt;  // Rekor's integrated time, when a SET vouched for it
  std::string predicateType;         // DSSE in-toto statements: what they attest
};

// Errors: PermissionDenied when the signature is someone else's (an unknown key, a certificate
// identity or issuer the policy does not name); other codes when a signature is broken, for
// another artifact, unsupported (Unimplemented) or cannot be checked. A caller with several
// signatures reports the latter first: they say more about what went wrong.

// One layer of a cosign `.sig` manifest.
struct LegacyLayer {
  std::string mediaType;
  std::string payload;  // the exact blob bytes (the fetcher checked them against the descriptor)
  std::map<std::string, std::string> annotations;
};

inline constexpr std::string_view kSimpleSigningMediaType =
    "application/vnd.dev.cosign.simplesigning.v1+json";

// OK when the layer is a simple-signing payload for `imageDigest` ("sha256:<hex>"), signed by one
// of the keys, and (when required) logged in a Rekor the root trusts. Errors say why not.
StatusOr<Verified> verifyLegacyLayer(const LegacyLayer& layer, std::string_view imageDigest,
                                     const SignerPolicy& policy, const TrustedRoot& root,
                                     WallTime now);

// What a bundle signs: the artifact itself, or only its digest. In-toto subjects match on
// either digest; message signatures need the bytes or the SHA-256.
struct Artifact {
  std::string bytes;   // empty when only the digest is known
  std::string sha256;  // raw 32 bytes; empty when only the SHA-512 is known
  std::string sha512;  // raw 64 bytes; empty when only the SHA-256 is known
  static Artifact fromBytes(std::string bytes);
  // "sha256:<64 hex>" or "sha512:<128 hex>"
  static StatusOr<Artifact> fromDigest(std::string_view digest);
};

StatusOr<Verified> verifyBundle(std::string_view bundleJson, const Artifact& artifact,
                                const SignerPolicy& policy, const TrustedRoot& root, WallTime now);

}  // namespace hm::sigstore
