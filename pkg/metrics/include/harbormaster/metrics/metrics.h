// The webhook's Prometheus metrics and their text exposition for GET /metrics.
//
// The webhook's own families are registered up front by WebhookMetrics' constructor; fact source
// modules register theirs on registry() when they are created (facts/module.h). Recording is
// lock-free apart from prometheus-cpp's own per-family label lookup.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Registry;
}

namespace hm::metrics {

// Sub-millisecond to 10 s: the buckets of every latency histogram of the webhook and its
// modules (a digest-only decision takes tens of microseconds).
const std::vector<double>& latencyBuckets();

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
  // A generation of a ClusterImagePolicy/ImagePolicy/ImageException that did not load.
  void policyResourceRejected();
  // POST /mutate: one answered request by decision, and its images by pin result (pinned,
  // already_pinned, unresolved).
  void observeMutation(std::string_view decision, double seconds);
  void pins(std::string_view result, int count);
  // One image judged by one policy's check: result pass, warn, audit or deny (bounded by the
  // number of policies).
  void policyDecision(std::string_view policy, std::string_view check, std::string_view result);
  // Drops the policy_decisions series of every policy not named here (a deleted policy's).
  void retainPolicies(const std::set<std::string>& policies);
  // harbormaster_image_lookups_refused_total{reason}: an image not looked up because a review
  // named too many (per_review_limit), the replica had too many under way (in_flight_limit), or
  // a tag was not resolved for a fix on a host no policy names (fix_host_not_trusted).
  void imageLookupRefused(std::string_view reason);
  // harbormaster_certificate_reloads_total{result}.
  void certificateReload(bool ok);
  // Self-managed certificates: harbormaster_webhook_certificate_expiry_timestamp_seconds and
  // harbormaster_webhook_certificate_sync_errors (consecutive failed passes; a pass resets it).
  void certificateSynced(double notAfterUnixSeconds);
  void certificateSyncFailed();
  // harbormaster_http_requests_total{path,code}: every HTTP request, including bad ones.
  void httpRequest(std::string_view path, int code);
  // harbormaster_http_connection_events_total{event}: net::connectionEventName() values.
  void connectionEvent(std::string_view event);
  // harbormaster_scan_verdicts_total{outcome}: pass, deny, warn, per image judged on its scan.
  void scanVerdict(std::string_view outcome);

  // Where modules register their own families; serialize() exposes them with these.
  std::shared_ptr<prometheus::Registry> registry() const;

  // Prometheus text exposition format 0.0.4.
  std::string serialize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The operator's metrics, named as controller-runtime names them so existing dashboards and
// alerts work: controller_runtime_reconcile_*, workqueue_*; plus robot expiry.
class OperatorMetrics {
 public:
  OperatorMetrics();
  ~OperatorMetrics();
  OperatorMetrics(const OperatorMetrics&) = delete;
  OperatorMetrics& operator=(const OperatorMetrics&) = delete;

  // controller-runtime's and client-go's metrics under their own names, so dashboards built
  // for controller-runtime operators work unchanged:
  // controller_runtime_reconcile_total{controller,result} (success, error, requeue_after),
  // controller_runtime_reconcile_errors_total{controller},
  // controller_runtime_terminal_reconcile_errors_total{controller} (not retried) and
  // controller_runtime_reconcile_time_seconds{controller}.
  void reconcile(std::string_view controller, std::string_view result, double seconds,
                 bool terminal = false);
  // Every series of a controller and its queue at zero, as controller-runtime does when a
  // controller starts: dashboards and rate() see them before the first reconcile.
  void addController(std::string_view controller, int workers);
  // controller_runtime_active_workers{controller}, controller_runtime_max_concurrent_reconciles.
  void activeWorkers(std::string_view controller, double workers);
  void maxConcurrentReconciles(std::string_view controller, double workers);
  // workqueue_adds_total, workqueue_retries_total, workqueue_depth,
  // workqueue_queue_duration_seconds, workqueue_work_duration_seconds (all {name}).
  void queueAdd(std::string_view queue);
  void queueRetry(std::string_view queue);
  void queueDepth(std::string_view queue, double depth);
  void queueWaited(std::string_view queue, double seconds);
  void queueWorked(std::string_view queue, double seconds);
  // workqueue_unfinished_work_seconds and workqueue_longest_running_processor_seconds.
  void queueInFlight(std::string_view queue, double unfinishedSeconds, double longestSeconds);
  // Runs before every serialize(): for gauges read at scrape time (work still in flight).
  void onScrape(std::function<void()> refresh);
  // harbormaster_robot_days_to_expiry{robot_account}; forget() when the RobotAccount goes.
  void robotDaysToExpiry(std::string_view robotAccount, double days);
  // How many policies (kind, state Ready/NotReady) and exceptions (Active/Expired/Rejected).
  void policyStates(std::string_view kind, std::string_view state, double count);
  void forgetRobot(std::string_view robotAccount);
  // leader_election_master_status{name="harbormaster-operator"} (client-go's name) and
  // harbormaster_operator_leader: 1 while this process holds the lease.
  void leading(bool leading);
  // harbormaster_http_connection_events_total{event}, for the health and metrics listener.
  void connectionEvent(std::string_view event);

  std::string serialize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hm::metrics
