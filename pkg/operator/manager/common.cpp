#include "context.h"

namespace hm::op {

using boost::asio::awaitable;
using nlohmann::json;

bool hasFinalizer(const json& object) {
  for (const auto& f : object["metadata"].value("finalizers", json::array())) {
    if (f == kFinalizer) {
      return true;
    }
  }
  return false;
}

awaitable<Status> setFinalizer(Context& ctx, const kube::Resource& r, json object, bool present) {
  json list = json::array();
  for (const auto& f : object["metadata"].value("finalizers", json::array())) {
    if (f != kFinalizer) {
      list.push_back(f);
    }
  }
  if (present) {
    list.push_back(kFinalizer);
  }
  object["metadata"]["finalizers"] = list;
  auto res = co_await ctx.kube->update(r, "", object, ctx.deadline());
  co_return res.ok() || res.status().code() == StatusCode::kNotFound ? okStatus() : res.status();
}

awaitable<Status> writeStatus(Context& ctx, const kube::Resource& r, json object, json status) {
  if (object.value("status", json::object()) == status) {
    co_return okStatus();
  }
  object["status"] = std::move(status);
  const std::string ns = object["metadata"].value("namespace", "");
  auto res = co_await ctx.kube->updateStatus(r, ns, object, ctx.deadline());
  co_return res.ok() || res.status().code() == StatusCode::kNotFound ? okStatus() : res.status();
}

awaitable<void> recordEvent(Context& ctx, const json& object, std::string type, std::string reason,
                            std::string note) {
  kube::EventSpec e;
  e.type = std::move(type);
  e.reason = std::move(reason);
  e.action = "Reconcile";
  e.note = std::move(note);
  // Events are best effort: a failure to record one never fails the reconcile.
  (void)co_await ctx.events->record(object, std::move(e), ctx.deadline());
}

}  // namespace hm::op
