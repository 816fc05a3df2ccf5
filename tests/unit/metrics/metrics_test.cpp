// What the webhook's /metrics exposes: each module's families on one registry.
#include "harbormaster/metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harbormaster/policysource/metrics.h"
#include "harbormaster/review/metrics.h"
#include "harbormaster/webhookcert/metrics.h"

namespace hm::metrics {
namespace {

using ::testing::HasSubstr;

// Policy names are chosen by tenants: a deleted policy's series go with it.
TEST(WebhookMetricsTest, ADeletedPolicysDecisionSeriesGoWithIt) {
  Registry registry;
  review::ReviewMetrics m(registry);
  m.policyDecision("production", "digest", "deny");
  m.policyDecision("shop/mine", "signatures", "pass");
  m.policyDecision("shop/mine", "digest", "warn");
  std::string text = registry.serialize();
  EXPECT_THAT(text, HasSubstr("policy=\"shop/mine\""));
  m.retainPolicies({"production"});
  text = registry.serialize();
  EXPECT_THAT(text, ::testing::Not(HasSubstr("shop/mine")));
  EXPECT_THAT(text, HasSubstr("harbormaster_policy_decisions_total{check=\"digest\","
                              "policy=\"production\",result=\"deny\"} 1"));
  // A policy that comes back starts again from its first decision.
  m.policyDecision("shop/mine", "digest", "warn");
  EXPECT_THAT(registry.serialize(), HasSubstr("policy=\"shop/mine\",result=\"warn\"} 1"));
  m.imageLookupRefused("per_review_limit");
  m.imageLookupRefused("per_review_limit");
  EXPECT_THAT(registry.serialize(), HasSubstr("harbormaster_image_lookups_refused_total{reason="
                                              "\"per_review_limit\"} 2"));
}

TEST(WebhookMetricsTest, ExposesWhatEachModuleRecorded) {
  Registry registry;
  review::ReviewMetrics m(registry);
  policysource::PolicyMetrics policies(registry);
  webhookcert::CertificateMetrics certificates(registry);
  m.observeReview("Pod", "CREATE", "denied", 0.0003);
  m.observeReview("Pod", "CREATE", "denied", 0.002);
  m.reviewStarted();
  policies.policyReload(true);
  policies.policyReload(false);
  certificates.certificateReload(true);
  m.httpRequest("/validate", 400);
  certificates.certificateSyncFailed();
  certificates.certificateSyncFailed();
  registry.connectionEvent("refused");
  std::string text = registry.serialize();
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
  EXPECT_THAT(text, HasSubstr("harbormaster_http_connection_events_total{event=\"refused\"} 1"));
  certificates.certificateSynced(1800000000);
  text = registry.serialize();
  EXPECT_THAT(text, HasSubstr("harbormaster_webhook_certificate_sync_errors 0"));
  EXPECT_THAT(text,
              HasSubstr("harbormaster_webhook_certificate_expiry_timestamp_seconds 1800000000"));
}

TEST(RegistryTest, RefreshHooksRunBeforeEveryScrape) {
  Registry registry;
  int scrapes = 0;
  registry.onScrape([&scrapes] { ++scrapes; });
  registry.serialize();
  registry.serialize();
  EXPECT_EQ(scrapes, 2);
}

}  // namespace
}  // namespace hm::metrics
