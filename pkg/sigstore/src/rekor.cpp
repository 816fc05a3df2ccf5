#include "rekor.h"
#include "proto_json.h"

#include <nlohmann/json.hpp>

#include "harbormaster/base/encoding.h"

namespace hm::sigstore {
namespace {

using nlohmann::json;

std::string hashChildren(const std::string& left, const std::string& right) {
  return sha256(std::string(1, '\x01') + left + right);
}

// Signed note (golang.org/x/mod/sumdb/note): text, a blank line, then "— name base64(keyhint‖sig)".
Status verifyCheckpoint(const InclusionProof& proof, const TransparencyLog& log) {
  const std::string& note = proof.checkpoint;
  size_t split = note.find("\n\n");
  if (split == std::string::npos) {
    return failedPrecondition("the checkpoint has no signature block");
  }
  std::string text = note.substr(0, split + 1);
  std::vector<std::string> lines;
  for (size_t at = 0; at < text.size();) {
    size_t nl = text.find('\n', at);
    lines.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  if (lines.size() < 3) {
    return failedPrecondition("the checkpoint lacks its origin, size or root hash");
  }
  if (lines[1] != std::to_string(proof.treeSize) ||
      base64Decode(lines[2]).value_or("") != proof.rootHash) {
    return failedPrecondition("the checkpoint is for another tree than the inclusion proof");
  }
  const std::string origin = lines[0];
  static const std::string kDash = "\xe2\x80\x94 ";  // U+2014 EM DASH, space
  for (size_t at = split + 2; at < note.size();) {
    size_t nl = note.find('\n', at);
    std::string line = note.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    at = nl == std::string::npos ? note.size() : nl + 1;
    if (line.rfind(kDash, 0) != 0) {
      continue;
    }
    size_t space = line.rfind(' ');
    std::string name = line.substr(kDash.size(), space - kDash.size());
    auto sig = base64Decode(line.substr(space + 1));
    if (!sig || sig->size() < 5 || sig->compare(0, 4, log.logId, 0, 4) != 0) {
      continue;  // another signer (a witness): not ours to check
    }
    if (origin.rfind(name, 0) != 0) {
      continue;
    }
    // Several lines may share a name and key hint (witnesses, other keys): one must verify.
    if (log.key.verify(text, sig->substr(4)).ok()) {
      return okStatus();
    }
  }
  return failedPrecondition("the checkpoint signature does not verify with the log's key");
}

}  // namespace

StatusOr<std::string> rootFromInclusionProof(const std::string& leafHash, int64_t index,
                                             int64_t treeSize,
                                             const std::vector<std::string>& hashes) {
  if (index < 0 || treeSize <= 0 || index >= treeSize) {
    return failedPrecondition("the inclusion proof's index is outside its tree");
  }
  uint64_t fn = static_cast<uint64_t>(index);
  uint64_t sn = static_cast<uint64_t>(treeSize - 1);
  std::string r = leafHash;
  for (const std::string& p : hashes) {
    if (p.size() != 32 || sn == 0) {
      return failedPrecondition("the inclusion proof has the wrong shape");
    }
    if ((fn & 1) == 1 || fn == sn) {
      r = hashChildren(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = hashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return failedPrecondition("the inclusion proof is too short for its tree");
  }
  return r;
}

StatusOr<std::optional<WallTime>> verifyTlogEntry(const TlogEntry& e, const TrustedRoot& root,
                                                  bool requireProof, WallTime now) {
  const TransparencyLog* log = root.tlog(e.logId);
  if (log == nullptr) {
    return failedPrecondition("the Rekor entry comes from a log the trusted root does not know");
  }
  if (!e.proof && requireProof) {
    return failedPrecondition("the Rekor entry has no inclusion proof");
  }
  if (e.signedEntryTimestamp.empty() && !e.proof) {
    return failedPrecondition("the Rekor entry has neither a SET nor an inclusion proof");
  }
  std::optional<WallTime> integrated;
  if (!e.signedEntryTimestamp.empty()) {
    if (!e.integratedTime) {
      return failedPrecondition("the Rekor entry has a SET but no integrated time");
    }
    // RFC 8785 canonical JSON: keys sorted, no spaces (nlohmann's std::map order and dump()).
    json payload = {{"body", e.bodyBase64},
                    {"integratedTime", *e.integratedTime},
                    {"logID", hexEncode(e.logId)},
                    {"logIndex", e.logIndex}};
    if (!log->key.verify(payload.dump(), e.signedEntryTimestamp).ok()) {
      return failedPrecondition("the Rekor SET does not verify with the log's key");
    }
    integrated = std::chrono::system_clock::from_time_t(static_cast<time_t>(*e.integratedTime));
    if (!log->validFor.contains(*integrated)) {
      return failedPrecondition("the Rekor entry was logged outside the log key's validity");
    }
    if (*integrated > now + std::chrono::minutes(5)) {
      return failedPrecondition("the Rekor entry's integrated time is in the future");
    }
  }
  // An old (v0.1) proof without a checkpoint proves nothing: its root is not signed. The SET
  // vouches for such entries.
  if (e.proof && (requireProof || !e.proof->checkpoint.empty())) {
    std::string leaf = sha256(std::string(1, '\0') + e.body);
    auto computed =
        rootFromInclusionProof(leaf, e.proof->logIndex, e.proof->treeSize, e.proof->hashes);
    if (!computed.ok()) {
      return computed.status();
    }
    if (*computed != e.proof->rootHash) {
      return failedPrecondition("the inclusion proof does not lead to its root hash");
    }
    if (auto s = verifyCheckpoint(*e.proof, *log); !s.ok()) {
      return s;
    }
  }
  return integrated;
}

// Rekor v2's hashedrekord 0.0.2: {"hashedRekordV002": {"data": {"algorithm", "digest" (base64)},
// "signature": {"content", "verifier": {"x509Certificate" | "publicKey": {"rawBytes"}}}}}.
StatusOr<LoggedSignature> parseHashedRekordV2(const json& spec) {
  const json v2 = spec.value("hashedRekordV002", json::object());
  const json data = v2.value("data", json::object());
  const json sig = v2.value("signature", json::object());
  if (data.value("algorithm", "") != "SHA2_256") {
    return failedPrecondition("the Rekor entry logs a hash other than SHA-256");
  }
  const json verifier = sig.value("verifier", json::object());
  const json material = verifier.contains("x509Certificate")
                            ? verifier["x509Certificate"]
                            : verifier.value("publicKey", json::object());
  LoggedSignature out;
  out.digestHex = hexEncode(base64Decode(data.value("digest", "")).value_or(""));
  out.signature = base64Decode(sig.value("content", "")).value_or("");
  out.keyOrCertPem = base64Decode(material.value("rawBytes", "")).value_or("");
  if (out.digestHex.empty() || out.signature.empty() || out.keyOrCertPem.empty()) {
    return failedPrecondition("the Rekor entry lacks its hash, signature or key");
  }
  return out;
}

static StatusOr<LoggedSignature> readHashedRekord(const TlogEntry& e) {
  json body = parseProtoJson(e.body);
  if (body.is_object() && body.value("kind", "") == "hashedrekord" &&
      body.value("apiVersion", "") == "0.0.2") {
    return parseHashedRekordV2(body.value("spec", json::object()));
  }
  if (body.is_discarded() || body.value("kind", "") != "hashedrekord" ||
      body.value("apiVersion", "") != "0.0.1") {
    return failedPrecondition("the Rekor entry is not a hashedrekord 0.0.1 or 0.0.2");
  }
  const json spec = body.value("spec", json::object());
  const json hash = spec.value("data", json::object()).value("hash", json::object());
  const json sig = spec.value("signature", json::object());
  LoggedSignature out;
  if (hash.value("algorithm", "") != "sha256") {
    return failedPrecondition("the Rekor entry logs a hash other than SHA-256");
  }
  out.digestHex = hash.value("value", "");
  out.signature = base64Decode(sig.value("content", "")).value_or("");
  out.keyOrCertPem =
      base64Decode(sig.value("publicKey", json::object()).value("content", "")).value_or("");
  if (out.digestHex.empty() || out.signature.empty() || out.keyOrCertPem.empty()) {
    return failedPrecondition("the Rekor entry lacks its hash, signature or key");
  }
  return out;
}

static StatusOr<LoggedEnvelope> readEnvelopeEntry(const TlogEntry& e) {
  json body = parseProtoJson(e.body);
  if (body.is_discarded() || !body.is_object()) {
    return failedPrecondition("the Rekor entry is not JSON");
  }
  const std::string kind = body.value("kind", "") + " " + body.value("apiVersion", "");
  const json spec = body.value("spec", json::object());
  LoggedEnvelope out;
  if (kind == "dsse 0.0.1") {
    const json hash = spec.value("payloadHash", json::object());
    if (hash.value("algorithm", "") != "sha256") {
      return failedPrecondition("the Rekor entry logs a payload hash other than SHA-256");
    }
    out.payloadHashHex = hash.value("value", "");
    for (const json& s : spec.value("signatures", json::array())) {
      out.signatures.emplace_back(base64Decode(s.value("signature", "")).value_or(""),
                                  base64Decode(s.value("verifier", "")).value_or(""));
    }
  } else if (kind == "intoto 0.0.2") {
    // intoto 0.0.2 stores the envelope's payload and signatures base64-encoded once more.
    const json content = spec.value("content", json::object());
    const json hash = content.value("payloadHash", json::object());
    if (hash.value("algorithm", "") != "sha256") {
      return failedPrecondition("the Rekor entry logs a payload hash other than SHA-256");
    }
    out.payloadHashHex = hash.value("value", "");
    const json envelope = content.value("envelope", json::object());
    for (const json& s : envelope.value("signatures", json::array())) {
      std::string once = base64Decode(s.value("sig", "")).value_or("");
      out.signatures.emplace_back(base64Decode(once).value_or(""),
                                  base64Decode(s.value("publicKey", "")).value_or(""));
    }
  } else {
    return unimplemented("Rekor entries of kind " + kind + " are not verified yet");
  }
  if (out.payloadHashHex.empty() || out.signatures.empty()) {
    return failedPrecondition("the Rekor entry lacks its payload hash or signatures");
  }
  return out;
}

// A logged body is untrusted JSON: a field of the wrong type is a malformed entry, not an
// exception for the caller (found by tests/fuzz/sigstore).
StatusOr<LoggedSignature> parseHashedRekord(const TlogEntry& e) {
  try {
    return readHashedRekord(e);
  } catch (const json::exception& x) {
    return failedPrecondition(std::string("the Rekor entry is malformed: ") + x.what());
  }
}

StatusOr<LoggedEnvelope> parseEnvelopeEntry(const TlogEntry& e) {
  try {
    return readEnvelopeEntry(e);
  } catch (const json::exception& x) {
    return failedPrecondition(std::string("the Rekor entry is malformed: ") + x.what());
  }
}

}  // namespace hm::sigstore
