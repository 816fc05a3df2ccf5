// The shared loop's metrics, named as controller-runtime and client-go name them so dashboards
// and alerts made for controller-runtime operators work unchanged:
// controller_runtime_reconcile_total{controller,result} (success, error, requeue_after),
// controller_runtime_reconcile_errors_total, controller_runtime_terminal_reconcile_errors_total,
// controller_runtime_reconcile_time_seconds, controller_runtime_active_workers,
// controller_runtime_max_concurrent_reconciles (all {controller}); workqueue_adds_total,
// workqueue_retries_total, workqueue_depth, workqueue_queue_duration_seconds,
// workqueue_work_duration_seconds, workqueue_unfinished_work_seconds,
// workqueue_longest_running_processor_seconds (all {name}); leader_election_master_status
// {name="harbormaster-operator"} and harbormaster_operator_leader.
#pragma once

#include <memory>
#include <string_view>

#include "harbormaster/kube/work_queue.h"
#include "harbormaster/metrics/metrics.h"

namespace hm::op {

class ControllerMetrics final : public kube::WorkQueueMetrics {
 public:
  // Registers the families on `registry`.
  explicit ControllerMetrics(metrics::Registry& registry);
  ~ControllerMetrics() override;

  void reconcile(std::string_view controller, std::string_view result, double seconds,
                 bool terminal);
  // Every series of a controller and its queue at zero, as controller-runtime does when a
  // controller starts: dashboards and rate() see them before the first reconcile.
  void addController(std::string_view controller, int workers);
  void activeWorkers(std::string_view controller, double workers);
  void queueInFlight(std::string_view queue, double unfinishedSeconds, double longestSeconds);
  void leading(bool leading);

  // kube::WorkQueueMetrics
  void added(const std::string& queue) override;
  void depth(const std::string& queue, size_t depth) override;
  void waited(const std::string& queue, double seconds) override;
  void worked(const std::string& queue, double seconds) override;
  void retried(const std::string& queue) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hm::op
