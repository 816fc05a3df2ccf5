// Evaluation: facts about the images of one object → findings per policy and check.
//
// Pure and I/O-free: everything evaluate() needs is in its arguments, so it is table-tested
// and shared by the webhook and `harbormaster check`.
#pragma once

#include <string>
#include <vector>

#include "harbormaster/policy/policy.h"

namespace hm::policy {

struct ImageUse {
  std::string container;   // container name; empty when checked from the command line
  std::string path;        // JSON path of the image field, e.g. spec.containers[0].image
  std::string image;       // as written in the object
  bool unchanged = false;  // the same image was already in oldObject (UPDATE)
  // The digest the tag points to, when it was looked up; the fix then names it exactly.
  std::string resolvedDigest;
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

Evaluation evaluate(const PolicySet& policies, std::string_view ns,
                    const std::vector<ImageUse>& images, WallTime now);

// `container "web" (spec.containers[0].image) nginx:1.25 is not pinned by digest — use …`
std::string describe(const Finding& finding);

}  // namespace hm::policy
