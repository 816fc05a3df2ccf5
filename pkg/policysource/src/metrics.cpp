// Policy loading's metrics, on the process's registry.
#include "harbormaster/policysource/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace hm::policysource {

struct PolicyMetrics::Impl {
  explicit Impl(prometheus::Registry& r) : registry(&r) {}
  prometheus::Registry* registry;
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
};

PolicyMetrics::PolicyMetrics(metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(*registry.registry())) {}
PolicyMetrics::~PolicyMetrics() = default;

void PolicyMetrics::policyReload(bool ok) {
  impl_->policyReloads.Add({{"result", ok ? "success" : "error"}}).Increment();
  if (!ok) {
    impl_->policyReloadErrors.Increment();
  }
  impl_->policyLastReloadOk.Set(ok ? 1 : 0);
}

void PolicyMetrics::policyResourceRejected() {
  impl_->policyResourceRejections.Increment();
}

}  // namespace hm::policysource
