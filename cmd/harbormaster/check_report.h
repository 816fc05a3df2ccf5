// What `harbormaster check` prints: text for people, JSON for scripts, JUnit XML for the test
// report views of GitLab and GitHub. Pure functions of the judged images, so each format is
// unit-tested without a registry; docs/ci.md describes the JSON and JUnit fields.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harbormaster/admission/review.h"
#include "harbormaster/policy/evaluate.h"

namespace hm::cli {

// One image of one workload (or of the command line), judged as admission judges the Pod the
// workload's controller creates.
struct CheckedImage {
  // Where it was written: empty source for an image argument.
  std::string source;    // file name or "stdin"
  size_t document = 0;   // 1-based document in the source
  std::string origin;    // the chart template `helm template` named ("# Source: …")
  std::string listItem;  // "items[2]" inside a List
  std::string nameSpace;
  std::string apiVersion;  // empty for an image argument
  std::string kind;
  std::string name;
  policy::ImageUse use;  // facts attached
  admission::ImageVerdict verdict;
};

struct CheckRun {
  std::vector<CheckedImage> images;
  size_t workloads = 0;
  std::map<std::string, size_t> skipped;  // objects of other kinds, by kind
  bool enforceWarn = false;               // a warned image fails the run too
};

// One check of one policy on one image: pass, fail (an Enforce finding: denied), warn, audit
// (recorded, allowed), or excepted (an exception let a finding pass).
struct CheckOutcome {
  std::string check;
  std::string result;
  std::vector<policy::Finding> findings;  // what decided it; empty for pass
};
struct PolicyOutcome {
  std::string policy;
  std::string mode;  // Enforce, Warn, Audit
  std::vector<CheckOutcome> checks;
};
// Every policy that selected the image and every check it makes, passing ones included.
std::vector<PolicyOutcome> outcomesOf(const policy::PolicySet& policies, const CheckedImage& image);

// Whether the image fails the run: denied, or warned under --enforce-warn.
bool fails(const CheckRun& run, const CheckedImage& image);
// 0 when nothing fails, 1 otherwise (2, for errors, is the caller's).
int exitCodeOf(const CheckRun& run);

// "check: 7 images in 4 workloads: 5 allowed, 1 warned, 1 denied; skipped 3 objects (2 Service,
// 1 ConfigMap)".
std::string summaryLine(const CheckRun& run);

std::string renderText(const policy::PolicySet& policies, const CheckRun& run);
nlohmann::json renderJson(const policy::PolicySet& policies, const CheckRun& run);
std::string renderJunit(const policy::PolicySet& policies, const CheckRun& run);

// Text safe inside XML 1.0: markup escaped, invalid UTF-8 and control characters (other than
// tab and newline) replaced by U+FFFD.
std::string xmlEscape(std::string_view text);

}  // namespace hm::cli
