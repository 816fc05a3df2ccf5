#include "policystatus/status.h"

#include <algorithm>

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
  auto add = [&out](bool on, std::string_view name) {
    if (on) {
      out += (out.empty() ? "" : ",") + std::string(name);
    }
  };
  add(!p.registries.empty(), "registry");
  add(p.digest == policy::DigestRule::kRequire, "digest");
  add(p.digest == policy::DigestRule::kPin, "digest-pin");
  add(p.vulnerabilities.has_value(), "vulnerabilities");
  add(p.signatures.has_value(), "signatures");
  for (const policy::SectionUse& section : p.sections) {
    add(true, policy::checkName(section.check));
  }
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
  if (enforcedPolicy != nullptr && !enforcedPolicy->warnings.empty()) {
    status["warnings"] = enforcedPolicy->warnings;
  } else {
    status.erase("warnings");
  }
  Condition ready{"Ready", "True", std::string(policyreason::kValid),
                  "enforced at generation " + std::to_string(generation)};
  if (load.ok() && enforcedPolicy != nullptr && !enforcedPolicy->unenforceable.empty()) {
    // The operator loads the files the webhook loads (the chart mounts them into both), so this
    // is what the webhook does: every image the policy selects is judged "not checked".
    ready.status = "False";
    ready.reason = std::string(policyreason::kCannotBeEnforced);
    ready.message = enforcedPolicy->unenforceable +
                    "; every image it selects is judged as not checked under mode " +
                    std::string(policy::modeName(enforcedPolicy->mode)) + " until the file loads";
  }
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

namespace {

std::string joined(const std::vector<std::string>& items, size_t max) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max; ++i) {
    out += (out.empty() ? "" : ", ") + items[i];
  }
  if (items.size() > max) {
    out += " and " + std::to_string(items.size() - max) + " more";
  }
  return out;
}

}  // namespace

std::string appliedBy(const json& object) {
  std::vector<std::string> managers;
  const json meta = object.value("metadata", json::object());
  const auto fields = meta.find("managedFields");
  if (fields != meta.end() && fields->is_array()) {
    for (const auto& f : *fields) {
      if (!f.is_object() || f.value("subresource", "") == "status") {
        continue;
      }
      const auto m = f.find("manager");
      if (m != f.end() && m->is_string() &&
          std::find(managers.begin(), managers.end(), m->get<std::string>()) == managers.end()) {
        managers.push_back(m->get<std::string>());
      }
    }
  }
  return managers.empty() ? "an unknown client" : joined(managers, 4);
}

std::string waiverDescription(const json& object, const policy::ImageException& ex) {
  std::vector<std::string> checks;
  for (policy::Check c : ex.checks) {
    checks.emplace_back(policy::checkName(c));
  }
  std::string what = joined(checks, 4);
  if (!ex.cves.empty()) {
    what += " (only " + joined(ex.cves, 8) + ")";
  }
  std::string out = "waives " + what + " of policies " + joined(ex.policies, 8) + " for images " +
                    joined(ex.images, 8) + " in namespace " + ex.nameSpace + " until " +
                    formatRfc3339(ex.expiresAt) + " (reason: " + ex.reason;
  if (!ex.owner.empty()) {
    out += "; owner: " + ex.owner;
  }
  if (!ex.ticket.empty()) {
    out += "; ticket: " + ex.ticket;
  }
  return out + "); applied by " + appliedBy(object);
}

}  // namespace hm::op
