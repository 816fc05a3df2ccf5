// controller-runtime's and client-go's metrics, on the operator's registry.
#include "controller_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

namespace hm::op {

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

struct ControllerMetrics::Impl {
  explicit Impl(prometheus::Registry& r) : registry(&r) {}
  prometheus::Registry* registry;
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
};

ControllerMetrics::ControllerMetrics(metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(*registry.registry())) {}
ControllerMetrics::~ControllerMetrics() = default;

void ControllerMetrics::reconcile(std::string_view controller, std::string_view result,
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

void ControllerMetrics::added(const std::string& queue) {
  impl_->adds.Add({{"name", queue}}).Increment();
}

void ControllerMetrics::retried(const std::string& queue) {
  impl_->retries.Add({{"name", queue}}).Increment();
}

void ControllerMetrics::depth(const std::string& queue, size_t d) {
  impl_->depth.Add({{"name", queue}}).Set(static_cast<double>(d));
}

void ControllerMetrics::waited(const std::string& queue, double seconds) {
  impl_->queueDuration.Add({{"name", queue}}, queueBuckets()).Observe(seconds);
}

void ControllerMetrics::worked(const std::string& queue, double seconds) {
  impl_->workDuration.Add({{"name", queue}}, queueBuckets()).Observe(seconds);
}

void ControllerMetrics::queueInFlight(std::string_view queue, double unfinishedSeconds,
                                      double longestSeconds) {
  impl_->unfinished.Add({{"name", std::string(queue)}}).Set(unfinishedSeconds);
  impl_->longest.Add({{"name", std::string(queue)}}).Set(longestSeconds);
}

void ControllerMetrics::addController(std::string_view controller, int workers) {
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
  impl_->maxWorkers.Add({{"controller", c}}).Set(workers);
}

void ControllerMetrics::activeWorkers(std::string_view controller, double workers) {
  impl_->activeWorkers.Add({{"controller", std::string(controller)}}).Set(workers);
}

void ControllerMetrics::leading(bool leading) {
  impl_->leader.Set(leading ? 1 : 0);
  impl_->masterStatus.Set(leading ? 1 : 0);
}

}  // namespace hm::op
