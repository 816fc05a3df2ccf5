#include <openssl/sha.h>
#include <algorithm>
#include <nlohmann/json.hpp>

#include "certificate.h"
#include "harbormaster/base/encoding.h"
#include "harbormaster/sigstore/verify.h"
#include "proto_json.h"
#include "rekor.h"
#include "signer.h"
#include "timestamp.h"

namespace hm::sigstore {
namespace {

using nlohmann::json;

// The bundle version from its media type; 0 when unknown.
int bundleVersion(const std::string& mediaType) {
  for (int v : {1, 2, 3}) {
    std::string minor = "0." + std::to_string(v);
    if (mediaType == "application/vnd.dev.sigstore.bundle+json;version=" + minor ||
        mediaType == "application/vnd.dev.sigstore.bundle.v" + minor + "+json") {
      return v;
    }
  }
  return 0;
}

int64_t int64Field(const json& j, const char* key) {
  // proto3 JSON writes int64 as a string; accept a number too.
  if (!j.contains(key)) {
    return -1;
  }
  if (j[key].is_number_integer()) {
    return j[key].get<int64_t>();
  }
  try {
    return std::stoll(j.value(key, "-1"));
  } catch (const std::exception&) {
    return -1;
  }
}

StatusOr<TlogEntry> parseEntry(const json& t) {
  TlogEntry e;
  e.logIndex = int64Field(t, "logIndex");
  e.logId = base64Decode(t.value("logId", json::object()).value("keyId", "")).value_or("");
  const json kv = t.value("kindVersion", json::object());
  e.kind = kv.value("kind", "");
  e.version = kv.value("version", "");
  if (int64_t it = int64Field(t, "integratedTime"); it > 0) {
    e.integratedTime = it;
  }
  e.signedEntryTimestamp =
      base64Decode(t.value("inclusionPromise", json::object()).value("signedEntryTimestamp", ""))
          .value_or("");
  e.body = base64Decode(t.value("canonicalizedBody", "")).value_or("");
  e.bodyBase64 = base64Encode(e.body);
  if (t.contains("inclusionProof")) {
    const json& p = t["inclusionProof"];
    InclusionProof proof;
    proof.logIndex = int64Field(p, "logIndex");
    proof.treeSize = int64Field(p, "treeSize");
    proof.rootHash = base64Decode(p.value("rootHash", "")).value_or("");
    for (const json& h : p.value("hashes", json::array())) {
      proof.hashes.push_back(base64Decode(h.is_string() ? h.get<std::string>() : "").value_or(""));
    }
    proof.checkpoint = p.value("checkpoint", json::object()).value("envelope", "");
    e.proof = std::move(proof);
  }
  if (e.logIndex < 0 || e.logId.empty() || e.body.empty()) {
    return failedPrecondition("a transparency log entry is malformed");
  }
  return e;
}

}  // namespace

Artifact Artifact::fromBytes(std::string bytes) {
  Artifact a;
  a.sha256 = sigstore::sha256(bytes);
  unsigned char md[64];
  SHA512(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md);
  a.sha512.assign(reinterpret_cast<char*>(md), sizeof md);
  a.bytes = std::move(bytes);
  return a;
}

StatusOr<Artifact> Artifact::fromDigest(std::string_view digest) {
  const bool is256 = digest.rfind("sha256:", 0) == 0 && digest.size() == 7 + 64;
  const bool is512 = digest.rfind("sha512:", 0) == 0 && digest.size() == 7 + 128;
  auto raw = hexDecode(digest.substr(std::min<size_t>(7, digest.size())));
  if ((!is256 && !is512) || !raw) {
    return invalidArgument(
        "an artifact digest must be sha256:<64 hex digits> or sha512:<128 hex digits>");
  }
  Artifact a;
  (is256 ? a.sha256 : a.sha512) = std::move(*raw);
  return a;
}

namespace {

// The signing key or certificate, by the version's rules (v0.3 allows only a single certificate;
// a carried chain must not include a root).
StatusOr<SigningMaterial> signingMaterial(const json& material, int version) {
  SigningMaterial m;
  if (material.contains("publicKey")) {
    return m;
  }
  std::vector<std::string> certs;
  if (material.contains("certificate")) {
    certs.push_back(base64Decode(material["certificate"].value("rawBytes", "")).value_or(""));
  } else if (material.contains("x509CertificateChain")) {
    if (version >= 3) {
      return failedPrecondition("a v0.3 bundle must carry a single certificate, not a chain");
    }
    for (const json& c : material["x509CertificateChain"].value("certificates", json::array())) {
      certs.push_back(base64Decode(c.value("rawBytes", "")).value_or(""));
    }
  } else {
    return failedPrecondition("the bundle names no key material");
  }
  if (certs.empty() || certs[0].empty()) {
    return failedPrecondition("the bundle's certificate is missing or not base64");
  }
  if (std::any_of(certs.begin() + 1, certs.end(), selfSigned)) {
    return failedPrecondition("the bundle's certificate chain includes a root certificate");
  }
  m.certificateDer = certs[0];
  m.chainDer.assign(certs.begin() + 1, certs.end());
  return m;
}

struct Envelope {
  std::string pae;
  std::string signature;
  std::string payload;
  std::string predicateType;
};

// DSSE: the signature covers PAE(type, payload); an in-toto statement must name the artifact.
StatusOr<Envelope> readEnvelope(const json& env, const Artifact& artifact) {
  Envelope out;
  const std::string type = env.value("payloadType", "");
  auto payload = base64Decode(env.value("payload", ""));
  const json sigs = env.value("signatures", json::array());
  if (!payload || sigs.size() != 1) {
    return failedPrecondition("the DSSE envelope needs a base64 payload and exactly one signature");
  }
  auto sig = base64Decode(sigs[0].value("sig", ""));
  if (!sig || sig->empty()) {
    return failedPrecondition("the DSSE signature is not base64");
  }
  out.payload = std::move(*payload);
  out.signature = std::move(*sig);
  out.pae = "DSSEv1 " + std::to_string(type.size()) + " " + type + " " +
            std::to_string(out.payload.size()) + " " + out.payload;
  if (type != "application/vnd.in-toto+json") {
    return unimplemented("DSSE payloads of type " + type + " are not verified yet");
  }
  json statement = parseProtoJson(out.payload);
  if (statement.is_discarded() || !statement.is_object()) {
    return failedPrecondition("the in-toto statement is not JSON");
  }
  out.predicateType = statement.value("predicateType", "");
  // Whichever digests of the artifact are known; one matching subject digest names it.
  std::vector<std::pair<std::string, std::string>> wanted;
  if (!artifact.sha256.empty()) {
    wanted.emplace_back("sha256", hexEncode(artifact.sha256));
  }
  if (!artifact.sha512.empty()) {
    wanted.emplace_back("sha512", hexEncode(artifact.sha512));
  }
  const json subjects = statement.value("subject", json::array());
  for (const json& subject : subjects) {
    if (!subject.is_object() || !subject.contains("digest") || !subject["digest"].is_object()) {
      continue;
    }
    const json digests = subject["digest"];
    for (const auto& [algorithm, hex] : wanted) {
      if (digests.value(algorithm, "") == hex) {
        return out;
      }
    }
  }
  return failedPrecondition("the in-toto statement is about another artifact (no subject " +
                            wanted.front().first + ":" + wanted.front().second + ")");
}

Status checkLoggedSignature(const TlogEntry& e, const SignedContent& content,
                            const std::string& signature, const Signer& signer) {
  auto body = parseHashedRekord(e);
  if (!body.ok()) {
    return body.status();
  }
  return checkLogged(*body, content, signature, signer);
}

Status checkLoggedEnvelope(const TlogEntry& e, const std::string& payload,
                           const std::string& signature, const Signer& signer) {
  auto body = parseEnvelopeEntry(e);
  if (!body.ok()) {
    return body.status();
  }
  if (body->payloadHashHex != hexEncode(sha256(payload))) {
    return failedPrecondition("the Rekor entry logged another envelope payload");
  }
  for (const auto& [sig, pem] : body->signatures) {
    if (sig == signature && isSigner(pem, signer)) {
      return okStatus();
    }
  }
  return failedPrecondition("the Rekor entry does not match the signature");
}

}  // namespace

static StatusOr<Verified> verifyBundleJson(std::string_view bundleJson, const Artifact& artifact,
                                           const SignerPolicy& policy, const TrustedRoot& root,
                                           WallTime now) {
  json b = parseProtoJson(bundleJson);
  if (b.is_discarded() || !b.is_object()) {
    return invalidArgument("the bundle is not JSON");
  }
  int version = bundleVersion(b.value("mediaType", ""));
  if (version == 0) {
    return invalidArgument("unsupported bundle media type \"" + b.value("mediaType", "") + "\"");
  }
  const json vm = b.value("verificationMaterial", json::object());
  auto material = signingMaterial(vm, version);
  if (!material.ok()) {
    return material.status();
  }
  // What was signed: the artifact (messageSignature), or a DSSE envelope's PAE.
  std::string signed_;
  std::optional<std::string> signature;
  std::string dssePayload;
  std::string predicateType;
  if (b.contains("dsseEnvelope")) {
    auto envelope = readEnvelope(b["dsseEnvelope"], artifact);
    if (!envelope.ok()) {
      return envelope.status();
    }
    signed_ = std::move(envelope->pae);
    signature = std::move(envelope->signature);
    dssePayload = std::move(envelope->payload);
    predicateType = std::move(envelope->predicateType);
  } else if (b.contains("messageSignature")) {
    const json ms = b["messageSignature"];
    signature = base64Decode(ms.value("signature", ""));
    if (!signature || signature->empty()) {
      return failedPrecondition("the bundle's signature is not base64");
    }
    if (artifact.sha256.empty()) {
      return failedPrecondition(
          "a message signature is checked over the artifact or its SHA-256; only its SHA-512 "
          "was given");
    }
    // The bundle's own digest is only a hint; what counts is the artifact's.
    const json md = ms.value("messageDigest", json::object());
    if (md.contains("digest") &&
        (md.value("algorithm", "") != "SHA2_256" ||
         base64Decode(md.value("digest", "")).value_or("") != artifact.sha256)) {
      return failedPrecondition("the bundle signs another artifact (message digest mismatch)");
    }
  } else {
    return failedPrecondition("the bundle has no signature");
  }
  const bool dsse = b.contains("dsseEnvelope");
  // Every timestamp must verify (over the signature bytes); each is a time the certificate must
  // have been valid at.
  std::vector<WallTime> times;
  const json stamps = vm.value("timestampVerificationData", json::object())
                          .value("rfc3161Timestamps", json::array());
  for (const json& t : stamps) {
    auto der = base64Decode(t.value("signedTimestamp", ""));
    if (!der || der->empty()) {
      return failedPrecondition("an RFC 3161 timestamp is not base64");
    }
    auto at = verifyTimestamp(*der, *signature, root);
    if (!at.ok()) {
      return at.status();
    }
    times.push_back(*at);
  }
  const json entries = vm.value("tlogEntries", json::array());
  if (entries.empty() && (policy.requireTlog || !material->certificateDer.empty())) {
    return failedPrecondition("the bundle has no Rekor entry, and the policy requires one");
  }
  std::vector<TlogEntry> logged;
  std::optional<WallTime> loggedAt;
  for (const json& t : entries) {
    auto entry = parseEntry(t);
    if (!entry.ok()) {
      return entry.status();
    }
    if (version == 1 && entry->signedEntryTimestamp.empty()) {
      return failedPrecondition("a v0.1 bundle needs an inclusion promise (SET)");
    }
    const std::string kind = entry->kind + " " + entry->version;
    const bool rekorV2 = kind == "hashedrekord 0.0.2";
    if (kind == "dsse 0.0.2") {
      return unimplemented("Rekor v2 dsse 0.0.2 entries are not verified yet");
    }
    if (!rekorV2 && kind != (dsse ? "dsse 0.0.1" : "hashedrekord 0.0.1") &&
        kind != (dsse ? "intoto 0.0.2" : "")) {
      return failedPrecondition("a " + kind + " Rekor entry cannot log this signature");
    }
    // Rekor v2 has no SET: its entries are proven by inclusion, and timed by a TSA.
    auto time = verifyTlogEntry(*entry, root, version >= 2 || rekorV2, now);
    if (!time.ok()) {
      return time.status();
    }
    if (*time) {
      times.push_back(**time);
      if (!loggedAt || **time < *loggedAt) {
        loggedAt = *time;
      }
    }
    logged.push_back(std::move(*entry));
  }
  const SignedContent content =
      dsse ? SignedContent{&signed_, sha256(signed_)}
           : SignedContent{artifact.bytes.empty() ? nullptr : &artifact.bytes, artifact.sha256};
  if (times.empty() && !policy.requireTlog) {
    times.push_back(now);  // no log required: certificates are checked now, as cosign does
  }
  auto signer = identifySigner(*material, content, *signature, policy, root, times);
  if (!signer.ok()) {
    return signer.status();
  }
  for (const TlogEntry& e : logged) {
    // A Rekor v2 hashedrekord over DSSE logs the hash of the PAE, as for any signed content.
    const bool hashed = e.kind == "hashedrekord";
    Status bound = dsse && !hashed ? checkLoggedEnvelope(e, dssePayload, *signature, *signer)
                                   : checkLoggedSignature(e, content, *signature, *signer);
    if (!bound.ok()) {
      return bound;
    }
  }
  if (times.empty() && policy.requireTlog) {
    return failedPrecondition("the signature has no verified time (no SET, no RFC 3161 timestamp)");
  }
  return Verified{signer->description, loggedAt, predicateType};
}

// JSON of the wrong shape (a number where a string belongs) makes nlohmann throw; at this
// boundary that is a malformed input, reported as such.
StatusOr<Verified> verifyBundle(std::string_view bundleJson, const Artifact& artifact,
                                const SignerPolicy& policy, const TrustedRoot& root, WallTime now) {
  try {
    return verifyBundleJson(bundleJson, artifact, policy, root, now);
  } catch (const nlohmann::json::exception& e) {
    return invalidArgument(std::string("the bundle is malformed: ") + e.what());
  }
}

}  // namespace hm::sigstore
