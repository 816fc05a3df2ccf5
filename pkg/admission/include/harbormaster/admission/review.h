// AdmissionReview (admission.k8s.io/v1) in, AdmissionReview out.
//
//   Outcome out = hm::admission::review(body, policies, now);
//   // out.httpStatus: 200 with a response, or 400 when the body is not an AdmissionReview
//   // out.body:       the JSON to send back
//
// review() is a pure function (no I/O), so the HTTP server stays thin and every rule here is
// tested without sockets.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
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
  // For the mutating webhook: a Pod (core group), what its metadata holds, and the pinned-images
  // annotation an earlier pass wrote (reinvocation).
  bool pod = false;
  bool hasMetadata = false;
  bool hasAnnotations = false;
  std::string pinnedAnnotation;
};

// The annotation on a Pod that records what the mutating webhook pinned: a JSON object from
// container name to the reference it now runs, so `kubectl describe pod` shows it.
inline constexpr std::string_view kPinnedImagesAnnotation = "harbormaster.io/pinned-images";

// The images of an object of a kind admission judges (Pod, Deployment, ReplicaSet, StatefulSet,
// DaemonSet, Job, CronJob, ReplicationController; `group` "" for the core group), found as
// admission finds them: init, regular and ephemeral containers, each with its container name and
// JSON path (spec.template.spec.containers[0].image). nullopt for a kind it does not judge.
std::optional<std::vector<policy::ImageUse>> imagesOf(const nlohmann::json& object,
                                                      std::string_view group,
                                                      std::string_view kind);

// Decodes and validates. Bodies that are not an AdmissionReview give InvalidArgument with a
// message naming the field.
StatusOr<Request> decode(std::string_view body);

enum class Decision { kAllowed, kWarned, kDenied, kSkipped, kInvalid };
std::string_view decisionName(Decision d);

// What the mutating webhook did with the images a digest: Pin policy judges.
struct PinCounts {
  int pinned = 0;         // rewritten to the digest judged
  int alreadyPinned = 0;  // named a digest already
  int unresolved = 0;     // the tag's digest could not be found: left as written (or denied)
};

struct Outcome {
  int httpStatus = 200;
  std::string body;  // JSON
  Decision decision = Decision::kSkipped;
  Request request;  // as far as it was decoded; for logs and metrics
  policy::Evaluation evaluation;
  std::string message;  // the denial message, or the decode error for kInvalid
  PinCounts pins;       // /mutate only
  std::string patch;    // /mutate only: the JSONPatch sent (a JSON array), empty when none
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

// Whether /mutate rewrites anything in this request: a Pod CREATE, or an UPDATE of its
// ephemeralcontainers subresource. Controllers are never mutated (GitOps tools diff them).
bool mutationTarget(const Request& request);
// The /mutate answer for a decoded request whose images carry what gather() found: every image
// a Pin policy judges that names a tag and is new in the object becomes "<as written>@<digest>"
// (the kubelet pulls by the digest; the tag stays for people), recorded in the
// harbormaster.io/pinned-images annotation. A digest that could not be found is never guessed:
// an Enforce Pin policy denies, Warn warns, Audit notes it. Pure.
Outcome mutate(Request request, const policy::ReviewPlan& plan);

// What the two webhooks answer, image by image, for a Pod that runs these images (their facts
// gathered, planned by `plan`): /mutate's Pin rule first (policy::judgePin; an Enforce finding
// there denies the Pod before validation), then /validate's evaluation of the image as it would
// run (pinned to its digest when /mutate pins it). `harbormaster check` answers with this, so
// it gives the webhook's verdict (policy::verdictOf) in the webhook's words. Pure.
struct ImageVerdict {
  std::string pinned;             // what the Pod would run, when /mutate pins the image
  policy::Evaluation evaluation;  // /mutate's findings, then /validate's
  policy::Verdict verdict = policy::Verdict::kAllowed;
};
std::vector<ImageVerdict> judgeAsAdmitted(const policy::PolicySet& policies, std::string_view ns,
                                          const std::vector<policy::ImageUse>& uses,
                                          const policy::ReviewPlan& plan, WallTime now);

// The denial message for an evaluation: names the object, each failing image, check and fix.
std::string denialMessage(const Request& request, const policy::Evaluation& evaluation);

}  // namespace hm::admission
