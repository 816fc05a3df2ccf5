// The mutating webhook's answer: a Pod's images pinned to the digests judged, as a JSONPatch.
#include <nlohmann/json.hpp>

#include "harbormaster/admission/review.h"
#include "harbormaster/base/encoding.h"
#include "internal.h"

namespace hm::admission {
namespace {

using nlohmann::json;

// "spec.containers[0].image" → "/spec/containers/0/image" (RFC 6901; the paths we build hold
// no '~' or '/' of their own).
std::string pointerOf(std::string_view path) {
  std::string out = "/";
  for (char c : path) {
    if (c == '.' || c == '[') {
      out += '/';
    } else if (c != ']') {
      out += c;
    }
  }
  return out;
}

std::string escapePointer(std::string_view key) {
  std::string out;
  for (char c : key) {
    out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  }
  return out;
}

// The Pin policies that judge an image.
std::vector<const policy::ImagePolicy*> pinPolicies(const policy::PlannedImage& image) {
  std::vector<const policy::ImagePolicy*> out;
  for (const policy::ImagePolicy* p : image.judging) {
    if (p->digest == policy::DigestRule::kPin) {
      out.push_back(p);
    }
  }
  return out;
}

// The annotation an earlier pass wrote, with this pass's pins added.
json pinnedRecord(const Request& request) {
  json record = json::parse(request.pinnedAnnotation, nullptr, false);
  return record.is_object() ? record : json::object();
}

}  // namespace

bool mutationTarget(const Request& request) {
  if (!request.handled || !request.pod) {
    return false;
  }
  return (request.operation == "CREATE" && request.subResource.empty()) ||
         (request.operation == "UPDATE" && request.subResource == "ephemeralcontainers");
}

Outcome mutate(Request request, const policy::ReviewPlan& plan) {
  Outcome out;
  out.request = std::move(request);
  const Request& req = out.request;
  json response = {{"uid", req.uid}, {"allowed", true}};
  if (!mutationTarget(req)) {
    out.decision = Decision::kSkipped;
    internal::finish(out, std::move(response));
    return out;
  }
  json patch = json::array();
  json record = pinnedRecord(req);
  bool recorded = false;
  for (size_t u = 0; u < req.images.size(); ++u) {
    const policy::ImageUse& use = req.images[u];
    const policy::PlannedImage& image = plan.images[plan.imageOfUse[u]];
    const auto pins = pinPolicies(image);
    if (pins.empty() || !image.ref.ok() || use.unchanged) {
      continue;  // not ours to pin; an unparseable reference is validation's to deny
    }
    if (image.ref->isPinned()) {
      ++out.pins.alreadyPinned;
      continue;
    }
    // The rule itself is policy's (judgePin); this turns its answer into the patch.
    policy::PinJudgement judged = policy::judgePin(image, use);
    if (!judged.pinned.empty()) {
      patch.push_back({{"op", "replace"}, {"path", pointerOf(use.path)}, {"value", judged.pinned}});
      record[use.container.empty() ? use.path : use.container] = judged.pinned;
      recorded = true;
      ++out.pins.pinned;
      continue;
    }
    ++out.pins.unresolved;
    for (policy::Finding& f : judged.findings) {
      out.evaluation.findings.push_back(std::move(f));
    }
  }
  for (const policy::PlannedImage& image : plan.images) {
    for (const policy::ImagePolicy* p : pinPolicies(image)) {
      if (std::find(out.evaluation.matchedPolicies.begin(), out.evaluation.matchedPolicies.end(),
                    p->name) == out.evaluation.matchedPolicies.end()) {
        out.evaluation.matchedPolicies.push_back(p->name);
      }
    }
  }
  internal::answer(out, response);
  // The ephemeralcontainers subresource changes nothing but those containers.
  if (recorded && req.subResource.empty()) {
    const std::string value = record.dump(-1, ' ', false, json::error_handler_t::replace);
    if (req.hasAnnotations) {
      patch.push_back({{"op", "add"},
                       {"path", "/metadata/annotations/" + escapePointer(kPinnedImagesAnnotation)},
                       {"value", value}});
    } else if (req.hasMetadata) {
      patch.push_back({{"op", "add"},
                       {"path", "/metadata/annotations"},
                       {"value", {{std::string(kPinnedImagesAnnotation), value}}}});
    }
  }
  if (out.decision != Decision::kDenied && !patch.empty()) {
    out.patch = patch.dump(-1, ' ', false, json::error_handler_t::replace);
    response["patchType"] = "JSONPatch";
    response["patch"] = base64Encode(out.patch);
  }
  internal::finish(out, std::move(response));
  return out;
}

std::vector<ImageVerdict> judgeAsAdmitted(const policy::PolicySet& policies, std::string_view ns,
                                          const std::vector<policy::ImageUse>& uses,
                                          const policy::ReviewPlan& plan, WallTime now) {
  std::vector<ImageVerdict> out;
  for (size_t u = 0; u < uses.size(); ++u) {
    ImageVerdict& v = out.emplace_back();
    policy::PinJudgement pin = policy::judgePin(plan.images[plan.imageOfUse[u]], uses[u]);
    v.pinned = pin.pinned;
    v.evaluation.findings = std::move(pin.findings);
    if (policy::verdictOf(v.evaluation) != policy::Verdict::kDenied) {
      // Validation sees the Pod as /mutate left it, planned afresh as the API server sends it.
      policy::ImageUse asRun = uses[u];
      if (!v.pinned.empty()) {
        asRun.image = v.pinned;
      }
      policy::Evaluation validated = policy::evaluate(policies, ns, {asRun}, now);
      for (policy::Finding& f : validated.findings) {
        v.evaluation.findings.push_back(std::move(f));
      }
      v.evaluation.matchedPolicies = std::move(validated.matchedPolicies);
      v.evaluation.excepted = std::move(validated.excepted);
    }
    v.verdict = policy::verdictOf(v.evaluation);
  }
  return out;
}

}  // namespace hm::admission
