// Signature facts about one image under one spec.signatures rule, and their pure judgement.
//
// The facts are gathered elsewhere (pkg/signaturegate discovers and verifies cosign signatures
// and caches verdicts by digest and rule); here they are plain data, so the wording of every
// outcome is table-tested without a registry.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "harbormaster/policy/policy.h"
#include "harbormaster/policy/scan.h"

namespace hm::policy {

struct AttestorVerdict {
  std::string attestor;
  bool verified = false;
  std::string signer;  // who signed, when verified: "key 3f2a…" or "<identity> (issuer <URL>)"
  std::string reason;  // why not, when not verified: "no signature found", …
};

struct SignatureFacts {
  enum class Source {
    kChecked,      // the registry answered; attestors holds the verdicts
    kUnreachable,  // the registry could not be asked (errors, timeouts, credentials)
  };
  Source source = Source::kChecked;
  std::string error;       // kUnreachable: what failed
  std::string digest;      // the digest judged ("sha256:…")
  std::string repository;  // where signatures were looked for: registry/repository
  size_t signaturesFound = 0;
  std::vector<AttestorVerdict> attestors;  // one per attestor of the rule, in its order
};

// Empty when the image passes: `rule.count` attestors verified.
std::vector<Problem> judgeSignatures(const SignatureRule& rule, const SignatureFacts& facts);

}  // namespace hm::policy
