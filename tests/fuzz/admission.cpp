// AdmissionReview bodies from the API server (or anyone who reaches the port): decode and judge
// under a policy with every offline check, and mutate under a Pin policy (every tag "resolved"
// to one digest). A 200 carries a well-formed review, a 400 an error; a patch applies to the
// object it was made for.
#include <nlohmann/json.hpp>

#include "fuzz.h"
#include "harbormaster/admission/review.h"
#include "harbormaster/compliance/report.h"
#include "harbormaster/compliance/running.h"
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

// The compliance path over the same object, as a Pod a tenant wrote: what the informer keeps
// (stripPod) says what the whole Pod says, and its reports stay within their limits.
void complianceOf(std::string_view input) {
  auto doc = nlohmann::json::parse(input, nullptr, false);
  if (!doc.is_object() || !doc.contains("request") || !doc["request"].is_object()) {
    return;
  }
  const nlohmann::json& object = doc["request"]["object"];
  auto whole = hm::compliance::runningPod(object, nullptr);
  auto kept = hm::compliance::runningPod(hm::compliance::stripPod(object), nullptr);
  hm::fuzz::require(whole.has_value() == kept.has_value(), "stripping keeps whether it runs",
                    input);
  if (!whole) {
    return;
  }
  hm::fuzz::require(whole->images.size() == kept->images.size(), "stripping keeps the images",
                    input);
  for (size_t i = 0; i < whole->images.size(); ++i) {
    hm::fuzz::require(whole->images[i].use.image == kept->images[i].use.image &&
                          whole->images[i].digest == kept->images[i].digest,
                      "stripping keeps each image and its digest", input);
  }
  hm::fuzz::require(whole->workload == kept->workload, "stripping keeps the workload", input);
  std::vector<hm::policy::ImageUse> uses;
  std::vector<std::string> digests;
  for (const auto& image : whole->images) {
    uses.push_back(image.use);
    digests.push_back(image.digest);
  }
  const std::string ns = whole->pod.nameSpace;
  auto plan = hm::policy::planReview(policies(), ns, uses);
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  auto evaluation = hm::policy::evaluate(policies(), ns, uses, plan, now);
  auto rows = hm::compliance::rowsOf(whole->workload, uses, digests, policies(), plan, evaluation);
  hm::compliance::ReportOptions options;
  options.now = now;
  options.maxResultsPerReport = 50;
  options.maxReportsPerNamespace = 2;
  for (const auto& report : hm::compliance::namespaceReports(ns, rows, options)) {
    hm::fuzz::require(report["results"].size() <= 50, "a report holds at most its limit", input);
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
  complianceOf(input);
  return 0;
}
