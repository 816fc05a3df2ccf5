#include "policystatus/status.h"

#include "harbormaster/operator/conditions.h"

namespace hm::op {

using nlohmann::json;

namespace {

int64_t generationOf(const json& object) {
  return object.value("metadata", json::object()).value("generation", int64_t{0});
}

// The old status with its conditions kept, so lastTransitionTime survives an unchanged flip.
json base(const json& object) {
  json status = object.value("status", json::object());
  return status.is_object() ? status : json::object();
}

}  // namespace

std::string checksOf(const policy::ImagePolicy& p) {
  std::string out;
  auto add = [&out](bool on, const char* name) {
    if (on) {
      out += (out.empty() ? "" : ",") + std::string(name);
    }
  };
  add(!p.registries.empty(), "registry");
  add(p.digest == policy::DigestRule::kRequire, "digest");
  add(p.digest == policy::DigestRule::kPin, "digest-pin");
  add(p.vulnerabilities.has_value(), "vulnerabilities");
  add(p.signatures.has_value(), "signatures");
  return out.empty() ? "none" : out;
}

json policyStatus(const json& object, const Status& load, int64_t enforced,
                  const policy::ImagePolicy* enforcedPolicy, WallTime now) {
  const int64_t generation = generationOf(object);
  json status = base(object);
  status["observedGeneration"] = generation;
  if (enforced > 0 && enforcedPolicy != nullptr) {
    status["enforcedGeneration"] = enforced;
    status["checks"] = checksOf(*enforcedPolicy);
  } else {
    status.erase("enforcedGeneration");
    status.erase("checks");
  }
  Condition ready{"Ready", "True", std::string(policyreason::kValid),
                  "enforced at generation " + std::to_string(generation)};
  if (!load.ok()) {
    ready.status = "False";
    ready.reason = std::string(policyreason::kInvalidSpec);
    ready.message = load.message() +
                    (enforced > 0 ? "; generation " + std::to_string(enforced) +
                                        " stays in force until this is fixed"
                                  : "; nothing of this policy is enforced until this is fixed");
  }
  setCondition(status, ready, generation, now);
  return status;
}

json exceptionStatus(const json& object, const Status& load,
                     const policy::ExceptionStanding& standing, WallTime now) {
  const int64_t generation = generationOf(object);
  json status = base(object);
  status["observedGeneration"] = generation;
  Condition ready{"Ready", "True", standing.reason, standing.message};
  std::string state(policy::exceptionStateName(standing.state));
  if (!load.ok()) {
    state = "Rejected";
    ready.reason = std::string(policyreason::kInvalidSpec);
    ready.message = load.message();
  }
  if (state != "Active") {
    ready.status = "False";
  }
  status["state"] = state;
  setCondition(status, ready, generation, now);
  return status;
}

}  // namespace hm::op
