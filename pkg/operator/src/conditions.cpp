#include "harbormaster/operator/conditions.h"

namespace hm::op {

using nlohmann::json;

void setCondition(json& status, const Condition& c, int64_t generation, WallTime now) {
  if (!status.is_object()) {
    status = json::object();
  }
  json& list = status["conditions"];
  if (!list.is_array()) {
    list = json::array();
  }
  json next = {{"type", c.type},
               {"status", c.status},
               {"reason", c.reason},
               {"message", c.message.substr(0, 32768)},
               {"observedGeneration", generation},
               {"lastTransitionTime", formatRfc3339(now)}};
  for (auto& existing : list) {
    if (existing.is_object() && existing.value("type", "") == c.type) {
      if (existing.value("status", "") == c.status && existing.contains("lastTransitionTime")) {
        next["lastTransitionTime"] = existing["lastTransitionTime"];
      }
      existing = std::move(next);
      return;
    }
  }
  list.push_back(std::move(next));
}

namespace {

std::string conditionField(const json& object, const std::string& type, const char* field) {
  const json status = object.value("status", json::object());
  for (const auto& c : status.value("conditions", json::array())) {
    if (c.is_object() && c.value("type", "") == type) {
      return c.value(field, "");
    }
  }
  return "";
}

}  // namespace

std::string conditionStatus(const json& object, const std::string& type) {
  return conditionField(object, type, "status");
}

std::string conditionReason(const json& object, const std::string& type) {
  return conditionField(object, type, "reason");
}

bool conditionHeldFor(const json& object, const std::string& type, int64_t generation) {
  const json status = object.value("status", json::object());
  for (const auto& c : status.value("conditions", json::array())) {
    if (c.is_object() && c.value("type", "") == type) {
      const auto observed = c.find("observedGeneration");
      return c.value("status", "") == "True" && observed != c.end() &&
             observed->is_number_integer() && observed->get<int64_t>() == generation;
    }
  }
  return false;
}

void removeCondition(json& status, const std::string& type) {
  if (!status.is_object() || !status.contains("conditions") || !status["conditions"].is_array()) {
    return;
  }
  json& list = status["conditions"];
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (it->is_object() && it->value("type", "") == type) {
      list.erase(it);
      return;
    }
  }
}

}  // namespace hm::op
