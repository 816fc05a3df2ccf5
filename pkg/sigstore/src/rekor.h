// Rekor v1 entries: the signed entry timestamp (SET), RFC 6962 inclusion proofs and their signed
// checkpoints, and what the entry's body says it logged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/sigstore/trust.h"

namespace hm::sigstore {

struct InclusionProof {
  int64_t logIndex = 0;
  int64_t treeSize = 0;
  std::string rootHash;             // raw
  std::vector<std::string> hashes;  // raw
  std::string checkpoint;           // the signed note, as text
};

struct TlogEntry {
  int64_t logIndex = 0;
  std::string logId;  // raw
  std::string kind;
  std::string version;
  std::optional<int64_t> integratedTime;
  std::string signedEntryTimestamp;  // raw DER; empty: none
  std::string bodyBase64;            // as logged (the SET signs this text)
  std::string body;                  // decoded
  std::optional<InclusionProof> proof;
};

// What a hashedrekord entry recorded.
struct LoggedSignature {
  std::string digestHex;     // sha256 of the signed content
  std::string signature;     // raw
  std::string keyOrCertPem;  // PEM (v1 entries) or DER (Rekor v2)
};

// Verifies the entry's SET and/or inclusion proof against the log it names in `root`. Returns the
// integrated time when a SET vouches for it (nullopt when only a proof does).
StatusOr<std::optional<WallTime>> verifyTlogEntry(const TlogEntry& entry, const TrustedRoot& root,
                                                  bool requireProof, WallTime now);
StatusOr<LoggedSignature> parseHashedRekord(const TlogEntry& entry);

// What a dsse 0.0.1 or intoto 0.0.2 entry recorded about a DSSE envelope.
struct LoggedEnvelope {
  std::string payloadHashHex;                                   // sha256 of the (decoded) payload
  std::vector<std::pair<std::string, std::string>> signatures;  // raw signature, key/cert PEM
};
StatusOr<LoggedEnvelope> parseEnvelopeEntry(const TlogEntry& entry);

// RFC 6962 §2.1.1: the root computed from a leaf hash and its audit path.
StatusOr<std::string> rootFromInclusionProof(const std::string& leafHash, int64_t index,
                                             int64_t treeSize,
                                             const std::vector<std::string>& hashes);

}  // namespace hm::sigstore
