// The signature source as a module: its flags, its metrics, and the gate on the shared registry
// client.
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "harbormaster/metrics/metrics.h"
#include "harbormaster/signaturegate/signature_gate.h"

namespace hm::signaturegate {
namespace {

class SignatureModule final : public facts::SourceModule {
 public:
  std::string_view name() const override { return "signatures"; }

  std::vector<facts::SourceFlag> flags() override {
    return {facts::durationFlag("signature-cache-ttl",
                                "how long a verified signature verdict is reused (default 24h)",
                                &options_.positiveTtl),
            facts::durationFlag("signature-negative-ttl",
                                "how long an unverified verdict is reused (default 30s)",
                                &options_.negativeTtl)};
  }

  StatusOr<std::shared_ptr<facts::Source>> create(const facts::SharedClients& c) override {
    Observer observer;
    if (c.metrics != nullptr) {
      auto& lookups =
          prometheus::BuildCounter()
              .Name("harbormaster_signature_cache_lookups_total")
              .Help(
                  "Signature verdict lookups by (repository, digest, rule), by result (hit or "
                  "miss).")
              .Register(*c.metrics);
      auto& durations =
          prometheus::BuildHistogram()
              .Name("harbormaster_signature_lookup_duration_seconds")
              .Help(
                  "Signature discovery and verification of one digest against one rule, by "
                  "outcome (verified, unverified, unreachable).")
              .Register(*c.metrics);
      // Every series at zero from the start, so dashboards and rate() see them before the first
      // review (the results and outcomes are fixed sets).
      lookups.Add({{"result", "hit"}});
      lookups.Add({{"result", "miss"}});
      for (const char* outcome : {"verified", "unverified", "unreachable"}) {
        durations.Add({{"outcome", outcome}}, metrics::latencyBuckets());
      }
      // Each hook holds the registry its families live in.
      observer.cacheLookup = [reg = c.metrics, &lookups](bool hit) {
        lookups.Add({{"result", hit ? "hit" : "miss"}}).Increment();
      };
      observer.lookup = [reg = c.metrics, &durations](std::string_view outcome, double seconds) {
        durations.Add({{"outcome", std::string(outcome)}}, metrics::latencyBuckets())
            .Observe(seconds);
      };
    }
    return makeSignatureSource(
        std::make_shared<SignatureGate>(c.registry, options_, std::move(observer), *c.clock));
  }

 private:
  Options options_;
};

}  // namespace

std::shared_ptr<facts::SourceModule> sourceModule() {
  return std::make_shared<SignatureModule>();
}

}  // namespace hm::signaturegate
