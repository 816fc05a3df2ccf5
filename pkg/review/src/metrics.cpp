// The review pipeline's metrics, on the process's registry.
#include "harbormaster/review/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <set>

namespace hm::review {

struct ReviewMetrics::Impl {
  explicit Impl(prometheus::Registry& r) : registry(&r) {}
  prometheus::Registry* registry;
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
  prometheus::Family<prometheus::Counter>& lookupsRefused =
      prometheus::BuildCounter()
          .Name("harbormaster_image_lookups_refused_total")
          .Help(
              "Images not looked up, by reason: per_review_limit, in_flight_limit, "
              "fix_host_not_trusted. Such an image is \"could not check\" under each "
              "policy's mode.")
          .Register(*registry);
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
  // The series policyDecisions holds per policy name, so a deleted policy's can be removed.
  std::mutex policySeriesMu;
  std::map<std::string, std::set<prometheus::Counter*>> policySeries;
  const prometheus::Histogram::BucketBoundaries& buckets = metrics::latencyBuckets();
};

ReviewMetrics::ReviewMetrics(metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(*registry.registry())) {}
ReviewMetrics::~ReviewMetrics() = default;

void ReviewMetrics::reviewStarted() {
  impl_->inFlight.Increment();
}

void ReviewMetrics::reviewFinished() {
  impl_->inFlight.Decrement();
}

void ReviewMetrics::observeReview(std::string_view kind, std::string_view operation,
                                  std::string_view decision, double seconds) {
  impl_->requests
      .Add({{"kind", std::string(kind)},
            {"operation", std::string(operation)},
            {"decision", std::string(decision)}})
      .Increment();
  impl_->latency.Add({}, impl_->buckets).Observe(seconds);
}

void ReviewMetrics::observeMutation(std::string_view decision, double seconds) {
  impl_->mutations.Add({{"decision", std::string(decision)}}).Increment();
  impl_->mutationLatency.Add({}, impl_->buckets).Observe(seconds);
}

void ReviewMetrics::pins(std::string_view result, int count) {
  if (count > 0) {
    impl_->pinResults.Add({{"result", std::string(result)}}).Increment(count);
  }
}

void ReviewMetrics::policyDecision(std::string_view policy, std::string_view check,
                                   std::string_view result) {
  auto& counter = impl_->policyDecisions.Add({{"policy", std::string(policy)},
                                              {"check", std::string(check)},
                                              {"result", std::string(result)}});
  counter.Increment();
  std::lock_guard lock(impl_->policySeriesMu);
  impl_->policySeries[std::string(policy)].insert(&counter);
}

void ReviewMetrics::retainPolicies(const std::set<std::string>& policies) {
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

void ReviewMetrics::imageLookupRefused(std::string_view reason) {
  impl_->lookupsRefused.Add({{"reason", std::string(reason)}}).Increment();
}

void ReviewMetrics::httpRequest(std::string_view path, int code) {
  impl_->http.Add({{"path", std::string(path)}, {"code", std::to_string(code)}}).Increment();
}

void ReviewMetrics::scanVerdict(std::string_view outcome) {
  impl_->verdicts.Add({{"outcome", std::string(outcome)}}).Increment();
}

}  // namespace hm::review
