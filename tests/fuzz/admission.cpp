// AdmissionReview bodies from the API server (or anyone who reaches the port): decode and judge
// under a policy with every offline check, and mutate under a Pin policy (every tag "resolved"
// to one digest). A 200 carries a well-formed review, a 400 an error; a patch applies to the
// object it was made for.
#include <nlohmann/json.hpp>

#include "fuzz.h"
#include "harbormaster/admission/review.h"
#include "harbormaster/policy/policy.h"

namespace {

const hm::policy::PolicySet& policies() {
  static const hm::policy::PolicySet set = [] {
    auto parsed = hm::policy::parsePolicies(R"(
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: enforce}
spec:
  mode: Enforce
  digest: Require
  registries: [harbor.example.com, docker.io]
  match: {images: ["harbor.example.com/*", "docker.io/**"]}
---
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: warn}
spec: {mode: Warn, digest: Require, onUpdate: CheckAllImages}
---
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: pin}
spec: {mode: Enforce, digest: Pin, match: {images: ["**"]}}
)",
                                            "fuzz-policy.yaml", {.ownNamespace = "harbormaster"});
    hm::fuzz::require(parsed.ok(), "the fuzz policy loads");
    return *parsed;
  }();
  return set;
}

// The mutating path: a patch, when there is one, applies to the request's object.
void mutateAndApply(std::string_view input) {
  auto request = hm::admission::decode(input);
  if (!request.ok()) {
    return;
  }
  for (size_t i = 0; i < request->images.size(); ++i) {
    if (i % 2 == 0) {
      request->images[i].resolvedDigest = "sha256:" + std::string(64, 'a');
    } else {
      request->images[i].unresolved = "resolving: not found";
    }
  }
  auto plan = hm::policy::planReview(policies(), request->ns, request->images);
  hm::admission::Outcome out = hm::admission::mutate(*request, plan);
  if (out.patch.empty()) {
    return;
  }
  auto object = nlohmann::json::parse(input, nullptr, false)["request"]["object"];
  try {
    (void)object.patch(nlohmann::json::parse(out.patch));
  } catch (const std::exception& e) {
    const std::string what = std::string("the patch applies: ") + e.what();
    hm::fuzz::require(false, what.c_str(), input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = hm::fuzz::text(data, size);
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  hm::admission::Outcome out = hm::admission::review(input, policies(), now);
  hm::fuzz::require(out.httpStatus == 200 || out.httpStatus == 400, "200 or 400", input);
  auto body = nlohmann::json::parse(out.body, nullptr, false);
  hm::fuzz::require(body.is_object(), "the response is a JSON object", input);
  if (out.httpStatus == 200) {
    hm::fuzz::require(body.contains("response") && body["response"].is_object(),
                      "a review has a response", input);
    hm::fuzz::require(out.message.size() < 64 * 1024, "messages are bounded", input);
  }
  mutateAndApply(input);
  return 0;
}
