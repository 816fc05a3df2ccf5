// The serving certificate's metrics, on the process's registry.
#include "harbormaster/webhookcert/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace hm::webhookcert {

struct CertificateMetrics::Impl {
  explicit Impl(prometheus::Registry& r) : registry(&r) {}
  prometheus::Registry* registry;
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
};

CertificateMetrics::CertificateMetrics(metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(*registry.registry())) {}
CertificateMetrics::~CertificateMetrics() = default;

void CertificateMetrics::certificateReload(bool ok) {
  impl_->certReloads.Add({{"result", ok ? "success" : "error"}}).Increment();
}

void CertificateMetrics::certificateSynced(double notAfterUnixSeconds) {
  impl_->certExpiry.Set(notAfterUnixSeconds);
  impl_->certSyncErrors.Set(0);
}

void CertificateMetrics::certificateSyncFailed() {
  impl_->certSyncErrors.Increment();
}

}  // namespace hm::webhookcert
