// The process's Prometheus registry and its text exposition for GET /metrics. Every module
// registers its own families on it: the review pipeline (review/metrics.h), policy loading
// (policysource/metrics.h), the serving certificate (webhookcert/metrics.h), each fact source
// (facts/module.h), the operator's loop and controllers (pkg/operator). Recording is lock-free
// apart from prometheus-cpp's own per-family label lookup.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Registry;
}

namespace hm::metrics {

// Sub-millisecond to 10 s: the buckets of every latency histogram of the webhook's modules (a
// digest-only decision takes tens of microseconds).
const std::vector<double>& latencyBuckets();

// A process's registry and its text exposition for GET /metrics. Each module registers its own
// families on registry() (the operator's controllers and queues, a fact source's lookups);
// refresh hooks run before every scrape, for gauges read at scrape time.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  std::shared_ptr<prometheus::Registry> registry() const;
  void onScrape(std::function<void()> refresh);
  // harbormaster_http_connection_events_total{event}: net::connectionEventName() values, for
  // every listener of the process.
  void connectionEvent(std::string_view event);
  // Prometheus text exposition format 0.0.4.
  std::string serialize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hm::metrics
