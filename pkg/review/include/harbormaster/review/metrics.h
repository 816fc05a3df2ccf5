// The review pipeline's metrics, registered on the process's registry (metrics::Registry):
// what the webhook's handler hooks (HandlerObserver) and the engine (RefusedObserver) record.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "harbormaster/metrics/metrics.h"

namespace hm::review {

class ReviewMetrics {
 public:
  explicit ReviewMetrics(metrics::Registry& registry);
  ~ReviewMetrics();
  ReviewMetrics(const ReviewMetrics&) = delete;
  ReviewMetrics& operator=(const ReviewMetrics&) = delete;

  // harbormaster_admission_requests_total{kind,operation,decision} and
  // harbormaster_admission_duration_seconds.
  void observeReview(std::string_view kind, std::string_view operation, std::string_view decision,
                     double seconds);
  // harbormaster_admission_in_flight.
  void reviewStarted();
  void reviewFinished();
  // POST /mutate: harbormaster_mutations_total{decision}, harbormaster_mutation_duration_seconds;
  // its images by pin result (harbormaster_pins_total{result}: pinned, already_pinned,
  // unresolved).
  void observeMutation(std::string_view decision, double seconds);
  void pins(std::string_view result, int count);
  // harbormaster_policy_decisions_total{policy,check,result}: one image judged by one policy's
  // check, result pass, warn, audit or deny (bounded by the number of policies).
  void policyDecision(std::string_view policy, std::string_view check, std::string_view result);
  // Drops the policy_decisions series of every policy not named here (a deleted policy's).
  void retainPolicies(const std::set<std::string>& policies);
  // harbormaster_image_lookups_refused_total{reason}: an image not looked up because a review
  // named too many (per_review_limit), the replica had too many under way (in_flight_limit), or
  // a tag was not resolved for a fix on a host no policy names (fix_host_not_trusted).
  void imageLookupRefused(std::string_view reason);
  // harbormaster_http_requests_total{path,code}: every HTTP request, including bad ones.
  void httpRequest(std::string_view path, int code);
  // harbormaster_scan_verdicts_total{outcome}: pass, deny, warn, per image judged on its scan.
  void scanVerdict(std::string_view outcome);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hm::review
