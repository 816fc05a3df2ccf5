#include "harbormaster/metrics/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <vector>

namespace hm::metrics {

namespace {

// Both listeners (the webhook's and the operator's) count the same connection events.
prometheus::Family<prometheus::Counter>& connectionEventsFamily(prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("harbormaster_http_connection_events_total")
      .Help(
          "Connections refused, closed to make room, or timed out, by event: refused, "
          "evicted, buffer_full, handshake_timeout, header_timeout, idle_timeout, "
          "request_timeout.")
      .Register(registry);
}

}  // namespace

const std::vector<double>& latencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return buckets;
}

struct WebhookMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("harbormaster_admission_requests_total")
          .Help("Admission reviews answered, by object kind, operation and decision.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& latency =
      prometheus::BuildHistogram()
          .Name("harbormaster_admission_duration_seconds")
          .Help("Time from a complete AdmissionReview body to its encoded response.")
          .Register(*registry);
  prometheus::Gauge& inFlight = prometheus::BuildGauge()
                                    .Name("harbormaster_admission_in_flight")
                                    .Help("Admission reviews being evaluated now.")
                                    .Register(*registry)
                                    .Add({});
  prometheus::Family<prometheus::Counter>& policyReloads =
      prometheus::BuildCounter()
          .Name("harbormaster_policy_reloads_total")
          .Help("Policy file (re)loads, by result.")
          .Register(*registry);
  prometheus::Counter& policyReloadErrors =
      prometheus::BuildCounter()
          .Name("harbormaster_policy_reload_errors_total")
          .Help("Policy reloads rejected because the file was invalid; the previous policy stays.")
          .Register(*registry)
          .Add({});
  prometheus::Gauge& policyLastReloadOk =
      prometheus::BuildGauge()
          .Name("harbormaster_policy_last_reload_success")
          .Help("1 when the last policy load succeeded, 0 when it failed.")
          .Register(*registry)
          .Add({});
  prometheus::Counter& policyResourceRejections =
      prometheus::BuildCounter()
          .Name("harbormaster_policy_resource_rejections_total")
          .Help(
              "Generations of policy and exception resources that did not load; the last valid "
              "generation stays in force.")
          .Register(*registry)
          .Add({});
  prometheus::Family<prometheus::Counter>& mutations =
      prometheus::BuildCounter()
          .Name("harbormaster_mutations_total")
          .Help("Mutating reviews (POST /mutate) answered, by decision.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& mutationLatency =
      prometheus::BuildHistogram()
          .Name("harbormaster_mutation_duration_seconds")
          .Help("Time from a complete /mutate AdmissionReview body to its encoded response.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& pinResults =
      prometheus::BuildCounter()
          .Name("harbormaster_pins_total")
          .Help(
              "Pod images a digest: Pin policy judges, by result: pinned (rewritten to the digest "
              "judged), already_pinned, unresolved (left as written, or denied).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& policyDecisions =
      prometheus::BuildCounter()
          .Name("harbormaster_policy_decisions_total")
          .Help("Images judged per policy and check, by result (pass, warn, audit, deny).")
          .Register(*registry);
  // The series policyDecisions holds per policy name, so a deleted policy's can be removed.
  std::mutex policySeriesMu;
  std::map<std::string, std::set<prometheus::Counter*>> policySeries;
  prometheus::Family<prometheus::Counter>& lookupsRefused =
      prometheus::BuildCounter()
          .Name("harbormaster_image_lookups_refused_total")
          .Help(
              "Images not looked up, by reason: per_review_limit, in_flight_limit, "
              "fix_host_not_trusted. Such an image is \"could not check\" under each "
              "policy's mode.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& certReloads =
      prometheus::BuildCounter()
          .Name("harbormaster_certificate_reloads_total")
          .Help("Serving certificate reloads, by result.")
          .Register(*registry);
  prometheus::Gauge& certExpiry =
      prometheus::BuildGauge()
          .Name("harbormaster_webhook_certificate_expiry_timestamp_seconds")
          .Help("When the self-managed serving certificate expires (Unix time).")
          .Register(*registry)
          .Add({});
  prometheus::Gauge& certSyncErrors =
      prometheus::BuildGauge()
          .Name("harbormaster_webhook_certificate_sync_errors")
          .Help("Consecutive failed passes of the self-managed certificate keeper (0: healthy).")
          .Register(*registry)
          .Add({});
  prometheus::Family<prometheus::Counter>& connectionEvents = connectionEventsFamily(*registry);
  prometheus::Family<prometheus::Counter>& http =
      prometheus::BuildCounter()
          .Name("harbormaster_http_requests_total")
          .Help("HTTP requests served, by path and status code.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& verdicts =
      prometheus::BuildCounter()
          .Name("harbormaster_scan_verdicts_total")
          .Help("Images judged on their Harbor scan, by outcome.")
          .Register(*registry);
  const prometheus::Histogram::BucketBoundaries& buckets = latencyBuckets();
};

WebhookMetrics::WebhookMetrics() : impl_(std::make_unique<Impl>()) {}
WebhookMetrics::~WebhookMetrics() = default;

void WebhookMetrics::observeReview(std::string_view kind, std::string_view operation,
                                   std::string_view decision, double seconds) {
  impl_->requests
      .Add({{"kind", std::string(kind)},
            {"operation", std::string(operation)},
            {"decision", std::string(decision)}})
      .Increment();
  impl_->latency.Add({}, impl_->buckets).Observe(seconds);
}

void WebhookMetrics::reviewStarted() {
  impl_->inFlight.Increment();
}
void WebhookMetrics::reviewFinished() {
  impl_->inFlight.Decrement();
}

void WebhookMetrics::policyReload(bool ok) {
  impl_->policyReloads.Add({{"result", ok ? "success" : "error"}}).Increment();
  if (!ok) {
    impl_->policyReloadErrors.Increment();
  }
  impl_->policyLastReloadOk.Set(ok ? 1 : 0);
}

void WebhookMetrics::policyResourceRejected() {
  impl_->policyResourceRejections.Increment();
}

void WebhookMetrics::observeMutation(std::string_view decision, double seconds) {
  impl_->mutations.Add({{"decision", std::string(decision)}}).Increment();
  impl_->mutationLatency.Add({}, impl_->buckets).Observe(seconds);
}

void WebhookMetrics::pins(std::string_view result, int count) {
  if (count > 0) {
    impl_->pinResults.Add({{"result", std::string(result)}}).Increment(count);
  }
}

void WebhookMetrics::policyDecision(std::string_view policy, std::string_view check,
                                    std::string_view result) {
  auto& counter = impl_->policyDecisions.Add({{"policy", std::string(policy)},
                                              {"check", std::string(check)},
                                              {"result", std::string(result)}});
  counter.Increment();
  std::lock_guard lock(impl_->policySeriesMu);
  impl_->policySeries[std::string(policy)].insert(&counter);
}

void WebhookMetrics::retainPolicies(const std::set<std::string>& policies) {
  std::lock_guard lock(impl_->policySeriesMu);
  for (auto it = impl_->policySeries.begin(); it != impl_->policySeries.end();) {
    if (policies.count(it->first) != 0) {
      ++it;
      continue;
    }
    for (prometheus::Counter* c : it->second) {
      impl_->policyDecisions.Remove(c);
    }
    it = impl_->policySeries.erase(it);
  }
}

void WebhookMetrics::imageLookupRefused(std::string_view reason) {
  impl_->lookupsRefused.Add({{"reason", std::string(reason)}}).Increment();
}

void WebhookMetrics::certificateReload(bool ok) {
  impl_->certReloads.Add({{"result", ok ? "success" : "error"}}).Increment();
}

void WebhookMetrics::certificateSynced(double notAfterUnixSeconds) {
  impl_->certExpiry.Set(notAfterUnixSeconds);
  impl_->certSyncErrors.Set(0);
}

void WebhookMetrics::certificateSyncFailed() {
  impl_->certSyncErrors.Increment();
}

void WebhookMetrics::httpRequest(std::string_view path, int code) {
  impl_->http.Add({{"path", std::string(path)}, {"code", std::to_string(code)}}).Increment();
}

void WebhookMetrics::connectionEvent(std::string_view event) {
  impl_->connectionEvents.Add({{"event", std::string(event)}}).Increment();
}

std::shared_ptr<prometheus::Registry> WebhookMetrics::registry() const {
  return impl_->registry;
}

void WebhookMetrics::scanVerdict(std::string_view outcome) {
  impl_->verdicts.Add({{"outcome", std::string(outcome)}}).Increment();
}

namespace {

std::string exposition(prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

}  // namespace

std::string WebhookMetrics::serialize() const {
  return exposition(*impl_->registry);
}

struct OperatorMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Gauge>& policyStates =
      prometheus::BuildGauge()
          .Name("harbormaster_policy_resources")
          .Help(
              "Policy resources by kind and state: ClusterImagePolicy and ImagePolicy Ready or "
              "NotReady, ImageException Active, Expired or Rejected.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& connectionEvents = connectionEventsFamily(*registry);
  prometheus::Family<prometheus::Counter>& total =
      prometheus::BuildCounter()
          .Name("controller_runtime_reconcile_total")
          .Help("Total number of reconciliations per controller, by result.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& errors =
      prometheus::BuildCounter()
          .Name("controller_runtime_reconcile_errors_total")
          .Help("Total number of reconciliation errors per controller.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& time =
      prometheus::BuildHistogram()
          .Name("controller_runtime_reconcile_time_seconds")
          .Help("Length of time per reconciliation per controller.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& adds =
      prometheus::BuildCounter()
          .Name("workqueue_adds_total")
          .Help("Total number of adds handled by workqueue.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& retries =
      prometheus::BuildCounter()
          .Name("workqueue_retries_total")
          .Help("Total number of retries handled by workqueue.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& depth = prometheus::BuildGauge()
                                                     .Name("workqueue_depth")
                                                     .Help("Current depth of workqueue.")
                                                     .Register(*registry);
  prometheus::Family<prometheus::Gauge>& expiry =
      prometheus::BuildGauge()
          .Name("harbormaster_robot_days_to_expiry")
          .Help("Days until the active robot secret of a RobotAccount expires (absent: never).")
          .Register(*registry);
  prometheus::Gauge& leader = prometheus::BuildGauge()
                                  .Name("harbormaster_operator_leader")
                                  .Help("1 while this operator process holds the leader lease.")
                                  .Register(*registry)
                                  .Add({});
  prometheus::Gauge& masterStatus =
      prometheus::BuildGauge()
          .Name("leader_election_master_status")
          .Help(
              "Gauge of if the reporting system is master of the relevant lease, 0 indicates "
              "backup, 1 indicates master. 'name' is the string used to identify the lease.")
          .Register(*registry)
          .Add({{"name", "harbormaster-operator"}});
  prometheus::Family<prometheus::Counter>& terminal =
      prometheus::BuildCounter()
          .Name("controller_runtime_terminal_reconcile_errors_total")
          .Help("Total number of terminal reconciliation errors per controller.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& activeWorkers =
      prometheus::BuildGauge()
          .Name("controller_runtime_active_workers")
          .Help("Number of currently used workers per controller.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& maxWorkers =
      prometheus::BuildGauge()
          .Name("controller_runtime_max_concurrent_reconciles")
          .Help("Maximum number of concurrent reconciles per controller.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& queueDuration =
      prometheus::BuildHistogram()
          .Name("workqueue_queue_duration_seconds")
          .Help("How long in seconds an item stays in workqueue before being requested.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& workDuration =
      prometheus::BuildHistogram()
          .Name("workqueue_work_duration_seconds")
          .Help("How long in seconds processing an item from workqueue takes.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& unfinished =
      prometheus::BuildGauge()
          .Name("workqueue_unfinished_work_seconds")
          .Help(
              "How many seconds of work has been done that is in progress and hasn't been "
              "observed by work_duration. Large values indicate stuck threads.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& longest =
      prometheus::BuildGauge()
          .Name("workqueue_longest_running_processor_seconds")
          .Help("How many seconds has the longest running processor for workqueue been running.")
          .Register(*registry);
  std::mutex scrapeMu;
  std::vector<std::function<void()>> onScrape;
};

namespace {

const prometheus::Histogram::BucketBoundaries& reconcileBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return buckets;
}

// client-go's workqueue buckets: 10 ns to 1000 s, ×10 each.
const prometheus::Histogram::BucketBoundaries& queueBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = [] {
    prometheus::Histogram::BucketBoundaries b;
    double v = 1e-8;
    for (int i = 0; i < 12; ++i, v *= 10) {
      b.push_back(v);
    }
    return b;
  }();
  return buckets;
}

}  // namespace

OperatorMetrics::OperatorMetrics() : impl_(std::make_unique<Impl>()) {}
OperatorMetrics::~OperatorMetrics() = default;

void OperatorMetrics::reconcile(std::string_view controller, std::string_view result,
                                double seconds, bool terminal) {
  const std::string c(controller);
  impl_->total.Add({{"controller", c}, {"result", std::string(result)}}).Increment();
  if (result == "error") {
    impl_->errors.Add({{"controller", c}}).Increment();
  }
  if (terminal) {
    impl_->terminal.Add({{"controller", c}}).Increment();
  }
  impl_->time.Add({{"controller", c}}, reconcileBuckets()).Observe(seconds);
}

void OperatorMetrics::queueAdd(std::string_view queue) {
  impl_->adds.Add({{"name", std::string(queue)}}).Increment();
}

void OperatorMetrics::queueRetry(std::string_view queue) {
  impl_->retries.Add({{"name", std::string(queue)}}).Increment();
}

void OperatorMetrics::queueDepth(std::string_view queue, double d) {
  impl_->depth.Add({{"name", std::string(queue)}}).Set(d);
}

void OperatorMetrics::queueWaited(std::string_view queue, double seconds) {
  impl_->queueDuration.Add({{"name", std::string(queue)}}, queueBuckets()).Observe(seconds);
}

void OperatorMetrics::queueWorked(std::string_view queue, double seconds) {
  impl_->workDuration.Add({{"name", std::string(queue)}}, queueBuckets()).Observe(seconds);
}

void OperatorMetrics::queueInFlight(std::string_view queue, double unfinishedSeconds,
                                    double longestSeconds) {
  impl_->unfinished.Add({{"name", std::string(queue)}}).Set(unfinishedSeconds);
  impl_->longest.Add({{"name", std::string(queue)}}).Set(longestSeconds);
}

void OperatorMetrics::addController(std::string_view controller, int workers) {
  const std::string c(controller);
  for (const char* result : {"success", "error", "requeue", "requeue_after"}) {
    impl_->total.Add({{"controller", c}, {"result", result}});
  }
  impl_->errors.Add({{"controller", c}});
  impl_->terminal.Add({{"controller", c}});
  impl_->time.Add({{"controller", c}}, reconcileBuckets());
  impl_->adds.Add({{"name", c}});
  impl_->retries.Add({{"name", c}});
  impl_->depth.Add({{"name", c}});
  impl_->queueDuration.Add({{"name", c}}, queueBuckets());
  impl_->workDuration.Add({{"name", c}}, queueBuckets());
  queueInFlight(controller, 0, 0);
  activeWorkers(controller, 0);
  maxConcurrentReconciles(controller, workers);
}

void OperatorMetrics::activeWorkers(std::string_view controller, double workers) {
  impl_->activeWorkers.Add({{"controller", std::string(controller)}}).Set(workers);
}

void OperatorMetrics::maxConcurrentReconciles(std::string_view controller, double workers) {
  impl_->maxWorkers.Add({{"controller", std::string(controller)}}).Set(workers);
}

void OperatorMetrics::onScrape(std::function<void()> refresh) {
  std::lock_guard lock(impl_->scrapeMu);
  impl_->onScrape.push_back(std::move(refresh));
}

void OperatorMetrics::policyStates(std::string_view kind, std::string_view state, double count) {
  impl_->policyStates.Add({{"kind", std::string(kind)}, {"state", std::string(state)}}).Set(count);
}

void OperatorMetrics::robotDaysToExpiry(std::string_view robotAccount, double days) {
  impl_->expiry.Add({{"robot_account", std::string(robotAccount)}}).Set(days);
}

void OperatorMetrics::forgetRobot(std::string_view robotAccount) {
  auto& g = impl_->expiry.Add({{"robot_account", std::string(robotAccount)}});
  impl_->expiry.Remove(&g);
}

void OperatorMetrics::leading(bool leading) {
  impl_->leader.Set(leading ? 1 : 0);
  impl_->masterStatus.Set(leading ? 1 : 0);
}

void OperatorMetrics::connectionEvent(std::string_view event) {
  impl_->connectionEvents.Add({{"event", std::string(event)}}).Increment();
}

std::string OperatorMetrics::serialize() const {
  {
    std::lock_guard lock(impl_->scrapeMu);
    for (const auto& refresh : impl_->onScrape) {
      refresh();
    }
  }
  return exposition(*impl_->registry);
}

}  // namespace hm::metrics
