#include "harbormaster/kube/events.h"

#include <cstdio>

#include "harbormaster/base/time.h"

namespace hm::kube {

namespace asio = boost::asio;
using asio::awaitable;
using nlohmann::json;

namespace {

const Resource kEvents{"events.k8s.io", "v1", "events"};

std::string meta(const json& obj, const char* key) {
  return obj.is_object() && obj.contains("metadata") && obj["metadata"].is_object()
             ? obj["metadata"].value(key, "")
             : "";
}

}  // namespace

EventRecorder::EventRecorder(std::shared_ptr<Client> kube, std::string controller,
                             std::string instance, std::chrono::minutes window)
    : kube_(std::move(kube)),
      controller_(std::move(controller)),
      instance_(std::move(instance)),
      window_(window) {}

awaitable<Status> EventRecorder::record(json regarding, EventSpec event, Deadline deadline) {
  if (event.note.size() > 1024) {
    event.note = event.note.substr(0, 1021) + "...";
  }
  const std::string objectNs = meta(regarding, "namespace");
  const std::string ns = objectNs.empty() ? "default" : objectNs;
  const std::string key =
      meta(regarding, "uid") + "/" + event.type + "/" + event.reason + "/" + event.note;
  const auto now = std::chrono::steady_clock::now();
  std::optional<Series> repeat;
  std::string name;
  {
    std::lock_guard lock(mu_);
    auto it = series_.find(key);
    if (it != series_.end() && now - it->second.first < window_) {
      ++it->second.count;
      repeat = it->second;
    } else {
      char suffix[32];
      std::snprintf(suffix, sizeof suffix, ".%llx%04llx",
                    static_cast<unsigned long long>(
                        std::chrono::system_clock::now().time_since_epoch().count() & 0xffffffff),
                    static_cast<unsigned long long>(++sequence_ & 0xffff));
      name = meta(regarding, "name") + suffix;
      series_[key] = Series{name, ns, 1, now};
      if (series_.size() > 4096) {
        series_.erase(series_.begin());  // bounded memory; a forgotten series just starts anew
      }
    }
  }
  if (repeat) {
    json patch = {{"series",
                   {{"count", repeat->count},
                    {"lastObservedTime", formatRfc3339Micro(std::chrono::system_clock::now())}}}};
    auto patched = co_await kube_->patch(kEvents, repeat->nameSpace, repeat->name,
                                         PatchType::kMerge, patch, deadline);
    if (patched.ok() || patched.status().code() != StatusCode::kNotFound) {
      co_return patched.ok() ? okStatus() : patched.status();
    }
    // The Event expired (the API server keeps them an hour): start a new series.
    std::lock_guard lock(mu_);
    series_.erase(key);
    name = meta(regarding, "name") + ".r" + std::to_string(++sequence_);
    series_[key] = Series{name, ns, 1, now};
  }
  json e = {{"apiVersion", "events.k8s.io/v1"},
            {"kind", "Event"},
            {"metadata", {{"name", name}, {"namespace", ns}}},
            {"eventTime", formatRfc3339Micro(std::chrono::system_clock::now())},
            {"reportingController", controller_},
            {"reportingInstance", instance_},
            {"action", event.action},
            {"reason", event.reason},
            {"type", event.type},
            {"note", event.note},
            {"regarding",
             {{"apiVersion", regarding.value("apiVersion", "")},
              {"kind", regarding.value("kind", "")},
              {"name", meta(regarding, "name")},
              {"uid", meta(regarding, "uid")},
              {"resourceVersion", meta(regarding, "resourceVersion")}}}};
  if (!objectNs.empty()) {
    e["regarding"]["namespace"] = objectNs;
  }
  auto created = co_await kube_->create(kEvents, ns, e, deadline);
  co_return created.ok() ? okStatus() : created.status().withContext("recording an Event");
}

}  // namespace hm::kube
