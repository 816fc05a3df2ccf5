// AdmissionReview bodies from the API server (or anyone who reaches the port): decode and judge
// under a policy with every offline check. A 200 carries a well-formed review, a 400 an error.
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
)",
                                            "fuzz-policy.yaml", {.ownNamespace = "harbormaster"});
    hm::fuzz::require(parsed.ok(), "the fuzz policy loads");
    return *parsed;
  }();
  return set;
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
  return 0;
}
