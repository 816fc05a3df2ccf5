#include "harbormaster/policy/signatures.h"

namespace hm::policy {
namespace {

std::string attestorNames(const SignatureRule& rule) {
  std::string names;
  for (size_t i = 0; i < rule.attestors.size(); ++i) {
    const bool last = i + 1 == rule.attestors.size();
    names += (i == 0 ? "" : last ? " or " : ", ") + ("\"" + rule.attestors[i].name + "\"");
  }
  return names;
}

}  // namespace

std::vector<Problem> judgeSignatures(const SignatureRule& rule, const SignatureFacts& facts) {
  const bool warnOnly = !rule.required;
  if (facts.source == SignatureFacts::Source::kUnreachable) {
    return {{warnOnly, "could not check signatures: " + facts.error,
             "make the registry reachable from Harbormaster (and its credentials valid); the "
             "image is not judged unsigned",
             true}};
  }
  size_t verified = 0;
  std::string detail;
  for (const AttestorVerdict& a : facts.attestors) {
    if (a.verified) {
      ++verified;
    }
    detail += (detail.empty() ? "" : "; ") + ("attestor \"" + a.attestor + "\": ") +
              (a.verified ? "verified (" + a.signer + ")" : a.reason);
  }
  const size_t needed = static_cast<size_t>(rule.count);
  if (verified >= needed) {
    return {};
  }
  std::string problem =
      facts.signaturesFound == 0 ? "has no cosign signature" : "is not signed by a trusted signer";
  if (!facts.digest.empty()) {
    problem += " for " + facts.digest;
  }
  problem += needed > 1 ? " (" + std::to_string(verified) + " of the " + std::to_string(needed) +
                              " attestors required verified: " + detail + ")"
                        : " (" + detail + ")";
  std::string fix = "sign it (cosign sign " + facts.repository + "@" +
                    (facts.digest.empty() ? "sha256:<digest>" : facts.digest) +
                    ") with a key or identity of attestor " + attestorNames(rule);
  if (facts.signaturesFound > 0) {
    fix += ", or add the signer to spec.signatures.attestors if it is one you trust";
  }
  return {{warnOnly, std::move(problem), std::move(fix)}};
}

}  // namespace hm::policy
