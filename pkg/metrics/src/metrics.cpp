#include "harbormaster/metrics/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>
#include <sstream>
#include <vector>

namespace hm::metrics {

namespace {

// Both listeners (the webhook's and the operator's) count the same connection events.
prometheus::Family<prometheus::Counter>& connectionEventsFamily(prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("harbormaster_http_connection_events_total")
      .Help(
          "Connections refused, closed to make room, or timed out, by event: refused, "
          "evicted, buffer_full, handshake_timeout, header_timeout, idle_timeout, "
          "request_timeout.")
      .Register(registry);
}

}  // namespace

const std::vector<double>& latencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return buckets;
}

namespace {

std::string exposition(prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

}  // namespace

struct Registry::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& connectionEvents = connectionEventsFamily(*registry);
  std::mutex scrapeMu;
  std::vector<std::function<void()>> onScrape;
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

std::shared_ptr<prometheus::Registry> Registry::registry() const {
  return impl_->registry;
}

void Registry::onScrape(std::function<void()> refresh) {
  std::lock_guard lock(impl_->scrapeMu);
  impl_->onScrape.push_back(std::move(refresh));
}

void Registry::connectionEvent(std::string_view event) {
  impl_->connectionEvents.Add({{"event", std::string(event)}}).Increment();
}

std::string Registry::serialize() const {
  {
    std::lock_guard lock(impl_->scrapeMu);
    for (const auto& refresh : impl_->onScrape) {
      refresh();
    }
  }
  return exposition(*impl_->registry);
}

}  // namespace hm::metrics
