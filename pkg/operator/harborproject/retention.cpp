#include "harborproject/retention.h"

namespace hm::op::harborproject {
namespace {

std::string rulesText(const std::vector<harbor::RetentionRule>& rules) {
  if (rules.empty()) {
    return "no rule";
  }
  std::string out;
  for (const harbor::RetentionRule& r : rules) {
    out += (out.empty() ? "" : ", ") + r.describe();
  }
  return out;
}

std::string cronText(const std::string& cron) {
  return cron.empty() ? "none" : cron;
}

}  // namespace

RetentionPlan planRetention(const RetentionSpec& desired, int64_t projectId, int64_t boundId,
                            const std::optional<harbor::RetentionPolicy>& held) {
  RetentionPlan plan;
  plan.policy.projectId = projectId;
  plan.policy.cron = desired.schedule;
  plan.policy.rules = desired.rules;
  if (!held) {
    plan.action = RetentionPlan::Action::kCreate;
    plan.unbind = boundId > 0;
    plan.changes =
        "created with " + rulesText(desired.rules) + "; schedule " + cronText(desired.schedule);
    return plan;
  }
  plan.policy.id = held->id;
  std::string changes;
  if (held->cron != desired.schedule || held->unmodelled) {
    changes = "schedule " + cronText(held->cron) + " → " + cronText(desired.schedule);
  }
  if (held->rules != desired.rules) {
    changes += (changes.empty() ? "" : "; ") + std::string("rules ") + rulesText(held->rules) +
               " → " + rulesText(desired.rules);
  }
  if (!changes.empty()) {
    plan.action = RetentionPlan::Action::kUpdate;
    plan.changes = std::move(changes);
  }
  return plan;
}

std::string describeRetention(const RetentionSpec& spec) {
  const size_t n = spec.rules.size();
  return std::to_string(n) + " retention rule" + (n == 1 ? "" : "s") +
         (spec.schedule.empty() ? ", runs only when started by hand"
                                : ", runs at " + spec.schedule);
}

}  // namespace hm::op::harborproject
