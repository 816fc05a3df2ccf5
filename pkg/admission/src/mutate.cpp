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
    if (!use.resolvedDigest.empty()) {
      const std::string pinned = use.image + "@" + use.resolvedDigest;
      patch.push_back({{"op", "replace"}, {"path", pointerOf(use.path)}, {"value", pinned}});
      record[use.container.empty() ? use.path : use.container] = pinned;
      recorded = true;
      ++out.pins.pinned;
      continue;
    }
    ++out.pins.unresolved;
    // Never a guessed digest: each Pin policy's mode says what an unpinned image means.
    const std::string why = use.unresolved.empty()
                                ? "the registry did not answer within the review deadline"
                                : use.unresolved;
    for (const policy::ImagePolicy* p : pins) {
      out.evaluation.findings.push_back(
          policy::Finding{p->name, p->mode, policy::Check::kDigest, use,
                          "cannot be pinned to a digest (" + why + ")",
                          "push the tag to its registry or name the image by digest", ""});
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

}  // namespace hm::admission
