// The webhook's Prometheus metrics and their text exposition for GET /metrics.
//
// Every metric is registered up front by WebhookMetrics' constructor; recording is lock-free
// apart from prometheus-cpp's own per-family label lookup.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace hm::metrics {

class WebhookMetrics {
 public:
  WebhookMetrics();
  ~WebhookMetrics();
  WebhookMetrics(const WebhookMetrics&) = delete;
  WebhookMetrics& operator=(const WebhookMetrics&) = delete;

  // harbormaster_admission_requests_total{kind,operation,decision} and the latency histogram.
  void observeReview(std::string_view kind, std::string_view operation, std::string_view decision,
                     double seconds);
  // harbormaster_admission_in_flight.
  void reviewStarted();
  void reviewFinished();
  // harbormaster_policy_reloads_total{result} and harbormaster_policy_reload_errors_total;
  // harbormaster_policy_last_reload_success is 1 while the last attempt succeeded.
  void policyReload(bool ok);
  // harbormaster_certificate_reloads_total{result}.
  void certificateReload(bool ok);
  // harbormaster_http_requests_total{path,code}: every HTTP request, including bad ones.
  void httpRequest(std::string_view path, int code);
  // harbormaster_harbor_request_duration_seconds{endpoint} and
  // harbormaster_harbor_request_errors_total{endpoint}; endpoint comes from a fixed set.
  void harborCall(std::string_view endpoint, double seconds, bool ok);
  // harbormaster_scan_cache_lookups_total{result="hit"|"miss"}.
  void scanCacheLookup(bool hit);
  // harbormaster_scan_verdicts_total{outcome}: pass, deny, warn, per image judged on its scan.
  void scanVerdict(std::string_view outcome);

  // Prometheus text exposition format 0.0.4.
  std::string serialize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hm::metrics
