#include "harbormaster/metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm::metrics {
namespace {

using ::testing::HasSubstr;

// Policy names are chosen by tenants: a deleted policy's series go with it.
TEST(WebhookMetricsTest, ADeletedPolicysDecisionSeriesGoWithIt) {
  WebhookMetrics m;
  m.policyDecision("production", "digest", "deny");
  m.policyDecision("shop/mine", "signatures", "pass");
  m.policyDecision("shop/mine", "digest", "warn");
  std::string text = m.serialize();
  EXPECT_THAT(text, HasSubstr("policy=\"shop/mine\""));
  m.retainPolicies({"production"});
  text = m.serialize();
  EXPECT_THAT(text, ::testing::Not(HasSubstr("shop/mine")));
  EXPECT_THAT(text, HasSubstr("harbormaster_policy_decisions_total{check=\"digest\","
                              "policy=\"production\",result=\"deny\"} 1"));
  // A policy that comes back starts again from its first decision.
  m.policyDecision("shop/mine", "digest", "warn");
  EXPECT_THAT(m.serialize(), HasSubstr("policy=\"shop/mine\",result=\"warn\"} 1"));
  m.imageLookupRefused("per_review_limit");
  m.imageLookupRefused("per_review_limit");
  EXPECT_THAT(m.serialize(), HasSubstr("harbormaster_image_lookups_refused_total{reason="
                                       "\"per_review_limit\"} 2"));
}

TEST(WebhookMetricsTest, ExposesWhatWasRecorded) {
  WebhookMetrics m;
  m.observeReview("Pod", "CREATE", "denied", 0.0003);
  m.observeReview("Pod", "CREATE", "denied", 0.002);
  m.reviewStarted();
  m.policyReload(true);
  m.policyReload(false);
  m.certificateReload(true);
  m.httpRequest("/validate", 400);
  m.certificateSyncFailed();
  m.certificateSyncFailed();
  std::string text = m.serialize();
  EXPECT_THAT(text,
              HasSubstr("harbormaster_admission_requests_total{decision=\"denied\",kind=\"Pod\","
                        "operation=\"CREATE\"} 2"));
  EXPECT_THAT(text, HasSubstr("harbormaster_admission_duration_seconds_count 2"));
  EXPECT_THAT(text, HasSubstr("harbormaster_admission_duration_seconds_bucket{le=\"0.0005\"} 1"));
  EXPECT_THAT(text, HasSubstr("harbormaster_admission_in_flight 1"));
  EXPECT_THAT(text, HasSubstr("harbormaster_policy_reload_errors_total 1"));
  EXPECT_THAT(text, HasSubstr("harbormaster_policy_last_reload_success 0"));
  EXPECT_THAT(text, HasSubstr("harbormaster_certificate_reloads_total{result=\"success\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("harbormaster_http_requests_total{code=\"400\",path=\"/validate\"} 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE harbormaster_admission_duration_seconds histogram"));
  EXPECT_THAT(text, HasSubstr("harbormaster_webhook_certificate_sync_errors 2"));
  m.certificateSynced(1800000000);
  text = m.serialize();
  EXPECT_THAT(text, HasSubstr("harbormaster_webhook_certificate_sync_errors 0"));
  EXPECT_THAT(text,
              HasSubstr("harbormaster_webhook_certificate_expiry_timestamp_seconds 1800000000"));
}

}  // namespace
}  // namespace hm::metrics
