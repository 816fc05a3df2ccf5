// The serving certificate's metrics, registered on the process's registry (metrics::Registry).
#pragma once

#include <memory>

#include "harbormaster/metrics/metrics.h"

namespace hm::webhookcert {

class CertificateMetrics {
 public:
  explicit CertificateMetrics(metrics::Registry& registry);
  ~CertificateMetrics();
  CertificateMetrics(const CertificateMetrics&) = delete;
  CertificateMetrics& operator=(const CertificateMetrics&) = delete;

  // harbormaster_certificate_reloads_total{result}: the server reloaded its serving files.
  void certificateReload(bool ok);
  // Self-managed certificates: harbormaster_webhook_certificate_expiry_timestamp_seconds and
  // harbormaster_webhook_certificate_sync_errors (consecutive failed passes; a pass resets it).
  void certificateSynced(double notAfterUnixSeconds);
  void certificateSyncFailed();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hm::webhookcert
