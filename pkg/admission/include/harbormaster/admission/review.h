// AdmissionReview (admission.k8s.io/v1) in, AdmissionReview out.
//
//   Outcome out = hm::admission::review(body, policies, now);
//   // out.httpStatus: 200 with a response, or 400 when the body is not an AdmissionReview
//   // out.body:       the JSON to send back
//
// review() is a pure function (no I/O), so the HTTP server stays thin and every rule here is
// tested without sockets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/policy/evaluate.h"

namespace hm::admission {

// The parts of an AdmissionReview request the webhook uses.
struct Request {
  std::string apiVersion;  // echoed back in the response
  std::string uid;
  std::string group;
  std::string kind;
  std::string subResource;
  std::string operation;  // CREATE, UPDATE, DELETE, CONNECT
  std::string ns;
  std::string name;  // metadata.name, or generateName + "*" while the name is not yet known
  bool dryRun = false;
  bool handled = false;  // a kind/subresource/operation whose images Harbormaster judges
  std::vector<policy::ImageUse> images;  // every image with its JSON path; unchanged ones marked
};

// Decodes and validates. Bodies that are not an AdmissionReview give InvalidArgument with a
// message naming the field.
StatusOr<Request> decode(std::string_view body);

enum class Decision { kAllowed, kWarned, kDenied, kSkipped, kInvalid };
std::string_view decisionName(Decision d);

struct Outcome {
  int httpStatus = 200;
  std::string body;  // JSON
  Decision decision = Decision::kSkipped;
  Request request;  // as far as it was decoded; for logs and metrics
  policy::Evaluation evaluation;
  std::string message;  // the denial message, or the decode error for kInvalid
};

// decode() then respond(): for callers with nothing to look up between the two.
Outcome review(std::string_view body, const policy::PolicySet& policies, WallTime now);
// The answer to a decoded request. The review engine (pkg/review) fills the images' facts
// between decode() and respond(); everything here stays pure.
Outcome respond(Request request, const policy::PolicySet& policies, WallTime now);
// The same, judged with the plan the facts were gathered by (no second planning).
Outcome respond(Request request, const policy::PolicySet& policies, const policy::ReviewPlan& plan,
                WallTime now);
// The 400 answer for a body decode() refused.
Outcome invalid(const Status& decodeError);

// The denial message for an evaluation: names the object, each failing image, check and fix.
std::string denialMessage(const Request& request, const policy::Evaluation& evaluation);

}  // namespace hm::admission
