#include <cctype>

#include <nlohmann/json.hpp>

#include "certificate.h"
#include "harbormaster/base/encoding.h"
#include "harbormaster/sigstore/verify.h"
#include "proto_json.h"
#include "rekor.h"
#include "signer.h"

namespace hm::sigstore {
namespace {

using nlohmann::json;

std::string annotation(const LegacyLayer& layer, const std::string& key) {
  auto it = layer.annotations.find(key);
  return it == layer.annotations.end() ? "" : it->second;
}

// cosign's SimpleClaimVerifier: critical.image.docker-manifest-digest must name the image. Go
// decodes keys case-insensitively, so "Docker-manifest-digest" (the spec's spelling) counts too.
Status checkClaim(const std::string& payload, std::string_view imageDigest) {
  json p = parseProtoJson(payload);
  if (p.is_discarded() || !p.is_object()) {
    return failedPrecondition("the signature payload is not JSON");
  }
  const json critical = p.value("critical", json::object());
  const json image = critical.is_object() ? critical.value("image", json::object()) : json();
  std::string signedDigest;
  if (image.is_object()) {
    for (const auto& [k, v] : image.items()) {
      std::string lower = k;
      for (char& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      if (lower == "docker-manifest-digest" && v.is_string()) {
        signedDigest = v.get<std::string>();
      }
    }
  }
  if (signedDigest.empty()) {
    return failedPrecondition("the signature payload names no image digest");
  }
  if (signedDigest != imageDigest) {
    return failedPrecondition("the signature is for another image (" + signedDigest + ")");
  }
  return okStatus();
}

// The cosign "bundle" annotation: {"SignedEntryTimestamp", "Payload": {body, integratedTime,
// logIndex, logID}}.
StatusOr<TlogEntry> parseRekorBundle(const std::string& text) {
  json b = parseProtoJson(text);
  const json p = b.is_object() ? b.value("Payload", json::object()) : json::object();
  TlogEntry e;
  e.signedEntryTimestamp =
      base64Decode(b.is_object() ? b.value("SignedEntryTimestamp", "") : "").value_or("");
  e.bodyBase64 = p.value("body", "");
  e.body = base64Decode(e.bodyBase64).value_or("");
  if (!p.contains("integratedTime") || !p["integratedTime"].is_number_integer() ||
      !p.contains("logIndex") || !p["logIndex"].is_number_integer() || e.body.empty() ||
      e.signedEntryTimestamp.empty()) {
    return failedPrecondition("the Rekor bundle annotation is malformed");
  }
  e.integratedTime = p["integratedTime"].get<int64_t>();
  e.logIndex = p["logIndex"].get<int64_t>();
  auto logId = hexDecode(p.value("logID", ""));
  if (!logId || logId->empty()) {
    return failedPrecondition("the Rekor bundle annotation has no hex logID");
  }
  e.logId = std::move(*logId);
  return e;
}

}  // namespace

static StatusOr<Verified> verifyLayer(const LegacyLayer& layer, std::string_view imageDigest,
                                      const SignerPolicy& policy, const TrustedRoot& root,
                                      WallTime now) {
  if (layer.mediaType != kSimpleSigningMediaType) {
    return failedPrecondition("not a cosign signature layer (" + layer.mediaType + ")");
  }
  auto signature = base64Decode(annotation(layer, "dev.cosignproject.cosign/signature"));
  if (!signature || signature->empty()) {
    return failedPrecondition("the layer carries no signature");
  }
  SigningMaterial material;
  if (std::string cert = annotation(layer, "dev.sigstore.cosign/certificate"); !cert.empty()) {
    auto der = certificateDer(cert);
    if (!der.ok()) {
      return der.status().withContext("the certificate annotation");
    }
    material.certificateDer = *der;
    material.chainDer = pemCertificates(annotation(layer, "dev.sigstore.cosign/chain"));
  }
  std::optional<TlogEntry> entry;
  std::optional<WallTime> loggedAt;
  if (std::string rekor = annotation(layer, "dev.sigstore.cosign/bundle"); !rekor.empty()) {
    auto e = parseRekorBundle(rekor);
    if (!e.ok()) {
      return e.status();
    }
    auto time = verifyTlogEntry(*e, root, false, now);
    if (!time.ok()) {
      return time.status();
    }
    entry = std::move(*e);
    loggedAt = *time;
  } else if (policy.requireTlog) {
    return failedPrecondition("the signature has no Rekor entry, and the policy requires one");
  }
  const SignedContent content{&layer.payload, sha256(layer.payload)};
  // Without a log (allowed only when the policy does not require one) certificates are checked
  // now, as cosign does.
  std::vector<WallTime> times = {loggedAt ? *loggedAt : now};
  auto signer = identifySigner(material, content, *signature, policy, root, times);
  if (!signer.ok()) {
    return signer.status();
  }
  if (auto claim = checkClaim(layer.payload, imageDigest); !claim.ok()) {
    return claim;
  }
  if (entry) {
    auto logged = parseHashedRekord(*entry);
    if (!logged.ok()) {
      return logged.status();
    }
    if (auto s = checkLogged(*logged, content, *signature, *signer); !s.ok()) {
      return s;
    }
  }
  return Verified{signer->description, loggedAt, ""};
}

// JSON of the wrong shape (a number where a string belongs) makes nlohmann throw; at this
// boundary that is a malformed input, reported as such.
StatusOr<Verified> verifyLegacyLayer(const LegacyLayer& layer, std::string_view imageDigest,
                                     const SignerPolicy& policy, const TrustedRoot& root,
                                     WallTime now) {
  try {
    return verifyLayer(layer, imageDigest, policy, root, now);
  } catch (const nlohmann::json::exception& e) {
    return invalidArgument(std::string("the signature layer is malformed: ") + e.what());
  }
}

}  // namespace hm::sigstore
