// Evaluation: facts about the images of one object → findings per policy and check.
//
// Pure and I/O-free: everything evaluate() needs is in its arguments, so it is table-tested
// and shared by the webhook and `harbormaster check`.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harbormaster/policy/policy.h"
#include "harbormaster/policy/scan.h"
#include "harbormaster/policy/signatures.h"

namespace hm::policy {

struct ImageUse {
  std::string container;   // container name; empty when checked from the command line
  std::string path;        // JSON path of the image field, e.g. spec.containers[0].image
  std::string image;       // as written in the object
  bool unchanged = false;  // the same image was already in oldObject (UPDATE)
  // The digest the tag points to, when it was looked up; the fix then names it exactly.
  std::string resolvedDigest;
  // Harbor's scan facts, when a policy with spec.vulnerabilities matched and they were looked
  // up; null otherwise (no Harbor configured).
  std::shared_ptr<const ScanFacts> scan;
  // Signature facts per spec.signatures rule that judges this image, by the rule's fingerprint.
  std::map<std::string, std::shared_ptr<const SignatureFacts>> signatures;
};

struct Finding {
  std::string policy;
  Mode mode = Mode::kEnforce;
  Check check = Check::kDigest;
  ImageUse use;
  std::string problem;  // "is not pinned by digest"
  std::string fix;      // "use harbor.example.com/shop/web@sha256:<digest>"
  std::string note;     // e.g. an exception that no longer applies because it expired
};

struct Evaluation {
  std::vector<std::string> matchedPolicies;
  std::vector<Finding> findings;  // every mode; Enforce ones deny
  int exceptionsApplied = 0;

  bool denied() const;
};

// Whether an image needs Harbor scan facts: some policy with spec.vulnerabilities judges it in
// this namespace. `triggerScan` when such a policy says notScanned: ScanAndDeny.
struct ScanNeed {
  bool needed = false;
  bool triggerScan = false;
};
ScanNeed scanNeed(const PolicySet& policies, std::string_view ns, const ImageUse& use);

// The spec.signatures rules that judge an image in this namespace (one per distinct
// fingerprint), pointing into `policies`.
std::vector<const SignatureRule*> signatureRules(const PolicySet& policies, std::string_view ns,
                                                 const ImageUse& use);

Evaluation evaluate(const PolicySet& policies, std::string_view ns,
                    const std::vector<ImageUse>& images, WallTime now);

// `container "web" (spec.containers[0].image) nginx:1.25 is not pinned by digest — use …`
std::string describe(const Finding& finding);

}  // namespace hm::policy
