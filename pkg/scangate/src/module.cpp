// The scan source as a module: its flags, its metrics, and the gate on the shared Harbor client.
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "harbormaster/metrics/metrics.h"
#include "harbormaster/scangate/scan_gate.h"

namespace hm::scangate {
namespace {

class ScanModule final : public facts::SourceModule {
 public:
  std::string_view name() const override { return "scan"; }

  std::vector<facts::SourceFlag> flags() override {
    return {
        facts::durationFlag("scan-cache-ttl",
                            "how long an image's scan facts are reused (default 1m)", &cache_.ttl),
        facts::durationFlag("scan-negative-ttl",
                            "how long facts with no finished scan are reused (default 10s)",
                            &cache_.negativeTtl)};
  }

  StatusOr<std::shared_ptr<facts::Source>> create(const facts::SharedClients& c) override {
    if (c.harbor == nullptr) {
      return std::shared_ptr<facts::Source>();  // scans are Harbor's
    }
    Observer observer;
    if (c.metrics != nullptr) {
      auto& latency = prometheus::BuildHistogram()
                          .Name("harbormaster_harbor_request_duration_seconds")
                          .Help("Calls to Harbor and its registry, by endpoint.")
                          .Register(*c.metrics);
      auto& errors = prometheus::BuildCounter()
                         .Name("harbormaster_harbor_request_errors_total")
                         .Help("Calls to Harbor and its registry that failed, by endpoint.")
                         .Register(*c.metrics);
      auto& lookups = prometheus::BuildCounter()
                          .Name("harbormaster_scan_cache_lookups_total")
                          .Help("Scan fact lookups by digest, by result (hit or miss).")
                          .Register(*c.metrics);
      // Every series at zero from the start, so dashboards and rate() see them before the first
      // review (the endpoints and results are fixed sets).
      for (const char* endpoint :
           {"artifact", "vulnerabilities", "project", "system_allowlist", "scan"}) {
        latency.Add({{"endpoint", endpoint}}, metrics::latencyBuckets());
        errors.Add({{"endpoint", endpoint}});
      }
      lookups.Add({{"result", "hit"}});
      lookups.Add({{"result", "miss"}});
      // Each hook holds the registry its families live in.
      observer.harborCall = [reg = c.metrics, &latency, &errors](std::string_view endpoint,
                                                                 double seconds, bool ok) {
        latency.Add({{"endpoint", std::string(endpoint)}}, metrics::latencyBuckets())
            .Observe(seconds);
        if (!ok) {
          errors.Add({{"endpoint", std::string(endpoint)}}).Increment();
        }
      };
      observer.cacheLookup = [reg = c.metrics, &lookups](bool hit) {
        lookups.Add({{"result", hit ? "hit" : "miss"}}).Increment();
      };
    }
    auto gate = ScanGate::create(c.harbor, {c.harborUrl, c.harborHosts}, cache_,
                                 std::move(observer), *c.clock);
    if (!gate.ok()) {
      return gate.status();
    }
    return makeScanSource(std::move(*gate));
  }

 private:
  CacheOptions cache_;
};

}  // namespace

std::shared_ptr<facts::SourceModule> sourceModule() {
  return std::make_shared<ScanModule>();
}

}  // namespace hm::scangate
