// Evaluation: facts about the images of one object → findings per policy and check.
//
// Pure and I/O-free: everything evaluate() needs is in its arguments, so it is table-tested
// and shared by the webhook and `harbormaster check`.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harbormaster/imageref/reference.h"
#include "harbormaster/policy/policy.h"
#include "harbormaster/policy/scan.h"
#include "harbormaster/policy/section.h"
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
  // Registered sections' facts, by factKey(section, rule) (section.h).
  std::map<std::string, std::shared_ptr<const Fact>> facts;
  // The image is in a Pod (not a workload template): digest: Pin then requires a digest.
  bool pod = false;
  // Why the tag's digest is not known, when someone asked for it and the registry did not say.
  std::string unresolved;
};

struct Finding {
  std::string policy;
  Mode mode = Mode::kEnforce;
  Check check = Check::kDigest;
  ImageUse use;
  std::string problem;     // "is not pinned by digest"
  std::string fix;         // "use harbor.example.com/shop/web@sha256:<digest>"
  std::string note;        // e.g. an exception that no longer applies because it expired
  bool unchecked = false;  // the check could not be made (Problem::unchecked)
};

struct Evaluation {
  std::vector<std::string> matchedPolicies;
  std::vector<Finding> findings;  // every mode; Enforce ones deny
  // The findings an exception removed, so a report can say a check passed by exception rather
  // than on its merits.
  std::vector<Finding> excepted;

  int exceptionsApplied() const { return static_cast<int>(excepted.size()); }

  bool denied() const;
};

// The answer a review gives, from its findings alone: denied when an Enforce finding is there,
// warned when a Warn one is, else allowed (Audit findings are recorded, never shown). The
// webhook's AdmissionReview and `harbormaster check` both answer with this.
enum class Verdict { kAllowed, kWarned, kDenied };

// The checks a policy makes on every image it judges, in a fixed order (reference failures,
// which any policy reports, are not listed): compliance reports and `check` list each with its
// result, passing ones included.
std::vector<Check> checksOf(const ImagePolicy& policy);
Verdict verdictOf(const Evaluation& evaluation);
std::string_view verdictName(Verdict verdict);  // "allowed", "warned", "denied"

// One distinct image of a review (its text and whether oldObject had it), parsed once, with the
// policies that select it and the ones that judge it, found once. Facts are gathered and checks
// run from this plan, so no step parses or matches again.
struct PlannedImage {
  std::string image;  // as written
  bool unchanged = false;
  bool pod = false;  // in a Pod, not a workload template
  StatusOr<imageref::Reference> ref = invalidArgument("not parsed");
  std::string name;        // normalised name without tag or digest, for globs
  std::string normalized;  // normalised reference, for globs
  // By index into PolicySet::policies: selected by namespace and image (reported as matched),
  // and of those, judging it (onUpdate may skip an unchanged image).
  std::vector<bool> matches;
  std::vector<bool> judges;
  std::vector<const ImagePolicy*> judging;  // the judging policies, in policy order
  std::vector<size_t> uses;                 // indexes into the review's images

  // A judging policy requires a digest and the image names a tag: the fix names the digest.
  bool wantsDigest() const;
  // A judging policy pins it (digest: Pin), the image names a tag, and it is new in the object:
  // the mutating webhook rewrites it to the digest judged.
  bool wantsPin() const;
};

struct ReviewPlan {
  std::vector<PlannedImage> images;
  std::vector<size_t> imageOfUse;  // for each use, its index in `images`
};

ReviewPlan planReview(const PolicySet& policies, std::string_view ns,
                      const std::vector<ImageUse>& images);

// Whether an image needs Harbor scan facts: some policy with spec.vulnerabilities judges it.
// `triggerScan` when such a policy says notScanned: ScanAndDeny.
struct ScanNeed {
  bool needed = false;
  bool triggerScan = false;
};
ScanNeed scanNeed(const PlannedImage& image);

// The spec.signatures rules that judge an image (one per distinct fingerprint), pointing into
// the policy set the plan was made from.
std::vector<const SignatureRule*> signatureRules(const PlannedImage& image);

// The rules of the registered section `key` that judge an image (one per distinct
// fingerprint), for its source's plan; pointers into the policy set the plan was made from.
struct PlannedRule {
  const Section* section = nullptr;
  const SectionRule* rule = nullptr;
  std::string factKey;  // where the source attaches its fact for this rule
};
std::vector<PlannedRule> sectionRules(const PlannedImage& image, std::string_view key);

// Judges every use with the plan made for exactly these images.
Evaluation evaluate(const PolicySet& policies, std::string_view ns,
                    const std::vector<ImageUse>& images, const ReviewPlan& plan, WallTime now);
// Plans, then judges: for callers that gathered no facts through a plan.
Evaluation evaluate(const PolicySet& policies, std::string_view ns,
                    const std::vector<ImageUse>& images, WallTime now);

// The digest: Pin rule, where the mutating webhook applies it (an image whose wantsPin() holds):
// it runs as `<as written>@<digest>` when its digest was resolved; otherwise each Pin policy
// that judges it gives a finding under its own mode, and the digest is never guessed. (A Pod
// that reaches validation unpinned is judged by evaluate(): "is not pinned by digest".)
struct PinJudgement {
  std::string pinned;             // the reference it runs as; empty when it could not be pinned
  std::vector<Finding> findings;  // one per Pin policy when it could not
};
PinJudgement judgePin(const PlannedImage& image, const ImageUse& use);

// `container "web" (spec.containers[0].image) nginx:1.25 is not pinned by digest — use …`
std::string describe(const Finding& finding);

}  // namespace hm::policy
