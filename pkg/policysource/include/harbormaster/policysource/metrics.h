// Policy loading's metrics, registered on the process's registry (metrics::Registry).
#pragma once

#include <memory>

#include "harbormaster/metrics/metrics.h"

namespace hm::policysource {

class PolicyMetrics {
 public:
  explicit PolicyMetrics(metrics::Registry& registry);
  ~PolicyMetrics();
  PolicyMetrics(const PolicyMetrics&) = delete;
  PolicyMetrics& operator=(const PolicyMetrics&) = delete;

  // harbormaster_policy_reloads_total{result} and harbormaster_policy_reload_errors_total;
  // harbormaster_policy_last_reload_success is 1 while the last attempt succeeded.
  void policyReload(bool ok);
  // harbormaster_policy_resource_rejections_total: a generation of a ClusterImagePolicy,
  // ImagePolicy or ImageException that did not load.
  void policyResourceRejected();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hm::policysource
